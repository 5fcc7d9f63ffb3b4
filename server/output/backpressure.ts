// What one stream of output towards a client (an SSH session, the pre-receive hook's socket) may
// hold in the server's memory. Node's write() never refuses data: it queues it and only says, by
// returning false, that the writer should wait. A tenant's program that prints without end to a
// client that does not read would otherwise grow the server until it dies. Writers here wait on
// `ready()`, what they may add while told to wait is bounded, and a client that does not read
// for too long has its session closed.

/** The bounds of one stream of output. */
export interface OutputLimits {
  /** Bytes waiting for the client beyond which writers are told to wait. */
  highWater: number;
  /** Bytes that may wait in all; a writer that adds more while told to wait ends the session. */
  maxBuffered: number;
  /** How long writers may be kept waiting in a row before the session is closed. */
  stallMs: number;
}

/** The fixed bounds per session; the stall deadline is SLIPWAY_STALL_TIMEOUT_S. */
export const OUTPUT_BOUNDS = {
  highWater: 64 * 1024,
  maxBuffered: 1024 * 1024,
} as const;

/** How often a stalled stream looks again at what it does not hear about (a connection's socket). */
const RECHECK_MS = 100;

/**
 * Counts the bytes handed to a destination and not yet passed on, and makes writers wait while
 * there are too many. `elsewhere` adds bytes queued further down (the SSH connection's socket),
 * which are re-read while writers wait. `onOverflow` is called once, with a sentence saying why,
 * when the bound or the stall deadline is passed; the owner then closes the session.
 */
export class Backpressure {
  readonly #limits: OutputLimits;
  readonly #elsewhere: () => number;
  readonly #onOverflow: (why: string) => void;
  #pending = 0;
  #waiters: (() => void)[] = [];
  #stalledSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(limits: OutputLimits, onOverflow: (why: string) => void, elsewhere: () => number = () => 0) {
    this.#limits = limits;
    this.#onOverflow = onOverflow;
    this.#elsewhere = elsewhere;
  }

  /** Bytes waiting for the client now. */
  get buffered(): number {
    return this.#pending + this.#elsewhere();
  }

  /** Whether the stream is closed: writes are dropped and nobody waits. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Accounts for `bytes` about to be written; returns the write's completion callback, or
   * undefined when the write must not happen (the stream is closed, or it would pass the bound).
   */
  admit(bytes: number): (() => void) | undefined {
    if (this.#closed) return undefined;
    if (this.#blocked() && this.buffered + bytes > this.#limits.maxBuffered) {
      this.#overflow(`more than ${Math.round(this.#limits.maxBuffered / 1024)} KiB of output waited for a client that was not reading`);
      return undefined;
    }
    this.#pending += bytes;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#pending -= bytes;
      this.#wake();
    };
  }

  /** Resolves once the client has taken enough that writing may go on (at once while it keeps up, or when closed). */
  ready(): Promise<void> {
    if (this.#closed || !this.#blocked()) return Promise.resolve();
    this.#stalledSince ??= Date.now();
    this.#timer ??= setInterval(() => this.#recheck(), RECHECK_MS);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the stream: waiting writers go on (their writes are dropped from now on). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #blocked(): boolean {
    return this.buffered > this.#limits.highWater;
  }

  #recheck(): void {
    if (!this.#blocked()) return this.#wake();
    if (this.#stalledSince !== undefined && Date.now() - this.#stalledSince >= this.#limits.stallMs) {
      this.#overflow(`the client did not read its output for ${Math.round(this.#limits.stallMs / 1000)} s`);
    }
  }

  #wake(): void {
    if (this.#blocked()) return;
    this.#stalledSince = undefined;
    this.#release();
  }

  #release(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #overflow(why: string): void {
    if (this.#closed) return;
    this.close();
    this.#onOverflow(why);
  }
}
