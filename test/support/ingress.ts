// HTTP through the testbed's ingress (SLIPWAY_TEST_INGRESS, a loopback host:port) with the Host
// header an app's URL has, as a browser on a machine whose DNS points APP.BASE_DOMAIN there would.
// Used by test/e2e/deploy.test.ts, test/e2e/cutover.test.ts, bench/e2e-deploy.ts and
// bench/cutover.ts. Only loopback addresses are accepted: load is never sent anywhere else.
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './eventually.ts';

export interface IngressResponse { status: number; body: string }

function loopback(addr: string): { hostname: string; port: number } {
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`the ingress address must be a loopback host:port, got "${addr}"`);
  return { hostname: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** HTTPS instead of HTTP: the ingress address is then its TLS port, and the chain must verify against `ca` for the host (SNI). */
export interface IngressTls { ca: string }

/** One GET of `path` (default /) through the ingress with `Host: host` (a new connection each time). */
export function httpThroughIngress(addr: string, host: string, timeoutMs = 5000, path = '/', tls?: IngressTls): Promise<IngressResponse> {
  const { hostname, port } = loopback(addr);
  return new Promise((resolve, reject) => {
    const options: RequestOptions = { hostname, port, path, method: 'GET', headers: { host }, agent: false, timeout: timeoutMs };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = tls ? httpsRequest({ ...options, servername: host, ca: tls.ca }, onResponse) : request(options, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls the ingress until a 200 answer's body satisfies `ok`, for at most `ms`; returns that body.
 * Throws with the last answer seen when the deadline passes.
 */
export async function waitForBody(addr: string, host: string, ok: (body: string) => boolean, ms: number, path = '/'): Promise<string> {
  let last = 'nothing yet';
  return eventually(() => `${host}${path} via ${addr} to give the expected answer; last: ${last}`, async () => {
    try {
      const r = await httpThroughIngress(addr, host, 5000, path);
      if (r.status === 200 && ok(r.body)) return r.body;
      last = `${r.status} ${JSON.stringify(r.body.slice(0, 200))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    return undefined;
  }, ms);
}

/** What a steady load saw. */
export interface LoadResult {
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** Answers that were not 2xx. */
  non2xx: number;
  /** Requests that got no answer (refused, reset, timed out). */
  errors: number;
  /** non2xx + errors. */
  failed: number;
  /** Distinct bodies of the 2xx answers. */
  bodies: Set<string>;
  /** Status codes and error messages of the failures, with counts. */
  failures: Record<string, number>;
  /** Time from the first request sent to the last answer. */
  durationMs: number;
  /** When each distinct body was first seen, ms after the start. */
  firstSeen: Map<string, number>;
  /** How long each 2xx answer took, ms, in the order they came. */
  latenciesMs: number[];
}

export interface LoadOptions {
  ratePerSecond: number;
  /** The load stops by itself after this long (default 15 min) … */
  maxDurationMs?: number;
  /** … or this many requests (default 50,000), whichever comes first. */
  maxRequests?: number;
  /** Over HTTPS (addr is then the TLS port). */
  tls?: IngressTls;
}

/**
 * Sends GET / through the ingress at a steady rate (each request on its own connection, not
 * waiting for the previous one) until `stop()` is called or a bound is reached, and counts what
 * came back. `stop()` waits for the requests in flight.
 */
export function loadDuring(addr: string, host: string, opts: LoadOptions): { stop(): Promise<LoadResult> } {
  loopback(addr);
  const res: LoadResult = { sent: 0, ok: 0, non2xx: 0, errors: 0, failed: 0, bodies: new Set(), failures: {}, durationMs: 0, firstSeen: new Map(), latenciesMs: [] };
  const started = Date.now();
  const maxMs = opts.maxDurationMs ?? 15 * 60_000;
  const maxRequests = opts.maxRequests ?? 50_000;
  const interval = 1000 / opts.ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  const fail = (why: string) => {
    res.failures[why] = (res.failures[why] ?? 0) + 1;
  };
  const one = async () => {
    const sentAt = performance.now();
    try {
      const r = await httpThroughIngress(addr, host, 5000, '/', opts.tls);
      if (r.status >= 200 && r.status < 300) {
        res.ok++;
        res.latenciesMs.push(performance.now() - sentAt);
        res.bodies.add(r.body);
        if (!res.firstSeen.has(r.body)) res.firstSeen.set(r.body, Date.now() - started);
      } else {
        res.non2xx++;
        fail(`HTTP ${r.status}`);
      }
    } catch (err) {
      res.errors++;
      fail((err as Error).message);
    }
  };
  const loop = (async () => {
    let next = Date.now();
    while (!stopped && res.sent < maxRequests && Date.now() - started < maxMs) {
      res.sent++;
      const p = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
      next += interval;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...inFlight]);
      res.failed = res.non2xx + res.errors;
      res.durationMs = Date.now() - started;
      return res;
    },
  };
}

/** One answer of a one-at-a-time probe: when it was sent (ms after the probe started), and its 2xx body or why it failed. */
export interface ProbeAnswer {
  sentAt: number;
  /** The body of a 2xx answer. */
  body?: string;
  /** `HTTP 502`, or the error of a request that got no answer. */
  failure?: string;
}

export interface ProbeOptions {
  /** Time between two requests' starts (default 20 ms, about 50 req/s while answers are fast). */
  gapMs?: number;
  /** The probe stops by itself after this long (default 5 min) … */
  maxDurationMs?: number;
  /** … or this many requests (default 20,000), whichever comes first. */
  maxRequests?: number;
}

/**
 * Sends GET / through the ingress one request at a time (the next starts when the previous one
 * answered, and not before `gapMs` after it started), so the answers' order is the order in which
 * the ingress routed them, until `stop()` or a bound. `answers` fills as they arrive.
 */
export function probeDuring(addr: string, host: string, opts: ProbeOptions = {}): { startedAt: number; answers: ProbeAnswer[]; stop(): Promise<ProbeAnswer[]> } {
  loopback(addr);
  const answers: ProbeAnswer[] = [];
  const started = performance.now();
  const gap = opts.gapMs ?? 20;
  const maxMs = opts.maxDurationMs ?? 5 * 60_000;
  const maxRequests = opts.maxRequests ?? 20_000;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && answers.length < maxRequests && performance.now() - started < maxMs) {
      const sentAt = performance.now() - started;
      try {
        const r = await httpThroughIngress(addr, host);
        answers.push(r.status >= 200 && r.status < 300 ? { sentAt, body: r.body } : { sentAt, failure: `HTTP ${r.status}` });
      } catch (err) {
        answers.push({ sentAt, failure: (err as Error).message });
      }
      const wait = sentAt + gap - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    /** performance.now() when the probe started: the origin of the answers' sentAt. */
    startedAt: started,
    answers,
    async stop() {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

/** `n` requests through the ingress one after the other, at once: each one's 2xx body, or `failed: why`. */
export async function consecutiveBodies(addr: string, host: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const r = await httpThroughIngress(addr, host);
      out.push(r.status >= 200 && r.status < 300 ? r.body : `failed: HTTP ${r.status}`);
    } catch (err) {
      out.push(`failed: ${(err as Error).message}`);
    }
  }
  return out;
}

/** How a sequence of answers went from the `from` body to the `to` body. */
export interface Cutover {
  requests: number;
  /** Failed requests, by status or error, with counts. */
  failures: Record<string, number>;
  failed: number;
  /** 2xx bodies that are neither `from` nor `to`, with counts. */
  strangers: Record<string, number>;
  /** Changes between `from` and `to` answers along the sequence (failures skipped): 1 for an atomic switch. */
  switches: number;
  /** `from` answers after the first `to` answer: 0 for an atomic switch. */
  oldAfterNew: number;
  /** When the first `to` answer was sent (ms after the probe started); undefined: none. */
  firstNew: number | undefined;
  /**
   * When the last run of `to` answers began (every answer from there on is `to`); undefined when
   * the last answer is not `to`.
   */
  allNew: number | undefined;
  /** allNew − firstNew: how long both releases answered (0 for an atomic switch). */
  mixedMs: number | undefined;
}

/** Reads a probe's answers as a switch from `from` to `to` (see Cutover). */
export function cutoverOf(answers: readonly ProbeAnswer[], from: string, to: string): Cutover {
  const c: Cutover = { requests: answers.length, failures: {}, failed: 0, strangers: {}, switches: 0, oldAfterNew: 0, firstNew: undefined, allNew: undefined, mixedMs: undefined };
  let last: string | undefined;
  for (const a of answers) {
    if (a.failure !== undefined) {
      c.failures[a.failure] = (c.failures[a.failure] ?? 0) + 1;
      c.failed++;
      continue;
    }
    if (a.body !== from && a.body !== to) {
      c.strangers[a.body!] = (c.strangers[a.body!] ?? 0) + 1;
      continue;
    }
    if (last !== undefined && a.body !== last) c.switches++;
    last = a.body;
    if (a.body === to) c.firstNew ??= a.sentAt;
    else if (c.firstNew !== undefined) c.oldAfterNew++;
  }
  for (let i = answers.length - 1; i >= 0 && answers[i]!.body === to; i--) c.allNew = answers[i]!.sentAt;
  if (c.firstNew !== undefined && c.allNew !== undefined) c.mixedMs = c.allNew - c.firstNew;
  return c;
}
