// Work that outlives the command that checked its rights: a push mid-build, `logs -t`, `run`. A
// key's rights are checked when it acts, and these keep acting, so they are checked again here
// whenever rights may have changed (after every SSH command, and every few seconds for changes
// made by another process, such as the local CLI) and stopped when the key lost the app.
import type { Services } from './context.ts';
import { mayStillUseApp } from './auth/access.ts';
import { sessionLive } from './auth/session.ts';
import { UserError } from './errors.ts';
import { log } from './output/log.ts';

/** How often running work is checked against the stored rights, for changes no command here made. */
export const RIGHTS_SWEEP_MS = 5_000;

/**
 * Stops every push, deploy and app command whose key may no longer use its app (the key removed,
 * its access revoked, or an admin demoted without a grant), every stream of a dashboard session
 * that ended (logout, expiry) and every stream opened with an access token since revoked; returns
 * how many were stopped. Each is aborted with a UserError saying why, which is what its user sees.
 */
export function stopRevoked(services: Pick<Services, 'store' | 'pushes' | 'sessions'> & { config: Pick<Services['config'], 'sessionIdleMs'> }): number {
  let stopped = 0;
  // Only what a session follows (logs, a job's transcript) ends with it: a deploy it started goes
  // on after a logout, as after a closed tab, unless the key itself lost the app (below).
  for (const w of services.sessions.list()) {
    const session = w.identity.session;
    if (w.controller.signal.aborted || session === undefined || sessionLive(services.store, session, services.config.sessionIdleMs)) continue;
    log.info('stopping a stream of a dashboard session that ended', { key: w.identity.name, app: w.app });
    w.controller.abort(new UserError('Your dashboard session has ended; log in again.'));
    stopped++;
  }
  // A stream opened with an access token ends when that token is revoked or expires, whatever its key may still do.
  for (const w of services.sessions.list()) {
    const token = w.identity.token;
    if (w.controller.signal.aborted || token === undefined || services.store.tokens.exists(token)) continue;
    const expired = services.store.tokens.expiredHash(token);
    log.info(expired ? 'stopping a stream of an expired token' : 'stopping a stream of a revoked token', { key: w.identity.name, app: w.app });
    w.controller.abort(new UserError(expired ? 'The access token this stream was opened with expired.' : 'The access token this stream was opened with was revoked.'));
    stopped++;
  }
  for (const w of [...services.pushes.list(), ...services.sessions.list()]) {
    if (w.controller.signal.aborted) continue;
    if (w.app === null) {
      // A stream over every app the key may use checks each event itself; it ends when the key goes.
      if (w.identity.via === 'local' || services.store.keys.byName(w.identity.name)) continue;
      log.info('stopping a stream of a removed key', { key: w.identity.name });
      w.controller.abort(new UserError(`The key ${w.identity.name} was removed.`));
      stopped++;
      continue;
    }
    if (mayStillUseApp(services.store, w.identity, w.app)) continue;
    log.info('stopping work of a key that lost its access', { key: w.identity.name, app: w.app });
    w.controller.abort(new UserError(`The key ${w.identity.name} no longer has access to ${w.app}.`));
    stopped++;
  }
  return stopped;
}
