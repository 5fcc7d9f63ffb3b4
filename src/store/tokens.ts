import { createHash } from 'node:crypto';
import { now, type Db } from './db.ts';

export interface Token { name: string; keyName: string; createdAt: string; lastUsedAt: string | null }
interface Row { name: string; key_name: string; created_at: string; last_used_at: string | null }
const toToken = (r: Row): Token => ({ name: r.name, keyName: r.key_name, createdAt: r.created_at, lastUsedAt: r.last_used_at });

/** Only a hash of a token is kept; the token itself is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** HTTP access tokens; each acts with the rights of the key that owns it. */
export function tokensStore(db: Db) {
  return {
    add: (name: string, keyName: string, token: string): boolean =>
      db.prepare('INSERT OR IGNORE INTO tokens (name, hash, key_name, created_at) VALUES (?, ?, ?, ?)').run(name, hashToken(token), keyName, now()).changes === 1,
    byName: (name: string): Token | undefined => {
      const r = db.prepare<[string], Row>('SELECT name, key_name, created_at, last_used_at FROM tokens WHERE name = ?').get(name);
      return r ? toToken(r) : undefined;
    },
    /** The owner of a presented token, recording its use; undefined if unknown. */
    use: (token: string): string | undefined => {
      const hash = hashToken(token);
      const r = db.prepare<[string], { key_name: string }>('SELECT key_name FROM tokens WHERE hash = ?').get(hash);
      if (r) db.prepare('UPDATE tokens SET last_used_at = ? WHERE hash = ?').run(now(), hash);
      return r?.key_name;
    },
    list: (keyName?: string): Token[] =>
      (keyName === undefined
        ? db.prepare<[], Row>('SELECT name, key_name, created_at, last_used_at FROM tokens ORDER BY name').all()
        : db.prepare<[string], Row>('SELECT name, key_name, created_at, last_used_at FROM tokens WHERE key_name = ? ORDER BY name').all(keyName)
      ).map(toToken),
    remove: (name: string): boolean => db.prepare('DELETE FROM tokens WHERE name = ?').run(name).changes === 1,
  };
}
