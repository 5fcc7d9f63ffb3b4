import { now, type Db } from './db.ts';

export interface Key {
  name: string;
  fingerprint: string;
  type: string;
  publicKey: string;
  admin: boolean;
  createdAt: string;
}

interface Row { name: string; fingerprint: string; type: string; public_key: string; admin: number; created_at: string }
const toKey = (r: Row): Key => ({ name: r.name, fingerprint: r.fingerprint, type: r.type, publicKey: r.public_key, admin: r.admin === 1, createdAt: r.created_at });

/** SSH public keys (the identities), admin flags and per-app grants. */
export function keysStore(db: Db) {
  return {
    byFingerprint: (fp: string): Key | undefined => {
      const r = db.prepare<[string], Row>('SELECT * FROM keys WHERE fingerprint = ?').get(fp);
      return r ? toKey(r) : undefined;
    },
    byName: (name: string): Key | undefined => {
      const r = db.prepare<[string], Row>('SELECT * FROM keys WHERE name = ?').get(name);
      return r ? toKey(r) : undefined;
    },
    list: (): Key[] => db.prepare<[], Row>('SELECT * FROM keys ORDER BY name').all().map(toKey),
    /** Adds a key; returns 'name' or 'fingerprint' when that is already taken. */
    add: (k: Omit<Key, 'createdAt'>): 'ok' | 'name' | 'fingerprint' =>
      db.transaction(() => {
        if (db.prepare('SELECT 1 FROM keys WHERE name = ?').get(k.name)) return 'name' as const;
        if (db.prepare('SELECT 1 FROM keys WHERE fingerprint = ?').get(k.fingerprint)) return 'fingerprint' as const;
        db.prepare('INSERT INTO keys (name, fingerprint, type, public_key, admin, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(k.name, k.fingerprint, k.type, k.publicKey, k.admin ? 1 : 0, now());
        return 'ok' as const;
      }).immediate(),
    setAdmin: (name: string, admin: boolean): void => {
      db.prepare('UPDATE keys SET admin = ? WHERE name = ?').run(admin ? 1 : 0, name);
    },
    remove: (name: string): boolean => db.prepare('DELETE FROM keys WHERE name = ?').run(name).changes === 1,
    grant: (app: string, keyName: string): boolean =>
      db.prepare('INSERT OR IGNORE INTO grants (app, key_name) VALUES (?, ?)').run(app, keyName).changes === 1,
    revoke: (app: string, keyName: string): boolean =>
      db.prepare('DELETE FROM grants WHERE app = ? AND key_name = ?').run(app, keyName).changes === 1,
    granted: (app: string, keyName: string): boolean =>
      db.prepare('SELECT 1 FROM grants WHERE app = ? AND key_name = ?').get(app, keyName) !== undefined,
    grantsOf: (app: string): string[] =>
      db.prepare<[string], { key_name: string }>('SELECT key_name FROM grants WHERE app = ? ORDER BY key_name').all(app).map((r) => r.key_name),
  };
}
