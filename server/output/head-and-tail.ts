// The bound both build logs and job transcripts keep on disk (SLIPWAY_MAX_BUILD_LOG_MB): their
// first lines as they come, then only the newest lines that fit a small tail (where a failure
// says why), counting what falls out between the two for one marker line.

/** Bytes of the end kept in memory until the log ends (at most; less for a small cap). */
export const TAIL_BYTES = 64 * 1024;

/** Splits lines into a head that is written as it comes and a sliding tail, within `maxBytes`. */
export class HeadAndTail {
  readonly headBytes: number;
  readonly tailBytes: number;
  /** The newest lines past the head (without newlines), oldest first. */
  readonly tail: string[] = [];
  droppedLines = 0;
  droppedBytes = 0;
  #headSize = 0;
  #headClosed = false;
  #tailSize = 0;

  constructor(maxBytes: number) {
    this.tailBytes = Math.min(TAIL_BYTES, Math.floor(maxBytes / 4));
    this.headBytes = maxBytes - this.tailBytes;
  }

  /** Takes one line (without its newline): true if it belongs to the head, else it went into the tail. */
  add(text: string): boolean {
    const size = Buffer.byteLength(text) + 1;
    if (!this.#headClosed && this.#headSize + size <= this.headBytes) {
      this.#headSize += size;
      return true;
    }
    // Once a line missed the head, every later one goes to the tail: the file stays in order.
    this.#headClosed = true;
    this.tail.push(text);
    this.#tailSize += size;
    while (this.#tailSize > this.tailBytes && this.tail.length > 0) {
      const n = Buffer.byteLength(this.tail.shift()!) + 1;
      this.#tailSize -= n;
      this.droppedBytes += n;
      this.droppedLines++;
    }
    return false;
  }
}
