// A bounded request loop through the testbed's ingress for canary releases (test/e2e/canary.test.ts,
// bench/canary.ts): each answer with its send and answer times, status, body and the split's
// cookie; and what a loop saw around an aborted canary's verdict. Only loopback addresses.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One answer of the loop: when it was sent and answered (ms since the epoch), its status, body and any split cookie it set. */
export interface Answer { sentAt: number; at: number; status: number; body: string; cookie?: string; /** The cookie the request carried. */ sent?: string }

/** One GET / through the ingress at `addr` (a loopback host:port) with `Host: host` (and a Cookie header when given), on a new connection. */
export function getOnce(addr: string, host: string, cookie?: string): Promise<Answer> {
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`the ingress address must be a loopback host:port, got "${addr}"`);
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const req = request({ hostname: m[1], port: Number(m[2]), path: '/', headers: { host, ...(cookie ? { cookie } : {}) }, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const set = res.headers['set-cookie']?.find((c) => c.startsWith('slipway-canary='));
        resolve({ sentAt, at: Date.now(), status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim(), ...(set ? { cookie: set.split(';')[0]! } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ sentAt, at: Date.now(), status: 0, body: err.message }));
    req.end();
  });
}

/** A loop of GETs one after the other (`gapMs` between starts) until stop(), `maxMs` or 20,000 requests. */
export function requestLoop(addr: string, host: string, opts: { gapMs: number; maxMs: number; cookie?: () => string | undefined }): { answers: Answer[]; stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  const started = Date.now();
  let stopped = false;
  const done = (async () => {
    while (!stopped && Date.now() - started < opts.maxMs && answers.length < 20_000) {
      const t0 = Date.now();
      const cookie = opts.cookie?.();
      const a = await getOnce(addr, host, cookie);
      answers.push(cookie ? { ...a, sent: cookie } : a);
      const wait = t0 + opts.gapMs - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return { answers, async stop() { stopped = true; await done; return answers; } };
}

/** What a loop saw around an aborted canary: its window (the `stepS` seconds before the verdict) and the abort. */
export interface AbortSeen {
  verdictAt: number;
  windowRequests: number;
  windowFailed: number;
  /** From the verdict to the answer of the last request the canary answered (0 when none came after it). */
  abortMs: number;
  /** What the server said: ms from its verdict to its write, and to the ingress's confirmation. */
  writtenMs: number | undefined;
  confirmedMs: number | undefined;
}

/** Reads the verdict's time and the server's figures from the command's output, and the window and abort from the answers (failures are the canary's). */
export function abortSeen(answers: readonly Answer[], output: string, stepS: number): AbortSeen {
  const verdict = /Verdict at (\S+): every request back on v\d+ \(written (\d+) ms after the verdict(?:, confirmed by the ingress (\d+) ms after it)?\)/.exec(output);
  if (!verdict) throw new Error(`no verdict in the output: ${output.slice(-500)}`);
  const verdictAt = Date.parse(verdict[1]!);
  const failed = (a: Answer) => a.status !== 200;
  const window = answers.filter((a) => a.sentAt >= verdictAt - stepS * 1000 && a.at <= verdictAt);
  const last = answers.filter(failed).at(-1);
  return {
    verdictAt,
    windowRequests: window.length,
    windowFailed: window.filter(failed).length,
    abortMs: last ? Math.max(0, last.at - verdictAt) : 0,
    writtenMs: Number(verdict[2]),
    confirmedMs: verdict[3] === undefined ? undefined : Number(verdict[3]),
  };
}
