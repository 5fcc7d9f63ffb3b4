// A build's log on disk, bounded: a build that prints without end must not fill the data disk
// every app shares. The log keeps its first lines and its last ones (where a failure says why)
// and one marker line between them saying how much was left out and which setting bounds it.
// The pusher still sees every line live: that stream is the pusher's own connection, bounded by
// the build's deadline and by backpressure, not by this machine's disk.
import { createWriteStream, type WriteStream } from 'node:fs';

/** Bytes of the log's end kept in memory until the build ends (at most; less for a small cap). */
export const TAIL_BYTES = 64 * 1024;

/** A build log file that never grows past `maxBytes` (plus one marker line). */
export class BuildLog {
  readonly #file: WriteStream;
  readonly #headBytes: number;
  readonly #tailBytes: number;
  #written = 0;
  #tail: string[] = [];
  #tailSize = 0;
  #droppedBytes = 0;
  #droppedLines = 0;

  constructor(path: string, maxBytes: number) {
    this.#file = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.#tailBytes = Math.min(TAIL_BYTES, Math.floor(maxBytes / 4));
    this.#headBytes = maxBytes - this.#tailBytes;
  }

  /** Adds one line (without its newline). */
  line(text: string): void {
    const l = text + '\n';
    const size = Buffer.byteLength(l);
    if (this.#droppedLines === 0 && this.#tail.length === 0 && this.#written + size <= this.#headBytes) {
      this.#written += size;
      this.#file.write(l);
      return;
    }
    // Past the head: keep the newest lines that fit the tail, count what falls out.
    this.#tail.push(l);
    this.#tailSize += size;
    while (this.#tailSize > this.#tailBytes && this.#tail.length > 0) {
      const out = this.#tail.shift()!;
      const n = Buffer.byteLength(out);
      this.#tailSize -= n;
      this.#droppedBytes += n;
      this.#droppedLines++;
    }
  }

  /** Writes the marker and the kept end, and closes the file. */
  end(): Promise<void> {
    if (this.#droppedLines > 0) {
      this.#file.write(`----- ${this.#droppedLines} lines (${this.#droppedBytes} bytes) of this build's output are left out here: a build log keeps its first and last lines, at most ${this.#headBytes + this.#tailBytes} bytes (SLIPWAY_MAX_BUILD_LOG_MB) -----\n`);
    }
    for (const l of this.#tail) this.#file.write(l);
    this.#tail = [];
    return new Promise((resolve, reject) => {
      this.#file.once('error', reject);
      this.#file.end(() => resolve());
    });
  }
}
