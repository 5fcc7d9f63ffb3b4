// A bounded line of builds: at most `limit` at once, the rest wait in the order they came. A slot
// that frees goes straight to the first in line, so a later push never overtakes an earlier one
// (a newcomer does not take a slot while anyone waits).
import { UserError } from '../errors.ts';

interface Waiter { grant: () => void; ahead: (n: number) => void }

/** FIFO slots for builds. */
export class BuildQueue {
  readonly limit: number;
  #running = 0;
  readonly #line: Waiter[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a build queue needs at least one slot, got ${limit}`);
    this.limit = limit;
  }

  /** Builds running now. */
  get running(): number {
    return this.#running;
  }

  /** Builds waiting for a slot. */
  get waiting(): number {
    return this.#line.length;
  }

  /**
   * Resolves with a release function once this build has a slot. While it waits, `onWait` hears
   * how many builds are ahead of it in line (at once, and again each time that number drops). An
   * aborted signal takes it out of the line and rejects.
   */
  acquire(signal: AbortSignal, onWait: (ahead: number) => void): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new UserError('The build was cancelled.', { cause: signal.reason }));
    if (this.#running < this.limit && this.#line.length === 0) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        ahead: onWait,
      };
      const onAbort = () => {
        const at = this.#line.indexOf(waiter);
        if (at >= 0) this.#line.splice(at, 1);
        this.#tellPlaces(at);
        reject(new UserError('The build was cancelled while it waited for a build slot.', { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#line.push(waiter);
      onWait(this.#line.length - 1);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#line.shift();
      // The slot passes on without ever being free: nobody arriving now can take it first.
      if (next) {
        next.grant();
        this.#tellPlaces(0);
      } else {
        this.#running--;
      }
    };
  }

  /** Tells the waiters from index `from` on their new place. */
  #tellPlaces(from: number): void {
    if (from < 0) return;
    for (let i = from; i < this.#line.length; i++) this.#line[i]!.ahead(i);
  }
}
