// The waker (issue 40): a listener of its own (SLIPWAY_WAKER_ADDRESS:SLIPWAY_WAKER_PORT) that a
// sleeping app's web Service points at. It serves nothing of Slipway: a request is looked up by its
// Host among the sleeping apps' domains, held while that app wakes, then passed on to one of that
// app's own instances, unchanged. An unknown host is a 404; past SLIPWAY_WAKER_MAX_HELD held
// requests, or SLIPWAY_WAKER_HOLD_S of holding, a 503 with Retry-After (docs/security.md).
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Services } from '../../context.ts';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { reportFailure } from '../../output/report.ts';
import { appForHost, wakeApp } from '../../ops/processes/sleep.ts';
import type { WebTarget } from '../../deploy/deployer.ts';
import { refuse, reply } from './reply.ts';

/** Seconds a client is told to wait before it asks again (Retry-After). */
export const WAKER_RETRY_S = 5;

/** Headers about one hop that are not passed on (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** The number of requests held at once, bounded: a request beyond it is not held. */
export class HeldRequests {
  #held = 0;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  /** Takes a place; false when all are taken. */
  take(): boolean {
    if (this.#held >= this.max) return false;
    this.#held++;
    return true;
  }
  /** Gives a place back. */
  release(): void {
    if (this.#held > 0) this.#held--;
  }
  get held(): number {
    return this.#held;
  }
}

/** The headers passed on to the app, without those about this hop. */
function passedOn(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k)));
}

/** Sends the request to the woken app's instance and its answer back, both streamed. */
function forward(req: IncomingMessage, res: ServerResponse, to: WebTarget, from: string): void {
  // From the waker's own address: the app's NetworkPolicy admits it, to the web port only (kube/netpol.ts).
  const upstream = request({ host: to.address, port: to.port, localAddress: from, method: req.method, path: req.url, headers: passedOn(req.headers) });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, passedOn(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', (err) => {
    log.warn('a woken app did not answer a held request', { to: `${to.address}:${to.port}`, err });
    reply(res, 502, 'The app woke, but its instance did not answer.');
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

/** Answers one request at the waker (see the top of this file). */
async function handle(services: Services, held: HeldRequests, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const retry = { 'retry-after': String(WAKER_RETRY_S) };
  let app: string;
  try {
    app = appForHost(services, req.headers.host ?? '');
  } catch (err) {
    if (err instanceof UserError) return refuse(req, res, 404, err.message);
    throw err;
  }
  if (!held.take()) return refuse(req, res, 503, `Too many requests are waiting for sleeping apps; ${app} is waking, try again in a few seconds.`, retry);
  const bound = AbortSignal.timeout(services.config.wakerHoldMs);
  const left = new AbortController();
  res.once('close', () => left.abort(new Error('the client went away')));
  let targets: WebTarget[];
  try {
    targets = await wakeApp(services, app, 'request', AbortSignal.any([bound, left.signal]));
  } catch (err) {
    if (left.signal.aborted) return;
    if (bound.aborted) {
      log.warn('a held request reached the hold time before its app woke', { app, holdMs: services.config.wakerHoldMs });
      return refuse(req, res, 503, `${app} is still waking; try again in a few seconds.`, retry);
    }
    const r = reportFailure(err, 'a wake failed', { app });
    return refuse(req, res, 503, `${app} could not be woken: ${r.message}`, retry);
  } finally {
    held.release();
  }
  forward(req, res, targets[Math.floor(Math.random() * targets.length)]!, services.config.wakerAddress!);
}

/** Starts the waker on SLIPWAY_WAKER_ADDRESS:SLIPWAY_WAKER_PORT; undefined when no address is set. */
export async function startWaker(services: Services): Promise<Server | undefined> {
  const { config } = services;
  if (!config.wakerAddress) return undefined;
  const held = new HeldRequests(config.wakerMaxHeld);
  const server = createServer((req, res) => {
    handle(services, held, req, res).catch((err: unknown) => {
      const r = reportFailure(err, 'waker request failed');
      reply(res, r.id ? 500 : 400, r.message);
    });
  });
  // A held request lasts the hold time and then its answer; headers come at once or not at all.
  server.requestTimeout = config.wakerHoldMs + config.httpRequestTimeoutMs;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Connections beyond the held bound (and as many again for answers being passed on) are closed at accept.
  server.maxConnections = config.wakerMaxHeld * 2;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.wakerPort, config.wakerAddress, () => resolve(server));
  });
}
