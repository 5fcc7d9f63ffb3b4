// A build's log on disk, bounded: a build that prints without end must not fill the data disk
// every app shares. The log keeps its first lines and its last ones (where a failure says why)
// and one marker line between them saying how much was left out and which setting bounds it.
// The pusher still sees every line live: that stream is the pusher's own connection, bounded by
// the build's deadline and by backpressure, not by this machine's disk.
import { createWriteStream, type WriteStream } from 'node:fs';
import { HeadAndTail } from '../output/head-and-tail.ts';

/** A build log file that never grows past `maxBytes` (plus one marker line). */
export class BuildLog {
  readonly #file: WriteStream;
  readonly #bound: HeadAndTail;

  constructor(path: string, maxBytes: number) {
    this.#file = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.#bound = new HeadAndTail(maxBytes);
  }

  /** Adds one line (without its newline). */
  line(text: string): void {
    if (this.#bound.add(text)) this.#file.write(text + '\n');
  }

  /** Writes the marker and the kept end, and closes the file. */
  end(): Promise<void> {
    const b = this.#bound;
    if (b.droppedLines > 0) {
      this.#file.write(`----- ${b.droppedLines} lines (${b.droppedBytes} bytes) of this build's output are left out here: a build log keeps its first and last lines, at most ${b.headBytes + b.tailBytes} bytes (SLIPWAY_MAX_BUILD_LOG_MB) -----\n`);
    }
    for (const l of b.tail.splice(0)) this.#file.write(l + '\n');
    return new Promise((resolve, reject) => {
      this.#file.once('error', reject);
      this.#file.end(() => resolve());
    });
  }
}
