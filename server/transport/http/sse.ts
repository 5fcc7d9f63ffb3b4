// Server-Sent Events on a plain response: the API's job transcripts and followed logs. A stream
// never holds more than a bounded backlog for a client that does not read (output/backpressure.ts).
import type { ServerResponse } from 'node:http';
import { Backpressure, OUTPUT_BOUNDS } from '../../output/backpressure.ts';
import { log } from '../../output/log.ts';
import type { SendEvent } from '../../api/route.ts';
import { streamOpened } from '../../observe/metrics.ts';

/** How often an idle event stream gets a comment line, so proxies and clients see it is alive. */
const HEARTBEAT_MS = 15_000;

/** Formats one event: each line of `data` as its own `data:` field. */
export function eventText(event: string, data: string): string {
  return `event: ${event}\n${data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`;
}

/**
 * Streams `events` on `res`: headers at once, a comment every HEARTBEAT_MS, and writers held back
 * while the client does not read, so a slow reader never makes the server buffer without bound;
 * a reader stalled past `stallMs` is cut off. An error the stream ends with is sent as an `error`
 * event (its data from `failed`), then the response ends.
 */
export async function streamEvents(res: ServerResponse, headers: Record<string, string>, stallMs: number, events: (send: SendEvent, signal: AbortSignal) => Promise<void>, failed: (err: unknown) => string): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => controller.abort(new Error('the client went away')));
  const bp = new Backpressure({ ...OUTPUT_BOUNDS, stallMs }, (why) => {
    log.info('event stream closed', { why });
    res.destroy();
  });
  const write = (text: string): Promise<void> => {
    const done = bp.admit(Buffer.byteLength(text));
    if (!done || res.destroyed) return Promise.resolve();
    res.write(text, () => done());
    return bp.ready();
  };
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  const heartbeat = setInterval(() => { void write(': heartbeat\n\n'); }, HEARTBEAT_MS);
  const closed = streamOpened();
  try {
    await events((event, data) => write(eventText(event, data)), controller.signal);
  } catch (err) {
    // After the client left, what the stream ended with has nobody to go to but the log.
    if (controller.signal.aborted) log.debug('event stream ended after its client left', { err });
    else await write(eventText('error', failed(err)));
  } finally {
    clearInterval(heartbeat);
    closed();
    bp.close();
    res.end();
  }
}
