// The dashboard's only way to the server: the public API under /api/v1, with the session cookie
// (same origin) and, on every change, the session's CSRF token. Every failure becomes an
// ApiFailure carrying the API's one-sentence message, which the pages show as it is.
import { errorMessage, safeNext } from './format.ts';
import type { Session } from '../../server/shapes/session.ts';
import type { Accepted } from '../../server/shapes/jobs.ts';

// The API's answers as the server describes them (its schemas' static types): type-only imports,
// so the build takes nothing of the server into the bundle.
export type { LoginCodeInfo, Session, SignInOptions } from '../../server/shapes/session.ts';
export type { Accepted, Job } from '../../server/shapes/jobs.ts';
export type { AppInfo, AppSummary } from '../../server/shapes/apps.ts';
export type { AppMetrics, ProcessEntry } from '../../server/shapes/processes.ts';
export type { ReleaseSummary } from '../../server/shapes/releases.ts';
export type { CanaryInfo } from '../../server/shapes/canary.ts';
export type { CertList, DomainList } from '../../server/shapes/domains.ts';
export type { CheckList } from '../../server/shapes/checks.ts';
export type { CreatedToken, DoctorCheck, KeySummary, TokenSummary } from '../../server/shapes/keys.ts';
export type { VolumeInfo } from '../../server/shapes/storage.ts';
export type { AddonInfo } from '../../server/shapes/data.ts';
export type { Round } from '../../server/shapes/rounds.ts';
export type { CollectionPreview } from '../../server/shapes/gc.ts';
export type { AuditEntry } from '../../server/shapes/audit.ts';
export type { DrainsInfo, DrainStatus } from '../../server/shapes/drains.ts';

/** The API's prefix. */
export const API = '/api/v1';

/** A refused or failed API call, with the server's sentence. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf = '';

/** Remembers the session's CSRF token for the changes that follow. */
export function setCsrf(token: string): void {
  csrf = token;
}

/** Sends the browser to the login page, which brings it back here after. */
export function toLogin(): void {
  const here = location.pathname + location.search;
  const next = safeNext(here, '');
  location.assign(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
}

/**
 * Calls the API; resolves with the JSON answer (undefined for 204), throws ApiFailure otherwise.
 * A 401 anywhere but on the session itself means the session is gone: to the login page.
 */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiFailure(0, 'network', errorMessage(0, null));
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await res.json().catch(() => null) : await res.text().catch(() => '');
  if (!res.ok) {
    const failure = new ApiFailure(res.status, (data as { error?: { code?: string } } | null)?.error?.code ?? 'error', errorMessage(res.status, data));
    if (res.status === 401 && !path.startsWith('/session')) toLogin();
    throw failure;
  }
  return data as T;
}

/** The message to show for anything a call threw. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiFailure) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Whether an answer is a 202 with a job. */
export function isAccepted(x: unknown): x is Accepted {
  return typeof x === 'object' && x !== null && 'job' in x && typeof (x as Accepted).job?.id === 'string';
}

/** Handlers of one event stream: event name to what to do with its data. */
export type StreamHandlers = Record<string, (data: string) => void>;

/** An open event stream. */
export interface Stream { close(): void }

/**
 * Opens a Server-Sent Events stream of the API. `onFail` gets the server's sentence when the
 * stream ends with an `error` event, or one of ours when the stream cannot be opened; the stream
 * is closed then. With `reconnect`, a stream that ends is reopened at the URL it gives (after a
 * short wait) and `onOpen` runs again, so a page can refetch what it may have missed.
 */
export function openStream(path: string, handlers: StreamHandlers, opts: { onFail?: (message: string) => void; onOpen?: () => void; reconnect?: () => string } = {}): Stream {
  let es: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let failures = 0;
  const connect = (url: string) => {
    const source = new EventSource(API + url);
    es = source;
    for (const [name, fn] of Object.entries(handlers)) source.addEventListener(name, (e) => fn((e as MessageEvent<string>).data));
    source.addEventListener('open', () => { failures = 0; opts.onOpen?.(); });
    source.addEventListener('error', (e) => {
      const data = (e as MessageEvent<string>).data;
      if (typeof data === 'string') {
        // The server's own `error` event: the stream ended with a refusal or failure.
        source.close();
        let body: unknown = null;
        try { body = JSON.parse(data); } catch { /* not JSON: the generic sentence below */ }
        opts.onFail?.(errorMessage(500, body));
        return;
      }
      // The connection dropped or was refused: we reconnect ourselves (or not), never EventSource.
      source.close();
      if (closed) return;
      if (opts.reconnect) {
        // 1 s, 2 s, 4 s … up to 30 s while the server keeps refusing: a retry, not a polling loop.
        const wait = Math.min(30_000, 1000 * 2 ** failures++);
        timer = setTimeout(() => { if (!closed) connect(opts.reconnect!()); }, wait);
        if (failures === 1) checkSession();
        return;
      }
      checkSession();
    });
  };
  /** A refused stream has no body EventSource shows us: ask the session, which sends a lost one to login. */
  const checkSession = () => {
    api<Session>('GET', '/session').then(
      () => { if (!opts.reconnect) opts.onFail?.('The live stream stopped; reload the page to follow it again.'); },
      (err) => { if (err instanceof ApiFailure && err.status === 401) toLogin(); else opts.onFail?.(messageOf(err)); },
    );
  };
  connect(path);
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      es?.close();
    },
  };
}
