// The app's lock, the one place it is taken and cleared: a push, every change that rolls out,
// apps:destroy and garbage collection all hold it, so one of them at a time touches an app.
import { LockedError } from '../errors.ts';
import type { Services } from '../context.ts';

/** The lock taken (with its release), or who holds it since when. */
export type LockAttempt = { ok: true; unlock: () => void } | { ok: false; holder: string; since: string };

/** Tries the app's lock for `owner` (shown to whoever finds it taken); never waits. */
export function tryLockApp(services: Pick<Services, 'store'>, app: string, owner: string): LockAttempt {
  const lock = services.store.apps.lock(app, owner);
  if (!lock.ok) return lock;
  return { ok: true, unlock: () => { services.store.apps.unlock(app, owner); } };
}

/** The sentence for a lock someone else holds. */
export function lockedSentence(app: string, holder: string, since: string): string {
  return `Another deploy of ${app} is in progress (${holder}, since ${since}); wait for it, or run apps:unlock ${app} if it is stuck.`;
}

/** Takes the app's lock, or throws the sentence saying who holds it and how to clear it; returns the unlock. */
export function lockApp(services: Pick<Services, 'store'>, app: string, owner: string): () => void {
  const lock = tryLockApp(services, app, owner);
  if (!lock.ok) throw new LockedError(lockedSentence(app, lock.holder, lock.since));
  return lock.unlock;
}

/**
 * apps:unlock: stops any deploy of the app running in this process and clears the lock whoever
 * holds it (a stuck one, or a dead process's); whether there was anything to stop or clear.
 */
export function breakLock(services: Pick<Services, 'store' | 'pushes'>, app: string, by: string): boolean {
  const aborted = services.pushes.abort(app, `apps:unlock by ${by}`);
  const unlocked = services.store.apps.unlock(app);
  return aborted || unlocked;
}
