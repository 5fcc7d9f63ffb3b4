// Logging in to the dashboard without a password: dashboard:login gives a key a one-time code
// (valid 60 s) in a link; the login page first shows whom the code logs in as (describeLoginCode,
// which does not use it up) and trades it for a session cookie only when the user confirms, so a
// link someone else sent does not log the browser in as their key unasked. An API token is traded
// the same way. Logging out deletes the session and stops the event streams it had open.
import { ForbiddenError, UserError } from '../../errors.ts';
import { label, shown } from '../../names.ts';
import { dashboardUrl } from '../../urls.ts';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import type { Actor } from '../actor.ts';
import type { LoginCodeInfo, Session } from '../../shapes/session.ts';
import { keyScope, lowerScope, type Scope } from '../../auth/scopes.ts';
import {
  MAX_LOGIN_CODES_PER_KEY, MAX_SESSIONS_PER_ORIGIN, SESSION_MAX_AGE_MS,
  csrfToken, newSecret, secretHash, sessionEnd, wellFormedSecret,
} from '../../auth/session.ts';
import { stopRevoked } from '../../revocation.ts';

/** A login link: shown once to the key's owner; only the code's hash is stored. */
export interface LoginLink {
  key: string;
  url: string;
  expiresAt: string;
}

/** dashboard:login: a one-time login link for the actor's key (admins: `key`'s). */
export function createLoginLink(actor: Actor, key?: string): LoginLink {
  const { store, config } = actor.services;
  let owner: string;
  if (key !== undefined) {
    owner = label('key', key);
    if (owner !== actor.identity.name && !actor.identity.admin) throw new ForbiddenError('Only admins may make a login link for another key.');
    if (!store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
  } else {
    if (actor.identity.via === 'local') throw new UserError('From the local CLI, name the key to log in as: dashboard:login --key KEYNAME');
    owner = actor.identity.name;
  }
  const code = newSecret();
  const expires = store.sessions.addCode(secretHash(code), owner, config.loginLinkTtlMs, MAX_LOGIN_CODES_PER_KEY);
  // In the fragment: browsers send neither it nor its page's fragment to the server (no access
  // log has it) nor in a Referer; the login page reads it and posts it.
  return { key: owner, url: `${dashboardUrl(config)}/login#code=${code}`, expiresAt: new Date(expires).toISOString() };
}

/** Why a login was refused: the one sentence a 401 says. */
export class LoginRefusedError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'LoginRefusedError';
  }
}

const INVALID_LINK = 'That login link is not valid: it was used already, it expired (links last 60 s), or it was never issued; run dashboard:login again.';

/**
 * Whom a login link's code logs in as (the key, its rights and its SSH key's fingerprint), for the
 * page that asks "log in as KEY?" first; the code is not used up. Refused like a wrong code.
 */
export function describeLoginCode(services: Pick<Services, 'store'>, code: string): LoginCodeInfo {
  const { store } = services;
  const found = wellFormedSecret(code) ? store.sessions.peekCode(secretHash(code)) : undefined;
  if (!found) throw new LoginRefusedError(INVALID_LINK);
  const key = store.keys.byName(found.keyName);
  if (!key) throw new LoginRefusedError('The key this login was for has been removed.');
  return { key: key.name, admin: key.admin, keyType: key.type, fingerprint: key.fingerprint, expiresAt: new Date(found.expiresAt).toISOString() };
}

/** A new session: its info, and the secret that goes into the cookie (never stored). */
export interface StartedSession extends Session {
  secret: string;
  /** The session's absolute end, for the cookie's lifetime. */
  endsAt: number;
}

/**
 * Starts a session for a login code (used up here, valid or not) or an API token; refused with
 * LoginRefusedError for a code that is unknown, used or expired, or a token that is not valid.
 */
export function startSession(services: Pick<Services, 'store' | 'config'>, credential: { code?: string; token?: string }): StartedSession {
  const { store, config } = services;
  const { code, token } = credential;
  if ((code === undefined) === (token === undefined)) throw new UserError('Send either "code" (from dashboard:login) or "token" (an access token), not both.');
  let keyName: string | undefined;
  let tokenHash: string | null = null;
  let tokenScope: Scope | undefined;
  if (code !== undefined) {
    keyName = wellFormedSecret(code) ? store.sessions.takeCode(secretHash(code)) : undefined;
    if (!keyName) throw new LoginRefusedError(INVALID_LINK);
  } else {
    const used = store.tokens.use(token!);
    if (!used) {
      const gone = store.tokens.expired(token!);
      throw new LoginRefusedError(gone ? `That token expired at ${gone.expiresAt}; make a new one with tokens:create.` : 'That token is not valid (revoked, or its key was removed).');
    }
    keyName = used.keyName;
    tokenHash = secretHash(token!);
    tokenScope = used.scope;
  }
  const key = store.keys.byName(keyName);
  if (!key) throw new LoginRefusedError('The key this login was for has been removed.');
  const secret = newSecret();
  const hash = secretHash(secret);
  const row = store.sessions.add({ hash, keyName: key.name, tokenHash }, { maxAgeMs: SESSION_MAX_AGE_MS, idleMs: config.sessionIdleMs, max: MAX_SESSIONS_PER_ORIGIN });
  const scope = tokenScope === undefined ? keyScope(key.admin) : lowerScope(tokenScope, keyScope(key.admin));
  return {
    key: key.name, admin: scope === 'admin', scope, csrf: csrfToken(hash),
    expiresAt: new Date(sessionEnd(row, config.sessionIdleMs)).toISOString(), secret, endsAt: row.expiresAt,
  };
}

/** The caller's session as GET /session shows it; undefined when the caller did not come with a session (a Bearer token). */
export function currentSession(services: Pick<Services, 'store' | 'config'>, identity: Identity): Session | undefined {
  if (identity.session === undefined) return undefined;
  const row = services.store.sessions.get(identity.session);
  if (!row) return undefined;
  return {
    key: identity.name, admin: identity.admin, scope: identity.scope ?? keyScope(identity.admin), csrf: csrfToken(row.hash),
    expiresAt: new Date(sessionEnd(row, services.config.sessionIdleMs)).toISOString(),
  };
}

/** Logout: deletes the caller's session and at once stops the event streams it had open; false if it had none. */
export function endSession(services: Pick<Services, 'store' | 'config' | 'pushes' | 'sessions'>, identity: Identity): boolean {
  if (identity.session === undefined) return false;
  const removed = services.store.sessions.remove(identity.session);
  stopRevoked(services);
  return removed;
}
