// Dashboard login codes (dashboard:login) and the browser sessions they start. A row is keyed by
// the SHA-256 of its secret: the code or cookie itself is never stored. Times are milliseconds
// since the epoch, read from the store's clock, which tests move forward instead of sleeping.
import type { Db } from './db.ts';
import type { Scope } from './tokens.ts';
import type { OidcClaim } from './oidc.ts';

/** Where the store reads the time; tests replace `now` to step past an expiry. */
export interface Clock {
  now(): number;
}

/** A stored session, with the scope of the token it was started with (null: none, or revoked since). */
export interface SessionRow {
  hash: string;
  keyName: string;
  /** The hash of the API token the session was started with; null for a login code's. */
  tokenHash: string | null;
  /** That token's scope as stored now; null when the session has no token or the token was revoked. */
  tokenScope: Scope | null;
  createdAt: number;
  /** The last request (to the minute: see touch). */
  seenAt: number;
  /** The absolute end, whatever the activity. */
  expiresAt: number;
  /** The OpenID Connect binding the session was signed in through (keys:oidc); null for a link's or a token's. */
  oidc: { claim: OidcClaim; value: string } | null;
  /** Whether that binding is gone (unbound, or bound to another key since): the session has ended. */
  unbound: boolean;
}

interface Row { hash: string; key_name: string; token_hash: string | null; token_scope: Scope | null; created_at: number; seen_at: number; expires_at: number; oidc_claim: OidcClaim | null; oidc_value: string | null; unbound: number }
const toSession = (r: Row): SessionRow => ({
  hash: r.hash, keyName: r.key_name, tokenHash: r.token_hash, tokenScope: r.token_scope,
  createdAt: r.created_at, seenAt: r.seen_at, expiresAt: r.expires_at,
  oidc: r.oidc_claim !== null && r.oidc_value !== null ? { claim: r.oidc_claim, value: r.oidc_value } : null, unbound: r.unbound === 1,
});

/**
 * A session with its token's scope as it counts now (NULL once the token is revoked or past its
 * expiry, `?` the time now in ISO form) and whether its OpenID Connect binding is gone.
 */
const SELECT_SESSION = `SELECT s.hash, s.key_name, s.token_hash,
    CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= ? THEN NULL ELSE t.scope END AS token_scope,
    s.created_at, s.seen_at, s.expires_at, s.oidc_claim, s.oidc_value,
    CASE WHEN s.oidc_claim IS NOT NULL AND b.key_name IS NULL THEN 1 ELSE 0 END AS unbound
  FROM sessions s LEFT JOIN tokens t ON t.hash = s.token_hash
  LEFT JOIN oidc_bindings b ON b.claim = s.oidc_claim AND b.value = s.oidc_value AND b.key_name = s.key_name`;

/** How stale a session's last-request time may be: writing (and syncing) it on every request would cost more than the request. */
export const SEEN_RESOLUTION_MS = 60_000;

/** Login codes and sessions; every write that adds a row also drops what expired and what is over its cap. */
export function sessionsStore(db: Db, clock: Clock = { now: () => Date.now() }) {
  /** Drops a key's oldest login codes beyond `max`. */
  const trimCodes = (keyName: string, max: number) => {
    db.prepare('DELETE FROM login_codes WHERE key_name = ? AND hash NOT IN (SELECT hash FROM login_codes WHERE key_name = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)')
      .run(keyName, keyName, max);
  };
  /**
   * Drops the oldest sessions beyond `max` of one login origin: a key's sessions from login links
   * (token_hash NULL), or those one token started. `IS` compares NULL with NULL as equal.
   */
  const trimSessions = (keyName: string, tokenHash: string | null, max: number) => {
    db.prepare(`DELETE FROM sessions WHERE key_name = ? AND token_hash IS ? AND hash NOT IN
      (SELECT hash FROM sessions WHERE key_name = ? AND token_hash IS ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`)
      .run(keyName, tokenHash, keyName, tokenHash, max);
  };
  return {
    clock,
    /** Stores a login code for `keyName`, valid `ttlMs`; at most `max` live codes per key, the oldest dropped. Returns when it expires. */
    addCode: (hash: string, keyName: string, ttlMs: number, max: number): number =>
      db.transaction(() => {
        const at = clock.now();
        db.prepare('DELETE FROM login_codes WHERE expires_at <= ?').run(at);
        db.prepare('INSERT INTO login_codes (hash, key_name, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hash, keyName, at, at + ttlMs);
        trimCodes(keyName, max);
        return at + ttlMs;
      }).immediate(),
    /** The key a login code is for and when it expires, without using it up; undefined when it is unknown or expired. */
    peekCode: (hash: string): { keyName: string; expiresAt: number } | undefined => {
      const r = db.prepare<[string, number], { key_name: string; expires_at: number }>('SELECT key_name, expires_at FROM login_codes WHERE hash = ? AND expires_at > ?').get(hash, clock.now());
      return r ? { keyName: r.key_name, expiresAt: r.expires_at } : undefined;
    },
    /** Uses up a login code: it is deleted whatever its state, and its key returned only if it had not expired. */
    takeCode: (hash: string): string | undefined =>
      db.transaction(() => {
        const r = db.prepare<[string], { key_name: string; expires_at: number }>('DELETE FROM login_codes WHERE hash = ? RETURNING key_name, expires_at').get(hash);
        return r && r.expires_at > clock.now() ? r.key_name : undefined;
      }).immediate(),
    /** A key's live login codes (for tests and the caps). */
    codeCount: (keyName: string): number =>
      db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM login_codes WHERE key_name = ? AND expires_at > ?').get(keyName, clock.now())!.n,
    /**
     * Stores a session lasting at most `maxAgeMs`; drops sessions past their end or idle for
     * `idleMs`, and the oldest beyond `max` of its login origin (the key's login links, or its
     * token), never another origin's. Returns the stored row.
     */
    add: (s: { hash: string; keyName: string; tokenHash: string | null; oidc?: { claim: OidcClaim; value: string } }, opts: { maxAgeMs: number; idleMs: number; max: number }): SessionRow =>
      db.transaction(() => {
        const at = clock.now();
        db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR seen_at <= ?').run(at, at - opts.idleMs);
        db.prepare('INSERT INTO sessions (hash, key_name, token_hash, created_at, seen_at, expires_at, oidc_claim, oidc_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(s.hash, s.keyName, s.tokenHash, at, at, at + opts.maxAgeMs, s.oidc?.claim ?? null, s.oidc?.value ?? null);
        trimSessions(s.keyName, s.tokenHash, opts.max);
        return { hash: s.hash, keyName: s.keyName, tokenHash: s.tokenHash, tokenScope: null, createdAt: at, seenAt: at, expiresAt: at + opts.maxAgeMs, oidc: s.oidc ?? null, unbound: false };
      }).immediate(),
    /** The session with this hash, with its token's current scope; expiry is the caller's rule (auth/session.ts). */
    get: (hash: string): SessionRow | undefined => {
      const r = db.prepare<[string, string], Row>(`${SELECT_SESSION} WHERE s.hash = ?`).get(new Date(clock.now()).toISOString(), hash);
      return r ? toSession(r) : undefined;
    },
    /** Records a request on the session, at most once per SEEN_RESOLUTION_MS; returns the last-request time now stored. */
    touch: (row: SessionRow): number => {
      const at = clock.now();
      if (at - row.seenAt < SEEN_RESOLUTION_MS) return row.seenAt;
      db.prepare('UPDATE sessions SET seen_at = ? WHERE hash = ?').run(at, row.hash);
      return at;
    },
    /** A key's sessions (any state), newest first. */
    list: (keyName: string): SessionRow[] =>
      db.prepare<[string, string], Row>(`${SELECT_SESSION} WHERE s.key_name = ? ORDER BY s.created_at DESC, s.rowid DESC`).all(new Date(clock.now()).toISOString(), keyName).map(toSession),
    /** Deletes a session (logout, or found expired); true if it was there. */
    remove: (hash: string): boolean => db.prepare('DELETE FROM sessions WHERE hash = ?').run(hash).changes === 1,
  };
}
