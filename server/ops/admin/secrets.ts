// The store's keys (issue 38, section 3): which key seals the store's secret values, and
// secrets:rotate-key, which seals every value with a new key in one transaction and then removes
// the old key's file (server/store/secrets.ts). Admins only: the key opens every app's secrets.
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import type { KeyRotation, StoreKeysInfo } from '../../shapes/secrets.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';
import { backupInProgress } from '../self-backup/backups.ts';

/** secrets: the key new values are sealed with, every key at hand and how many values each seals. */
export function storeKeys(actor: Actor): StoreKeysInfo {
  requireAdmin(actor, "Only admins may see the store's keys.");
  const status = actor.services.store.secrets.status();
  return {
    current: status.current,
    keys: status.keys.map((k) => ({ ...k, values: status.values[k.id] ?? 0 })),
    clear: status.values.clear ?? 0,
  };
}

/**
 * secrets:rotate-key: a new key (SLIPWAY_STORE_KEY's first when the keys come from there), every
 * secret value sealed with it in one transaction, then the other key files removed. Refused while
 * a backup of Slipway is being written, whose store copy and key files must agree.
 */
export function rotateStoreKey(actor: Actor): KeyRotation {
  requireAdmin(actor, "Only admins may rotate the store's key.");
  if (backupInProgress()) throw new UserError('A backup of Slipway is being written now; rotate the key once it ends (its archive must hold the key its store copy is sealed with).');
  const started = Date.now();
  const r = actor.services.store.secrets.rotate();
  const ms = Date.now() - started;
  log.info('store key rotated', { key: r.key, previous: r.previous, values: r.values, removed: r.removed, by: actor.identity.name, ms });
  return { ...r, ms };
}
