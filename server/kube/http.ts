// HTTP to the API server on node:http(s): one keep-alive agent per client for ordinary requests
// (with the kubeconfig's TLS material), and one without pooling for the long-lived answers
// (watches, followed logs), so those never hold the sockets ordinary requests need. Every request
// sent is counted, by verb.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PACKAGE_VERSION } from '../config.ts';
import { KubeApiError } from './api-error.ts';
import type { KubeTarget, KubeTls } from './kubeconfig.ts';

/** Query parameters; a list repeats its name (`command=a&command=b`), undefined leaves it out. */
export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** One request to the API server. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** The body's Content-Type (default application/json). */
  contentType?: string;
  /** A long-lived answer (a watch, a followed log): a connection of its own, kept alive by TCP probes. */
  stream?: boolean;
  /** Longest the connection may be silent before the request fails (default 5 min; 0: no limit). */
  idleMs?: number;
  signal?: AbortSignal;
  /** What the request counts as (default: its method); a watch counts as WATCH. */
  verb?: string;
}

/** Longest an ordinary request's connection may stay silent (undici's default, which the library had). */
const IDLE_MS = 300_000;
/** How long an idle pooled connection is kept for the next request. */
const POOL_IDLE_MS = 30_000;
/** Most bytes of an error's body kept (a Status is a few hundred). */
const MAX_ERROR_BODY = 64 * 1024;

/** The User-Agent every request carries, as kubectl's names kubectl. */
export const USER_AGENT = `slipway/${PACKAGE_VERSION}`;

/** A connection to one API server: requests, their answers, their count. */
export class KubeHttp {
  /** The API server's URL as the kubeconfig gives it. */
  readonly server: string;
  readonly #base: string;
  readonly #target: KubeTarget;
  readonly #https: boolean;
  readonly #pool: HttpAgent;
  readonly #streams: HttpAgent;
  readonly #counts: Record<string, number> = {};
  #total = 0;

  constructor(target: KubeTarget) {
    this.server = target.server;
    this.#target = target;
    this.#base = target.server.replace(/\/+$/, '');
    this.#https = target.server.startsWith('https:');
    const tls = tlsOptions(target.tls);
    this.#pool = this.#https ? new HttpsAgent({ keepAlive: true, timeout: POOL_IDLE_MS, ...tls }) : new HttpAgent({ keepAlive: true, timeout: POOL_IDLE_MS });
    this.#streams = this.#https ? new HttpsAgent({ keepAlive: false, ...tls }) : new HttpAgent({ keepAlive: false });
  }

  /** Requests sent so far (watches, log streams and exec included). */
  get requestCount(): number {
    return this.#total;
  }

  /** Requests sent so far by verb (GET, PATCH, POST, DELETE, WATCH, EXEC). */
  get requestsByVerb(): Readonly<Record<string, number>> {
    return { ...this.#counts };
  }

  /** Counts one request about to be sent. */
  count(verb: string): void {
    this.#total++;
    this.#counts[verb] = (this.#counts[verb] ?? 0) + 1;
  }

  /** The URL of an API path (the server's own path prefix kept) with its query. */
  url(path: string, query: Query = {}): URL {
    const url = new URL(this.#base + path);
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
    }
    return url;
  }

  /** The headers every request carries: who we are and the kubeconfig user's credentials. */
  headers(): OutgoingHttpHeaders {
    const auth = this.#target.authorization();
    return { 'user-agent': USER_AGENT, ...(auth ? { authorization: auth } : {}) };
  }

  /** The TLS options of a connection made elsewhere (the exec websocket). */
  tls(): ReturnType<typeof tlsOptions> {
    return tlsOptions(this.#target.tls);
  }

  /** Options for a request through the pooled agent (rawGet's pod proxy). */
  requestOptions(): RequestOptions {
    return { agent: this.#pool, headers: { ...this.headers(), accept: '*/*' } };
  }

  /** The request function for this server's scheme. */
  get send(): typeof httpRequest {
    return this.#https ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  /**
   * Sends a request and resolves with the response once its head arrived with a 2xx status;
   * any other status rejects with a KubeApiError carrying the body. A pooled connection the
   * server had closed meanwhile (a reset on a reused socket) is tried once more on a new one.
   */
  async open(r: KubeRequest): Promise<IncomingMessage> {
    try {
      return await this.#attempt(r);
    } catch (err) {
      if (!(err as { retry?: boolean }).retry) throw err;
      return this.#attempt(r);
    }
  }

  #attempt(r: KubeRequest): Promise<IncomingMessage> {
    const body = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: OutgoingHttpHeaders = { ...this.headers(), accept: 'application/json, */*' };
    if (body) Object.assign(headers, { 'content-type': r.contentType ?? 'application/json', 'content-length': body.length });
    this.count(r.verb ?? r.method);
    return new Promise((resolve, reject) => {
      const req: ClientRequest = this.send(this.url(r.path, r.query), {
        method: r.method, headers, agent: r.stream ? this.#streams : this.#pool, ...(r.signal ? { signal: r.signal } : {}),
      }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        readBody(res, MAX_ERROR_BODY).then((text) => reject(new KubeApiError(status, parseBody(res, text), `${r.method} ${r.path}`)), reject);
      });
      const idle = r.idleMs ?? IDLE_MS;
      if (idle > 0) req.setTimeout(idle, () => req.destroy(Object.assign(new Error(`no answer within ${idle / 1000} s`), { code: 'ETIMEDOUT' })));
      if (r.stream) req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Only a pooled socket the server closed while idle: nothing of this request reached it.
        if (req.reusedSocket && err.code === 'ECONNRESET') Object.assign(err, { retry: true });
        reject(err);
      });
      req.end(body);
    });
  }

  /** A request whose answer is JSON, parsed (an empty answer, as a 204 has: undefined). */
  async json<T>(r: KubeRequest): Promise<T> {
    const text = await readBody(await this.open(r));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A request whose answer is text. */
  async text(r: KubeRequest): Promise<string> {
    return readBody(await this.open(r));
  }

  /** Closes the pooled connections (a client no longer used). */
  close(): void {
    this.#pool.destroy();
    this.#streams.destroy();
  }
}

/** The node:tls options of the kubeconfig's TLS material. */
function tlsOptions(t: KubeTls): { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string } {
  return {
    rejectUnauthorized: t.rejectUnauthorized,
    ...(t.ca ? { ca: t.ca } : {}),
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key } : {}),
    ...(t.servername ? { servername: t.servername } : {}),
  };
}

/** A response's body as text (at most `max` bytes of it, the rest dropped). */
export async function readBody(res: IncomingMessage, max = Infinity): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < max) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, Math.min(size, max)).toString('utf8');
}

/** An error answer's body: the Status object when it is JSON, else its text. */
export function parseBody(res: IncomingMessage, text: string): unknown {
  if (!/json/.test(String(res.headers['content-type'] ?? ''))) return text;
  try {
    return JSON.parse(text);
  } catch {
    // Labelled JSON but cut or malformed: the text is all there is to show.
    return text;
  }
}
