// The one bounded wait the tests use where no event exists (a Kubernetes controller, an ingress
// picking up a route): poll, and fail naming what never happened. Waits are never assertions about
// speed; how fast things are belongs to `npm run bench`.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `fn` until it returns a value (not undefined/false) and returns it; after `ms` throws
 * "timed out after N s waiting for <what>". `what` may be a function, to name the last thing seen.
 */
export async function eventually<T>(what: string | (() => string), fn: () => Promise<T | undefined | false>, ms = 15_000, everyMs = 200): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(everyMs);
  }
}
