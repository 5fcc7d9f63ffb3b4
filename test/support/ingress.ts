// HTTP through the testbed's ingress (SLIPWAY_TEST_INGRESS, a loopback host:port) with the Host
// header an app's URL has, as a browser on a machine whose DNS points APP.BASE_DOMAIN there would.
// Used by test/e2e/deploy.test.ts and bench/e2e-deploy.ts. Only loopback addresses are accepted:
// load is never sent anywhere else.
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
export async function waitForBody(addr: string, host: string, ok: (body: string) => boolean, ms: number): Promise<string> {
  let last = 'nothing yet';
  return eventually(() => `${host} via ${addr} to give the expected answer; last: ${last}`, async () => {
    try {
      const r = await httpThroughIngress(addr, host);
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
  const res: LoadResult = { sent: 0, ok: 0, non2xx: 0, errors: 0, failed: 0, bodies: new Set(), failures: {}, durationMs: 0, firstSeen: new Map() };
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
    try {
      const r = await httpThroughIngress(addr, host, 5000, '/', opts.tls);
      if (r.status >= 200 && r.status < 300) {
        res.ok++;
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
