import type { Identity } from './identity.ts';
import type { Store } from '../store/index.ts';

/** Whether the app exists and this identity may use it: admins always, other keys when granted. */
export function mayUseApp(store: Pick<Store, 'apps' | 'keys'>, identity: Identity, app: string): boolean {
  return store.apps.get(app) !== undefined && (identity.admin || store.keys.granted(app, identity.name));
}
