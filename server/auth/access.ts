import type { Identity } from './identity.ts';
import type { Store } from '../store/index.ts';

/** Whether the app exists and this identity may use it: admins always, other keys when granted. */
export function mayUseApp(store: Pick<Store, 'apps' | 'keys'>, identity: Identity, app: string): boolean {
  return store.apps.get(app) !== undefined && (identity.admin || store.keys.granted(app, identity.name));
}

/**
 * Whether the key behind `identity` may still use `app` as the store has it now: it still exists,
 * and is an admin or granted the app. The rights an identity was given at login do not count.
 * The local CLI (the VM's own user) always may.
 */
export function mayStillUseApp(store: Pick<Store, 'apps' | 'keys'>, identity: Identity, app: string): boolean {
  if (identity.via === 'local') return true;
  const key = store.keys.byName(identity.name);
  // An HTTP token below the admin scope never had an admin's reach, whatever its key has.
  const admin = key?.admin === true && (identity.scope === undefined || identity.scope === 'admin');
  return key !== undefined && mayUseApp(store, { ...identity, admin }, app);
}
