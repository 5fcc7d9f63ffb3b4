// Bytes streamed on a plain response as they are made (a database dump): the headers go out with
// the first chunk, so a failure before it is still an ordinary error answer; writers are held back
// while the client does not read (output/backpressure.ts), and a reader stalled past the deadline
// is cut off. A failure after the first byte cuts the connection: with chunked encoding the client
// then sees a transfer that did not end, never a short file that looks whole.
import type { ServerResponse } from 'node:http';
import { Backpressure, OUTPUT_BOUNDS } from '../../output/backpressure.ts';
import { log } from '../../output/log.ts';
import type { BytesReply } from '../../api/route.ts';

/** A file name as a Content-Disposition value (ASCII letters, digits and `._-` only: the server made it). */
function attachment(filename: string): string {
  return `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
}

/**
 * Streams `reply.bytes` on `res`. Resolves once the response ended, or was cut; rejects (for the
 * caller's error answer) only when the stream failed before its first byte.
 */
export async function streamBytes(res: ServerResponse, headers: Record<string, string>, stallMs: number, reply: BytesReply): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => controller.abort(new Error('the client went away')));
  const bp = new Backpressure({ ...OUTPUT_BOUNDS, stallMs }, (why) => {
    log.info('byte stream closed', { why });
    res.destroy();
  });
  let started = false;
  const write = (chunk: Buffer): Promise<void> => {
    if (!started) {
      started = true;
      res.writeHead(200, { ...headers, 'content-type': reply.type, 'content-disposition': attachment(reply.filename), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    }
    const done = bp.admit(chunk.length);
    if (!done || res.destroyed) return Promise.resolve();
    res.write(chunk, () => done());
    return bp.ready();
  };
  try {
    await reply.bytes(write, controller.signal);
    if (!started) res.writeHead(200, { ...headers, 'content-type': reply.type, 'content-disposition': attachment(reply.filename), 'cache-control': 'no-store', 'content-length': '0' });
    res.end();
  } catch (err) {
    if (!started && !controller.signal.aborted) throw err;
    log.info('byte stream ended before its end', { err, clientLeft: controller.signal.aborted });
    res.destroy();
  } finally {
    bp.close();
  }
}
