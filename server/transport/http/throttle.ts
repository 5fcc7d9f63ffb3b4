/** How the throttle counts: per address, failures in a window, and the delays after the free ones. */
export interface ThrottleOptions { maxEntries: number; windowMs: number; free: number; stepMs: number; maxDelayMs: number }

const DEFAULTS: ThrottleOptions = { maxEntries: 10_000, windowMs: 60_000, free: 20, stepMs: 250, maxDelayMs: 5_000 };

/**
 * Slows down repeated failed authentications from one address: the first few in a window are
 * answered at once (a mistyped token, git's retries), then each further 401 waits longer, up to
 * a bound. The table is bounded too, oldest entry out first, so many addresses cannot exhaust
 * memory; an evicted address only starts over with its free attempts.
 */
export class FailureThrottle {
  private readonly entries = new Map<string, { count: number; since: number }>();
  private readonly opts: ThrottleOptions;
  private readonly clock: () => number;

  constructor(opts: Partial<ThrottleOptions> = {}, clock: () => number = Date.now) {
    this.opts = { ...DEFAULTS, ...opts };
    this.clock = clock;
  }

  /** Records a failure from `address`; returns how many ms to wait before answering it. */
  fail(address: string): number {
    const now = this.clock();
    let e = this.entries.get(address);
    if (e && now - e.since > this.opts.windowMs) e = undefined;
    // Re-inserted so the Map's order is least recently failed first, the eviction order.
    this.entries.delete(address);
    e = { count: (e?.count ?? 0) + 1, since: e?.since ?? now };
    this.entries.set(address, e);
    while (this.entries.size > this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return this.delayFor(e.count);
  }

  /** Failures recorded for `address` in the current window. */
  failures(address: string): number {
    const e = this.entries.get(address);
    return e && this.clock() - e.since <= this.opts.windowMs ? e.count : 0;
  }

  /** How many addresses are tracked. */
  get size(): number {
    return this.entries.size;
  }

  private delayFor(count: number): number {
    if (count <= this.opts.free) return 0;
    return Math.min((count - this.opts.free) * this.opts.stepMs, this.opts.maxDelayMs);
  }
}
