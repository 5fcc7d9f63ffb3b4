// The API over node:http(s): JSON in and out with the token, the API's one-sentence errors, what
// to do next when the server cannot be reached or refuses the token, and a Server-Sent Events
// reader. Not fetch, and node:http(s) taken with process.getBuiltinModule, not imported: fetch,
// and an ES import of node:http (whose namespace reads its lazy WebSocket export), load undici,
// which costs a cold start about 25 ms at rest and more under load (docs/cli.md, "Speed");
// node:https (TLS) only for https.
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientError } from './errors.ts';

/** Where requests go and with which token; `host` is what `slipway login HOST` takes. */
export interface Server {
  api: string;
  token: string;
  host: string;
  /** The User-Agent the requests name (`slipway-mcp/0.1.0` for the MCP server's); none by default. */
  agent?: string;
}

/** An answer: its status and body (JSON when the server sent JSON, else text). */
export interface Answer { status: number; json: unknown; text: string; type: string }

/** What a request carries besides its method and path. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Bytes to send as application/octet-stream (an upload), streamed. */
  upload?: Readable;
  signal?: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface Reply {
  status: number;
  type: string;
  /** The body as it arrives. */
  body: IncomingMessage;
  text(): Promise<string>;
}

// One connection per server for a command's requests (a change's PATCH, then its job's events).
const agents = new Map<'http:' | 'https:', HttpAgent>();

/** node:http or node:https, and its kept-alive agent. */
function transport(protocol: 'http:' | 'https:'): { request: typeof import('node:http').request; agent: HttpAgent } {
  const mod = protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  let agent = agents.get(protocol);
  if (!agent) agents.set(protocol, agent = new mod.Agent({ keepAlive: true }));
  return { request: mod.request as typeof import('node:http').request, agent };
}

/** Closes the kept-alive connections, so the process can exit at once. */
export function closeConnections(): void {
  for (const a of agents.values()) a.destroy();
}

/** The URL of an API path (`/apps/x/config`) with its query. */
export function apiUrl(server: Pick<Server, 'api'>, path: string, query: RequestOptions['query'] = {}): URL {
  const u = new URL(`${server.api.replace(/\/+$/, '')}/api/v1${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== false) u.searchParams.set(k, v === true ? '1' : String(v));
  return u;
}

/** A path segment from a user's value: encoded, so it never adds a segment or a query. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** Reads a stream whole, as text. */
async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends a request and answers the response, or throws the sentence the user should see. */
export async function send(server: Server, method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
  const url = apiUrl(server, path, opts.query);
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}`, accept: 'application/json, text/plain, text/event-stream' };
  if (server.agent) headers['user-agent'] = server.agent;
  let body: string | undefined;
  if (opts.upload !== undefined) headers['content-type'] = 'application/octet-stream';
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  let res: IncomingMessage;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      const { request, agent } = transport(url.protocol === 'https:' ? 'https:' : 'http:');
      const req = request(url, { method, headers, agent, ...(opts.signal ? { signal: opts.signal } : {}) }, resolve);
      req.on('error', reject);
      if (opts.upload) pipeline(opts.upload, req).catch(reject);
      else req.end(body);
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ClientError(`Could not reach the Slipway server at ${server.api}${code ? ` (${code})` : ''}: check the address, or log in again with slipway login ${server.host}.`, { cause: err });
  }
  const reply: Reply = { status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: res, text: () => readAll(res) };
  if (reply.status >= 400) throw await refusal(server, reply);
  warnOfExpiry(server, res.headers['slipway-token-expires']);
  return reply;
}

/** How long before its token expires the client starts to warn: a week, time to log in again. */
export const EXPIRY_WARNING_MS = 7 * 86_400_000;

/** The warning for a token that expires at `expiresAt` (the API's header), or undefined when it is further off than a week. */
export function expiryWarning(host: string, expiresAt: string | undefined, now: number): string | undefined {
  const at = expiresAt === undefined ? NaN : Date.parse(expiresAt);
  if (Number.isNaN(at) || at - now > EXPIRY_WARNING_MS) return undefined;
  const days = Math.max(0, Math.floor((at - now) / 86_400_000));
  const left = days === 0 ? 'within a day' : days === 1 ? 'in 1 day' : `in ${days} days`;
  return `Your token for ${host} expires ${left} (${new Date(at).toISOString()}): run slipway login ${host} for a new one.`;
}

let warned = false;

/** Says once per run, on stderr, that the token expires within a week. */
function warnOfExpiry(server: Server, header: string | string[] | undefined): void {
  if (warned) return;
  const line = expiryWarning(server.host, Array.isArray(header) ? header[0] : header, Date.now());
  if (line === undefined) return;
  warned = true;
  process.stderr.write(` !     ${line}\n`);
}

/** The error a refused request becomes: the API's own sentence, and for 401 what to do next. */
async function refusal(server: Server, res: Reply): Promise<ClientError> {
  const text = await res.text().catch(() => '');
  let message: string | undefined;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    // Not the API's error body (a proxy's page): the status says it.
  }
  if (res.status === 401) return new ClientError(`The server at ${server.api} refused the token (${message ?? 'unauthorized'}): log in again with slipway login ${server.host}.`);
  return new ClientError(message ?? `The server at ${server.api} answered ${res.status} ${res.body.statusMessage ?? ''}`.trimEnd() + '.');
}

/** Sends a request and reads the whole answer. */
export async function call(server: Server, method: string, path: string, opts: RequestOptions = {}): Promise<Answer> {
  const res = await send(server, method, path, opts);
  const text = await res.text();
  let json: unknown;
  if (res.type.includes('json') && text !== '') json = JSON.parse(text);
  return { status: res.status, json, text, type: res.type };
}

/** One Server-Sent Event. */
export interface SseEvent { event: string; data: string }

/** Reads a response's Server-Sent Events as they arrive (comments skipped, multi-line data joined). */
export async function* events(res: Reply): AsyncGenerator<SseEvent> {
  res.body.setEncoding('utf8');
  let buf = '';
  for await (const chunk of res.body) {
    buf += chunk as string;
    let end: number;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + (buf[end] === '\r' ? 4 : 2));
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}
