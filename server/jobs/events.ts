// The in-process event bus: jobs starting and ending, releases recorded and ended, and apps
// created, changed and destroyed, published by the operations and the job runner where they
// happen, for the live views (GET /api/v1/events) that would otherwise poll. Events of changes
// made by another process (the local slipway command) are not seen here.
import type { EventBus, SlipwayEvent } from '../context.ts';
import { log } from '../output/log.ts';

/** One listener and the key it listens for. */
interface Listener {
  key: string;
  listener: (event: SlipwayEvent) => void;
}

/** A small typed emitter: synchronous delivery, one failing listener never stops the others or the publisher. */
export class Events implements EventBus {
  readonly #listeners = new Set<Listener>();

  publish(event: SlipwayEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l.listener(event);
      } catch (err) {
        // The change itself happened; only this listener missed it.
        log.error('an event listener failed', { key: l.key, event: event.type, app: event.app, err });
      }
    }
  }

  subscribe(key: string, listener: (event: SlipwayEvent) => void): () => void {
    const l: Listener = { key, listener };
    this.#listeners.add(l);
    return () => { this.#listeners.delete(l); };
  }

  count(key: string): number {
    let n = 0;
    for (const l of this.#listeners) if (l.key === key) n++;
    return n;
  }
}
