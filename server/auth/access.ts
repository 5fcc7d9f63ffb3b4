import type { Identity } from './identity.ts';
import type { Store } from '../store/index.ts';

/**
 * Whether the app exists and this identity may use it: admins always, other keys when granted it
 * or, for a preview app, granted its parent (whoever may deploy an app may use its previews).
 */
export function mayUseApp(store: Pick<Store, 'apps' | 'keys' | 'previews'>, identity: Identity, app: string): boolean {
  if (store.apps.get(app) === undefined) return false;
  if (reachesAllApps(identity)) return true;
  return store.keys.granted(store.previews.get(app)?.parent ?? app, identity.name);
}

/** Whether the identity may use every app (an admin, or an admin key's token of a lower scope). */
export function reachesAllApps(identity: Identity): boolean {
  return identity.admin || identity.allApps === true;
}

/**
 * Whether the key behind `identity` may still use `app` as the store has it now: it still exists,
 * and is an admin or granted the app. The rights an identity was given at login do not count.
 * The local CLI (the VM's own user) always may.
 */
export function mayStillUseApp(store: Pick<Store, 'apps' | 'keys' | 'previews'>, identity: Identity, app: string): boolean {
  if (identity.via === 'local') return true;
  const key = store.keys.byName(identity.name);
  // The key's reach as it is now: a demoted admin's tokens lose every app not granted to it.
  return key !== undefined && mayUseApp(store, { ...identity, admin: false, allApps: key.admin }, app);
}
