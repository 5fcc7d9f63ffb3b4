// One home for the server's background rounds (GC, the warm-window sweep): a task every
// `intervalMs`, never two rounds at once, a failed round logged and tried again next time.
import { log } from '../output/log.ts';

/** Runs `task` every `intervalMs` (a round still running skips the tick); returns the stop function, which also aborts a round in progress. */
export function every(intervalMs: number, what: string, task: (signal: AbortSignal) => Promise<unknown>): () => void {
  const stop = new AbortController();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task(stop.signal)
      .catch((err: unknown) => log.warn(`${what} failed; the next round tries again`, { err }))
      .finally(() => { running = false; });
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    stop.abort(new Error('the server is stopping'));
  };
}
