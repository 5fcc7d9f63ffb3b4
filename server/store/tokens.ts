import { createHash } from 'node:crypto';
import { now, type Db } from './db.ts';

/** What a token may do, weakest first (auth/scopes.ts holds the rules). */
export type Scope = 'read' | 'deploy' | 'admin';

/** A token as listed; `expiresAt` null: it never expires. */
export interface Token { name: string; keyName: string; scope: Scope; createdAt: string; lastUsedAt: string | null; expiresAt: string | null }
interface Row { name: string; key_name: string; scope: Scope; created_at: string; last_used_at: string | null; expires_at: string | null }
const toToken = (r: Row): Token => ({ name: r.name, keyName: r.key_name, scope: r.scope, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at });
const COLUMNS = 'name, key_name, scope, created_at, last_used_at, expires_at';

/**
 * Whose a presented token is, the scope it was created with, its stored hash (what work it starts
 * is tied to, and what a token it makes names as its parent) and when it expires (null: never).
 */
export interface TokenUse { keyName: string; scope: Scope; hash: string; expiresAt: string | null }

/** A token that is known but past its expiry, with its name and when it expired (for the sentence that refuses it). */
export interface ExpiredToken { name: string; keyName: string; expiresAt: string }

/** Whether an expiry (ISO time, null: never) has passed at `at` (ISO time). */
export function expiredAt(expiresAt: string | null, at: string): boolean {
  return expiresAt !== null && Date.parse(expiresAt) <= Date.parse(at);
}

/** How stale a token's last-use time may be. */
const USE_RESOLUTION_MS = 60_000;

/** Only a hash of a token is kept; the token itself is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** HTTP access tokens; each acts with the rights of the key that owns it, at most its scope. */
export function tokensStore(db: Db) {
  return {
    /**
     * Adds a token for a key unless it already has one of this name (`exists`) or `max` tokens
     * (`full`); counted and inserted in one transaction, so concurrent creations cannot pass the cap.
     * `parent`: the hash of the token that made it, if a token did.
     */
    add: (name: string, keyName: string, token: string, max = Infinity, scope: Scope = 'deploy', parent: string | null = null, expiresAt: string | null = null): 'added' | 'exists' | 'full' =>
      db.transaction((): 'added' | 'exists' | 'full' => {
        if (db.prepare('SELECT 1 FROM tokens WHERE key_name = ? AND name = ?').get(keyName, name)) return 'exists';
        const { n } = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM tokens WHERE key_name = ?').get(keyName)!;
        if (n >= max) return 'full';
        db.prepare('INSERT INTO tokens (name, hash, key_name, scope, created_at, parent, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(name, hashToken(token), keyName, scope, now(), parent, expiresAt);
        return 'added';
      }).immediate(),
    /** A key's token of this name (names are per key). */
    byName: (keyName: string, name: string): Token | undefined => {
      const r = db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM tokens WHERE key_name = ? AND name = ?`).get(keyName, name);
      return r ? toToken(r) : undefined;
    },
    /**
     * The owner and scope of a presented token, recording its use to the minute; undefined if
     * unknown or past its expiry (`expired` says which). One push makes several requests: writing
     * (and syncing) the time on each would cost more than the lookup.
     */
    use: (token: string): TokenUse | undefined => {
      const hash = hashToken(token);
      const r = db.prepare<[string], { name: string; key_name: string; scope: Scope; last_used_at: string | null; expires_at: string | null }>('SELECT name, key_name, scope, last_used_at, expires_at FROM tokens WHERE hash = ?').get(hash);
      if (!r) return undefined;
      const at = now();
      if (expiredAt(r.expires_at, at)) return undefined;
      if (!r.last_used_at || Date.parse(at) - Date.parse(r.last_used_at) >= USE_RESOLUTION_MS) {
        db.prepare('UPDATE tokens SET last_used_at = ? WHERE hash = ?').run(at, hash);
      }
      return { keyName: r.key_name, scope: r.scope, hash, expiresAt: r.expires_at };
    },
    /** The presented token if it is known and past its expiry (a refusal says so rather than "not valid"). */
    expired: (token: string): ExpiredToken | undefined => {
      const r = db.prepare<[string], { name: string; key_name: string; expires_at: string | null }>('SELECT name, key_name, expires_at FROM tokens WHERE hash = ?').get(hashToken(token));
      return r && r.expires_at !== null && expiredAt(r.expires_at, now()) ? { name: r.name, keyName: r.key_name, expiresAt: r.expires_at } : undefined;
    },
    /** Whether the token with this hash still works (not revoked, its key not removed, not expired). */
    exists: (hash: string): boolean => {
      const r = db.prepare<[string], { expires_at: string | null }>('SELECT expires_at FROM tokens WHERE hash = ?').get(hash);
      return r !== undefined && !expiredAt(r.expires_at, now());
    },
    /** When the token with this hash expires: an ISO time, null for never, undefined when there is no such token. */
    expiryOf: (hash: string): string | null | undefined =>
      db.prepare<[string], { expires_at: string | null }>('SELECT expires_at FROM tokens WHERE hash = ?').get(hash)?.expires_at,
    /** Whether the token with this hash is still there but past its expiry (what a stream it opened is told). */
    expiredHash: (hash: string): boolean => {
      const r = db.prepare<[string], { expires_at: string | null }>('SELECT expires_at FROM tokens WHERE hash = ?').get(hash);
      return r !== undefined && expiredAt(r.expires_at, now());
    },
    /** Every token, or one key's. */
    list: (keyName?: string): Token[] =>
      (keyName === undefined
        ? db.prepare<[], Row>(`SELECT ${COLUMNS} FROM tokens ORDER BY key_name, name`).all()
        : db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM tokens WHERE key_name = ? ORDER BY name`).all(keyName)
      ).map(toToken),
    /** Removes a key's token of this name, and (by the parent's cascade) every token it made, theirs too. */
    remove: (keyName: string, name: string): boolean => db.prepare('DELETE FROM tokens WHERE key_name = ? AND name = ?').run(keyName, name).changes === 1,
  };
}
