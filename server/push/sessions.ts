import { randomBytes } from 'node:crypto';
import type { Identity, RunningPushes } from '../commands/types.ts';

/** One git-receive-pack started by a transport: who pushes to which app, and how to stop it. */
export interface PushSession {
  id: string;
  app: string;
  identity: Identity;
  controller: AbortController;
}

/**
 * Pushes in flight, keyed by an unguessable id that the transport puts in git's environment
 * (SLIPWAY_PUSH_ID) and the pre-receive shim sends back: the only way a hook connection is
 * tied to an authenticated pusher.
 */
export class PushSessions implements RunningPushes {
  #byId = new Map<string, PushSession>();

  /** Registers a push about to start. */
  begin(app: string, identity: Identity): PushSession {
    const s: PushSession = { id: randomBytes(16).toString('hex'), app, identity, controller: new AbortController() };
    this.#byId.set(s.id, s);
    return s;
  }

  get(id: string): PushSession | undefined {
    return this.#byId.get(id);
  }

  /** Forgets a push whose git process has exited. */
  end(s: { controller: AbortController }): void {
    for (const [id, v] of this.#byId) if (v.controller === s.controller) this.#byId.delete(id);
  }

  /** Aborts every push to `app` in flight here (apps:unlock, shutdown). */
  abort(app: string, reason: string): boolean {
    let any = false;
    for (const s of this.#byId.values()) {
      if (s.app === app && !s.controller.signal.aborted) {
        s.controller.abort(new Error(reason));
        any = true;
      }
    }
    return any;
  }

  /** Aborts everything (server shutdown). */
  abortAll(reason: string): void {
    for (const s of this.#byId.values()) s.controller.abort(new Error(reason));
  }
}
