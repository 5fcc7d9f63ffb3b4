// A job's transcript: written to its file line by line, synchronously, so a server killed mid-job
// leaves every line it said up to then (a line costs one small write; a push's build output is a
// few thousand lines), and kept in memory for the followers that join while the job runs. Bounded
// as build logs are (SLIPWAY_MAX_BUILD_LOG_MB): the first lines and the last ones are kept, with
// one marker line between them saying how much was left out. Followers pull lines from a cursor
// at their own pace, so a slow follower holds back neither the job nor the other followers.
import { closeSync, openSync, writeSync } from 'node:fs';
import { HeadAndTail } from '../output/head-and-tail.ts';

/** Lines read from a cursor, and the cursor after them. */
export interface LogRead {
  lines: string[];
  next: number;
}

/** One job's transcript: a bounded file and, while the job runs, what followers read. */
export class JobLog {
  readonly #fd: number;
  readonly #bound: HeadAndTail;
  /** The head's lines, kept for followers that join while the job runs. */
  readonly #head: string[] = [];
  /** How many lines were written: the cursor after the newest. */
  #next = 0;
  #ended = false;
  #waiters: Array<() => void> = [];

  constructor(path: string, maxBytes: number) {
    this.#fd = openSync(path, 'a', 0o600);
    this.#bound = new HeadAndTail(maxBytes);
  }

  /** Adds one line (without its newline); nothing once the log ended. */
  line(text: string): void {
    if (this.#ended) return;
    this.#next++;
    if (this.#bound.add(text)) {
      this.#head.push(text);
      writeSync(this.#fd, text + '\n');
    }
    this.#wake();
  }

  /** Whether the job ended (no line comes after). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * The lines from `cursor` on: the head's, then one marker for lines no longer kept (left out of
   * the saved transcript, or slid out of the tail before this reader got to them), then the tail's.
   */
  read(cursor: number): LogRead {
    const lines: string[] = [];
    let c = cursor;
    if (c < this.#head.length) {
      lines.push(...this.#head.slice(c));
      c = this.#head.length;
    }
    const { tail } = this.#bound;
    const tailStart = this.#next - tail.length;
    if (c < tailStart) {
      lines.push(this.#marker(tailStart - c));
      c = tailStart;
    }
    lines.push(...tail.slice(c - tailStart));
    return { lines, next: this.#next };
  }

  /** Resolves when a line past `cursor` exists, the log ended, or `signal` aborts. */
  waitPast(cursor: number, signal?: AbortSignal): Promise<void> {
    if (this.#next > cursor || this.#ended || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }

  /** Writes the marker and the kept end, and closes the file; followers then see the end. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      const b = this.#bound;
      const rest = [...(b.droppedLines > 0 ? [this.#marker(b.droppedLines, b.droppedBytes)] : []), ...b.tail];
      if (rest.length) writeSync(this.#fd, rest.map((l) => l + '\n').join(''));
    } finally {
      closeSync(this.#fd);
      this.#wake();
    }
  }

  #marker(lines: number, bytes?: number): string {
    return `----- ${lines} lines${bytes === undefined ? '' : ` (${bytes} bytes)`} of this job's transcript are left out here: a transcript keeps its first and last lines, at most ${this.#bound.headBytes + this.#bound.tailBytes} bytes (SLIPWAY_MAX_BUILD_LOG_MB) -----`;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
