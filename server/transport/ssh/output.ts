import { Backpressure, OUTPUT_BOUNDS } from '../../output/backpressure.ts';
import type { ServerChannel } from './lib.ts';

/**
 * One SSH session's output towards its client. ssh2's channels queue whatever is written until
 * the client opens its window again, 2 MB before write() even says so; here every write counts
 * what waits (in the channel, and in the connection's socket for a client that opens a large
 * window but does not read TCP), writers wait once 64 KiB wait, and a writer that goes on
 * regardless, or a client that reads nothing for the stall deadline, gets the session closed.
 */
export class SessionOutput {
  readonly #channel: ServerChannel;
  readonly #pace: Backpressure;

  /** `socket` is the connection's (lib.ts socketOf); `onOverflow` closes the session, with the reason. */
  constructor(channel: ServerChannel, socket: { readonly writableLength: number } | undefined, stallMs: number, onOverflow: (why: string) => void) {
    this.#channel = channel;
    this.#pace = new Backpressure({ ...OUTPUT_BOUNDS, stallMs }, onOverflow, () => socket?.writableLength ?? 0);
  }

  /** Writes to the client's stdout or stderr; resolves once it can take more (dropped once closed). */
  write(to: 'stdout' | 'stderr', data: string | Buffer): Promise<void> {
    const done = this.#pace.admit(typeof data === 'string' ? Buffer.byteLength(data) : data.length);
    if (!done) return Promise.resolve();
    // The callback comes once ssh2 has passed the data into the client's window (or failed).
    (to === 'stdout' ? this.#channel : this.#channel.stderr).write(data, done);
    return this.#pace.ready();
  }

  /** Resolves once the client has taken what was written, up to the backlog (at once while it keeps up). */
  drained(): Promise<void> {
    return this.#pace.ready();
  }

  /** The session ended: writers waiting go on, and further writes are dropped. */
  close(): void {
    this.#pace.close();
  }
}
