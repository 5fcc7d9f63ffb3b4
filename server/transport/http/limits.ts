// What one client may hold of the HTTP port at once. Connections are counted per source address
// from accept; long-lived API requests (every kind of event stream: /events, followed logs, job
// transcripts, metrics) are counted per key and per source address, all kinds together, so that
// one key or one address cannot hold the connections git, the dashboard and everyone else need.

/** Counts per name; a name whose count is back to 0 is forgotten, so the table holds only what is open. */
export class Tally {
  readonly #counts = new Map<string, number>();

  /** How many `name` holds now. */
  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  /** Counts one more for `name`. */
  add(name: string): void {
    this.#counts.set(name, this.get(name) + 1);
  }

  /** Counts one fewer for `name`. */
  remove(name: string): void {
    const n = this.get(name) - 1;
    if (n > 0) this.#counts.set(name, n);
    else this.#counts.delete(name);
  }
}

/** The caps a stream is checked against. */
export interface StreamCaps {
  perKey: number;
  perSource: number;
}

/** A stream's slot: released once, when the stream ends. */
export type StreamSlot = { release: () => void } | { refused: string };

/** Open long-lived API requests, per key and per source address. */
export class StreamSlots {
  readonly #byKey = new Tally();
  readonly #bySource = new Tally();
  readonly #caps: Readonly<StreamCaps>;

  constructor(caps: Readonly<StreamCaps>) {
    this.#caps = caps;
  }

  /**
   * Takes a slot for a stream of `key` from `source` (checked and counted in one step, so
   * concurrent requests cannot pass a cap), or says in one sentence why not.
   */
  take(key: string, source: string): StreamSlot {
    const { perKey, perSource } = this.#caps;
    if (this.#byKey.get(key) >= perKey) {
      return { refused: `The key ${key} has ${perKey} streams open already (events, followed logs, jobs and metrics count together); close one (a browser tab, a followed log) and try again.` };
    }
    if (this.#bySource.get(source) >= perSource) {
      return { refused: `Your address has ${perSource} streams open already (events, followed logs, jobs and metrics count together); close one and try again.` };
    }
    this.#byKey.add(key);
    this.#bySource.add(source);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#byKey.remove(key);
        this.#bySource.remove(source);
      },
    };
  }

  /** Streams `key` holds open now. */
  ofKey(key: string): number {
    return this.#byKey.get(key);
  }
}
