// A running job's transcript: written to its file line by line as it goes, synchronously, so a
// server killed mid-job leaves every line it said (a job's transcript is far smaller than the
// build output a build log takes, and is bounded the same way), and kept in memory for the followers that join while it runs. Bounded
// as build logs are (SLIPWAY_MAX_BUILD_LOG_MB): the first lines and the last ones are kept, with
// one marker line between them saying how much was left out. Followers pull lines from a cursor
// at their own pace, so a slow follower holds back neither the job nor the other followers.
import { closeSync, openSync, writeSync } from 'node:fs';

/** Bytes of the transcript's end kept until the job ends (at most; less for a small cap). */
export const TAIL_BYTES = 64 * 1024;

/** Lines read from a cursor, and the cursor after them. */
export interface LogRead {
  lines: string[];
  next: number;
}

/** One job's transcript: a bounded file and, while the job runs, what followers read. */
export class JobLog {
  readonly #fd: number;
  readonly #headBytes: number;
  readonly #tailBytes: number;
  readonly #head: string[] = [];
  #headSize = 0;
  #headClosed = false;
  #tail: string[] = [];
  #tailSize = 0;
  #droppedBytes = 0;
  #droppedLines = 0;
  /** How many lines were written: the cursor after the newest. */
  #next = 0;
  #ended = false;
  #waiters: Array<() => void> = [];

  constructor(path: string, maxBytes: number) {
    this.#fd = openSync(path, 'a', 0o600);
    this.#tailBytes = Math.min(TAIL_BYTES, Math.floor(maxBytes / 4));
    this.#headBytes = maxBytes - this.#tailBytes;
  }

  /** Adds one line (without its newline); nothing once the log ended. */
  line(text: string): void {
    if (this.#ended) return;
    this.#next++;
    const size = Buffer.byteLength(text) + 1;
    if (!this.#headClosed && this.#headSize + size <= this.#headBytes) {
      this.#head.push(text);
      this.#headSize += size;
      writeSync(this.#fd, text + '\n');
    } else {
      // Past the head: keep the newest lines that fit the tail, count what falls out.
      this.#headClosed = true;
      this.#tail.push(text);
      this.#tailSize += size;
      while (this.#tailSize > this.#tailBytes && this.#tail.length > 0) {
        const n = Buffer.byteLength(this.#tail.shift()!) + 1;
        this.#tailSize -= n;
        this.#droppedBytes += n;
        this.#droppedLines++;
      }
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
    const tailStart = this.#next - this.#tail.length;
    if (c < tailStart) {
      lines.push(this.#marker(tailStart - c));
      c = tailStart;
    }
    lines.push(...this.#tail.slice(c - tailStart));
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
      const rest = [...(this.#droppedLines > 0 ? [this.#marker(this.#droppedLines, this.#droppedBytes)] : []), ...this.#tail];
      if (rest.length) writeSync(this.#fd, rest.map((l) => l + '\n').join(''));
    } finally {
      closeSync(this.#fd);
      this.#wake();
    }
  }

  #marker(lines: number, bytes?: number): string {
    return `----- ${lines} lines${bytes === undefined ? '' : ` (${bytes} bytes)`} of this job's transcript are left out here: a transcript keeps its first and last lines, at most ${this.#headBytes + this.#tailBytes} bytes (SLIPWAY_MAX_BUILD_LOG_MB) -----`;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
