import { UserError } from '../errors.ts';
import type { Services } from '../context.ts';

/** Takes the app's deploy lock, or says who holds it and how to clear it; returns the unlock. */
export function lockApp(services: Pick<Services, 'store'>, app: string, owner: string): () => void {
  const lock = services.store.apps.lock(app, owner);
  if (!lock.ok) throw new UserError(`Another deploy of ${app} is in progress (${lock.holder}, since ${lock.since}); wait for it, or run apps:unlock ${app} if it is stuck.`);
  return () => { services.store.apps.unlock(app, owner); };
}
