// A small client for the HTTP API in tests: JSON in and out, raw sockets for the misbehaving
// clients, and a Server-Sent Events reader.
import { connect, type Socket } from 'node:net';
import type { TestKey, TestServer } from './harness.ts';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** Calls the API: `method path` with a Bearer token and an optional JSON body (a string is sent as is). */
export async function api(s: TestServer, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON (text routes): `text` has it.
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The error body's parts, asserting its shape on the way. */
export function apiError(r: ApiResponse): { message: string; code: string; id?: string } {
  const e = (r.json as { error?: { message: string; code: string; id?: string } } | undefined)?.error;
  if (!e || typeof e.message !== 'string' || typeof e.code !== 'string') throw new Error(`not an error body (${r.status}): ${r.text}`);
  return e;
}

/** Creates a token for `key` over SSH (real OpenSSH) and returns it. */
export async function makeToken(s: TestServer, key: TestKey, name: string, scope?: string): Promise<string> {
  const r = await s.ssh(key, `tokens:create ${name}${scope ? ` --scope ${scope}` : ''}`);
  if (r.exitCode !== 0) throw new Error(`tokens:create failed: ${r.stderr}`);
  return r.stdout.split('\n')[1]!;
}

/** One Server-Sent Event. */
export interface SseEvent { event: string; data: string }

/**
 * Opens an event stream and reads events until `until` says stop or the server ends it; the
 * connection is then closed. Returns the status, content type and the events read.
 */
export async function readEvents(s: TestServer, path: string, token: string, until: (e: SseEvent, all: SseEvent[]) => boolean = () => false, onOpen?: () => void): Promise<{ status: number; type: string | null; events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController();
  const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const events: SseEvent[] = [];
  if (!res.body || res.status !== 200) return { status: res.status, type: res.headers.get('content-type'), events, ended: true };
  onOpen?.();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = true;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let at: number;
      let stop = false;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (block.startsWith(':')) continue;
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n');
        const e = { event, data };
        events.push(e);
        if (until(e, events)) { stop = true; break; }
      }
      if (stop) { ended = false; break; }
    }
  } finally {
    controller.abort();
  }
  return { status: res.status, type: res.headers.get('content-type'), events, ended };
}

/** A raw connection that collects what the server sends and notes when it closes. */
export function rawConnection(s: TestServer): Promise<{ sock: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const sock = connect(s.slipway.httpPort, '127.0.0.1');
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    sock.on('error', () => { /* a reset by the server is one of the outcomes under test */ });
    sock.once('connect', () => resolve({ sock, received: () => data, closed }));
    sock.once('error', reject);
  });
}
