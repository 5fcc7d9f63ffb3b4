// A watch: the API server's stream of changes to a list, one JSON event a line, from a
// resourceVersion on. It runs on a connection of its own (KubeRequest.stream) and ends when the
// API server ends it (timeoutSeconds), when the caller aborts, or when it breaks.
import { StringDecoder } from 'node:string_decoder';
import { KubeApiError } from './api-error.ts';
import type { KubeHttp } from './http.ts';

/** One change a watch reports (BOOKMARK: only metadata.resourceVersion is meaningful). */
export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T };

/** A watch's resourceVersion is too old (HTTP 410 or an ERROR event with code 410): relist. */
export class WatchExpiredError extends Error {}

/** What a watch asks for. */
export interface WatchRequest {
  /** The list's path (resourcePath without a name). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  timeoutSeconds: number;
  signal: AbortSignal;
}

/** Longest a watch's connection may stay silent past its timeout before it counts as broken. */
const WATCH_GRACE_MS = 60_000;

const TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

/**
 * Runs a watch, calling `onEvent` per event in order (each object through `decode`); resolves
 * when the API server ends it or `signal` aborts. Rejects with WatchExpiredError on 410, with
 * `explain(err)` when the watch is refused or its stream breaks, and with onEvent's own error
 * when onEvent throws.
 */
export async function runWatch<T>(http: KubeHttp, w: WatchRequest, decode: (o: T) => T, onEvent: (e: WatchEvent<T>) => void, explain: (err: unknown) => Error): Promise<void> {
  if (w.signal.aborted) return;
  let res;
  try {
    res = await http.open({
      method: 'GET', path: w.path, verb: 'WATCH', stream: true, signal: w.signal,
      idleMs: w.timeoutSeconds * 1000 + WATCH_GRACE_MS,
      query: { watch: true, allowWatchBookmarks: true, resourceVersion: w.resourceVersion, timeoutSeconds: w.timeoutSeconds, labelSelector: w.labelSelector, fieldSelector: w.fieldSelector },
    });
  } catch (err) {
    if (w.signal.aborted) return;
    if (err instanceof KubeApiError && err.code === 410) throw new WatchExpiredError(`the watch's resourceVersion ${w.resourceVersion} is too old`, { cause: err });
    throw explain(err);
  }
  const decoder = new StringDecoder('utf8');
  let partial = '';
  // An error of onEvent's own is the caller's, passed on as it is.
  let callerError: { err: unknown } | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    const e = JSON.parse(line) as { type?: string; object?: unknown };
    if (e.type === 'ERROR') {
      const status = e.object as { code?: number; message?: string } | undefined;
      if (status?.code === 410) throw new WatchExpiredError(`the watch's resourceVersion is too old: ${status.message ?? ''}`);
      throw new KubeApiError(status?.code ?? 500, status, `watch ${w.path}`);
    }
    if (!e.type || !TYPES.has(e.type)) throw new Error(`a watch of ${w.path} sent an event of type ${String(e.type)}`);
    try {
      onEvent({ type: e.type as WatchEvent<T>['type'], object: decode(e.object as T) });
    } catch (err) {
      callerError = { err };
      throw err;
    }
  };
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (w.signal.aborted) return;
        handle(line);
      }
    }
    // The API server ends a watch cleanly at its timeout; a last line without its newline is
    // still a whole event, or the stream was cut.
    handle(partial + decoder.end());
  } catch (err) {
    if (w.signal.aborted) return;
    if (callerError?.err === err || err instanceof WatchExpiredError) throw err;
    throw explain(err);
  } finally {
    res.destroy();
  }
}
