// A container's log followed as it grows (GET .../log?follow=true), line by line, paced by the
// reader: the next chunk of the answer is read only once the reader took the previous lines, so
// the response (and the API server's stream) waits for a slow reader.
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

/** Longest log line kept whole; a container printing without a newline has it cut here. */
export const MAX_LOG_LINE = 64 * 1024;

/**
 * Hands the lines of an open log stream to `onLine` until it ends (resolves) or breaks (rejects
 * with `explain(err)`); stops, and resolves, once `signal` aborts, even while `onLine` still
 * holds a line. A reader that fails rejects with its own error and ends the stream.
 */
export async function readLogLines(res: IncomingMessage, signal: AbortSignal, onLine: (line: string) => Promise<void> | void, explain: (err: unknown) => Error): Promise<void> {
  if (signal.aborted) return void res.destroy();
  let aborted!: () => void;
  const abortedPromise = new Promise<void>((resolve) => { aborted = resolve; });
  const stop = () => { res.destroy(); aborted(); };
  signal.addEventListener('abort', stop, { once: true });
  let readerError: { err: unknown } | undefined;
  const reading = (async () => {
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const deliver = async (lines: string[]) => {
      for (const l of lines) {
        if (signal.aborted) return;
        try {
          await onLine(l);
        } catch (err) {
          readerError = { err };
          throw err;
        }
      }
    };
    for await (const chunk of res as AsyncIterable<Buffer>) {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > MAX_LOG_LINE) {
        lines.push(partial);
        partial = '';
      }
      await deliver(lines);
    }
    partial += decoder.end();
    await deliver(partial ? [partial] : []);
  })();
  try {
    await Promise.race([reading, abortedPromise]);
  } catch (err) {
    if (signal.aborted) return;
    throw readerError?.err === err ? err : explain(err);
  } finally {
    signal.removeEventListener('abort', stop);
    // Ended by a failed reader too: the stream is not left running with nobody to take it.
    res.destroy();
    // After an abort the reading part ends on its own (the destroyed stream), its error unseen.
    reading.catch(() => undefined);
  }
}
