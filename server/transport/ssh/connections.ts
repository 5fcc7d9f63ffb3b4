import { log } from '../../output/log.ts';
import type { Connection } from './lib.ts';

/**
 * Authenticated SSH connections by the fingerprint of the key that opened them, so that a key
 * removed from the store loses its open connections too (a ControlMaster or a long `logs -t`
 * would otherwise outlive the key).
 */
export class LiveConnections {
  private readonly byKey = new Map<Connection, { fingerprint: string; hangUp: () => void }>();

  /** Remembers a connection until it closes; `hangUp` ends it for good. */
  add(client: Connection, fingerprint: string, hangUp: () => void): void {
    this.byKey.set(client, { fingerprint, hangUp });
    client.once('close', () => this.byKey.delete(client));
  }

  /** Ends every connection whose key `exists` no longer finds; returns how many. */
  sweep(exists: (fingerprint: string) => boolean): number {
    let ended = 0;
    for (const [client, { fingerprint, hangUp }] of this.byKey) {
      if (exists(fingerprint)) continue;
      log.info('closing ssh connection of a removed key', { fingerprint });
      this.byKey.delete(client);
      hangUp();
      ended++;
    }
    return ended;
  }
}
