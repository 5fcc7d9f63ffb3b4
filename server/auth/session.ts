// Dashboard sessions: the secrets (one-time login codes, session cookies, CSRF tokens), their
// lifetimes and caps, and the rule that turns a stored session into the identity it acts as, with
// its key's rights as the store has them now (as for a token: a removed key ends it at once).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from './identity.ts';
import { keyScope, lowerScope, type Scope } from './scopes.ts';
import type { Store } from '../store/index.ts';
import type { SessionRow } from '../store/sessions.ts';

/** Live login codes one key may have; a new one drops the oldest. */
export const MAX_LOGIN_CODES_PER_KEY = 10;
/**
 * Sessions one login origin may have: a key's login links together, or one access token. A new
 * one ends that origin's oldest, never another's, so a leaked token opening sessions without end
 * ends only sessions it started itself (which its revocation ends anyway), not its owner's.
 */
export const MAX_SESSIONS_PER_ORIGIN = 20;
/** The longest a session lasts, however active. */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;

/** A new secret (a login code or a session cookie): 256 random bits, URL- and cookie-safe. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the store keeps of a secret: its SHA-256, hex. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * The CSRF token of a session, derived from its stored hash: a page on another site cannot know
 * it (it never sees the cookie nor the database), and the server need not store a second secret.
 */
export function csrfToken(sessionHash: string): string {
  return createHash('sha256').update('slipway csrf\0').update(sessionHash).digest('base64url');
}

/** Whether a presented secret equals the expected one, in time that does not depend on where they differ. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  // Hashed first, so both sides have the same length and the length of `given` tells nothing.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether a secret has the shape newSecret makes, so anything else is refused before a look-up. */
export function wellFormedSecret(raw: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(raw);
}

/** When a session ends if it sees no further request: idle expiry, capped by its absolute end. */
export function sessionEnd(row: Pick<SessionRow, 'seenAt' | 'expiresAt'>, idleMs: number): number {
  return Math.min(row.expiresAt, row.seenAt + idleMs);
}

/** A session that still counts, with who it acts as and when it ends if left idle. */
export interface LiveSession {
  identity: Identity;
  csrf: string;
  expiresAt: number;
}

/**
 * The identity a session acts as, or undefined when it has ended: expired (idle or absolute), its
 * key removed, the token it was started with revoked or expired, or the OpenID Connect binding it
 * signed in through removed. A code's (or an OpenID Connect account's) session acts with its key's
 * whole rights; a token's with the lower of the token's scope and its key's rights, as the token would.
 */
export function sessionIdentity(store: Pick<Store, 'keys' | 'sessions'>, row: SessionRow, idleMs: number): Identity | undefined {
  const key = store.keys.byName(row.keyName);
  if (!key || sessionEnd(row, idleMs) <= store.sessions.clock.now()) return undefined;
  // The token it was started with was revoked or expired; the OpenID Connect binding it signed in through was removed.
  if ((row.tokenHash !== null && row.tokenScope === null) || row.unbound) return undefined;
  const scope: Scope = row.tokenScope === null ? keyScope(key.admin) : lowerScope(row.tokenScope, keyScope(key.admin));
  return { name: key.name, admin: scope === 'admin', via: 'http', scope, allApps: key.admin, session: row.hash, ...(row.tokenHash !== null ? { token: row.tokenHash } : {}) };
}

/**
 * Resolves a session cookie's secret to a live session, recording the request (which moves its
 * idle expiry on); a session found ended is deleted. Undefined when there is none.
 */
export function useSession(store: Pick<Store, 'keys' | 'sessions'>, secret: string, idleMs: number): LiveSession | undefined {
  if (!wellFormedSecret(secret)) return undefined;
  const row = store.sessions.get(secretHash(secret));
  if (!row) return undefined;
  const identity = sessionIdentity(store, row, idleMs);
  if (!identity) {
    store.sessions.remove(row.hash);
    return undefined;
  }
  const seenAt = store.sessions.touch(row);
  return { identity, csrf: csrfToken(row.hash), expiresAt: sessionEnd({ seenAt, expiresAt: row.expiresAt }, idleMs) };
}

/** Whether the session with this hash still counts (for work it started that keeps running); does not move its expiry. */
export function sessionLive(store: Pick<Store, 'keys' | 'sessions'>, hash: string, idleMs: number): boolean {
  const row = store.sessions.get(hash);
  return row !== undefined && sessionIdentity(store, row, idleMs) !== undefined;
}
