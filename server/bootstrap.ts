import type { Store } from './store/index.ts';
import { readAuthorizedKeys } from './auth/keys.ts';
import { log } from './output/log.ts';

/** A key name from an authorized_keys comment (`alice@laptop` → `alice@laptop`), made unique. */
function nameFor(store: Store, comment: string): string {
  const base = comment.replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48) || 'admin';
  let name = base;
  for (let n = 2; store.keys.byName(name); n++) name = `${base}-${n}`;
  return name;
}

/** Makes every key in an authorized_keys file an admin; running it again changes nothing. */
export function importAdminKeys(store: Store, file: string): { added: string[]; promoted: string[] } {
  const added: string[] = [];
  const promoted: string[] = [];
  for (const key of readAuthorizedKeys(file)) {
    const existing = store.keys.byFingerprint(key.fingerprint);
    if (existing) {
      if (!existing.admin) {
        store.keys.setAdmin(existing.name, true);
        promoted.push(existing.name);
      }
      continue;
    }
    const name = nameFor(store, key.comment);
    store.keys.add({ name, fingerprint: key.fingerprint, type: key.type, publicKey: key.blob, admin: true });
    added.push(name);
  }
  if (added.length || promoted.length) log.info('admin keys imported', { file, added, promoted });
  return { added, promoted };
}
