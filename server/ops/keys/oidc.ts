// OpenID Connect accounts bound to keys (keys:oidc, admins only) and the dashboard sessions they
// sign in to. An account signs in as the key an admin bound its subject (`sub`) or its verified
// email to, with that key's rights exactly as a dashboard:login link's session has them; an
// account bound to no key is refused. Unbinding, or removing the key, ends the sessions it made.
import { UserError } from '../../errors.ts';
import { label, shown } from '../../names.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';
import type { Services } from '../../context.ts';
import type { OidcBinding, OidcClaim } from '../../store/oidc.ts';
import type { OidcAccount } from '../../auth/oidc.ts';
import type { StartedSession } from '../apps/dashboard.ts';
import { LoginRefusedError } from '../apps/dashboard.ts';
import { keyScope } from '../../auth/scopes.ts';
import { MAX_SESSIONS_PER_ORIGIN, SESSION_MAX_AGE_MS, csrfToken, newSecret, secretHash, sessionEnd } from '../../auth/session.ts';
import { stopRevoked } from '../../revocation.ts';
import { recordAfter } from '../audit/recorder.ts';

/** The longest subject or email a binding takes (OpenID Connect caps `sub` at 255 ASCII characters). */
const MAX_VALUE = 255;

/**
 * The claim a value binds: `sub:VALUE` or `email:VALUE` as written; otherwise an email when it has
 * an @ (lowercased: providers differ in case, mailboxes rarely do), else a subject.
 */
export function bindingOf(raw: string): { claim: OidcClaim; value: string } {
  const m = /^(sub|email):(.*)$/s.exec(raw);
  const claim: OidcClaim = m ? (m[1] as OidcClaim) : raw.includes('@') ? 'email' : 'sub';
  const value = m ? m[2]! : raw;
  // Printable ASCII and no spaces: what `sub` is made of, and every email address Slipway matches.
  if (value.length === 0 || value.length > MAX_VALUE || !/^[\x21-\x7e]+$/.test(value)) {
    throw new UserError(`${shown(raw)} is not an OpenID Connect subject or email: use up to ${MAX_VALUE} printable characters without spaces (sub:VALUE or email:VALUE to say which).`);
  }
  if (claim === 'email' && !/^[^@]+@[^@]+$/.test(value)) throw new UserError(`${shown(value)} is not an email address.`);
  return { claim, value: claim === 'email' ? value.toLowerCase() : value };
}

/** keys:oidc KEY SUBJECT-or-EMAIL (admins only): the account signs in to the dashboard as KEY. */
export function bindOidc(actor: Actor, rawKey: string, raw: string): OidcBinding {
  requireAdmin(actor, 'Only admins may run keys:oidc.');
  const key = label('key', rawKey);
  const { claim, value } = bindingOf(raw);
  const { store } = actor.services;
  if (!store.keys.byName(key)) throw new UserError(`No key named ${shown(key)}.`);
  const r = store.oidc.bind({ claim, value, keyName: key, createdBy: actor.identity.name });
  if (typeof r === 'object') throw new UserError(`The ${claim} ${shown(value)} is bound to the key ${r.boundTo}; unbind it first (keys:oidc:remove ${claim}:${value}).`);
  return store.oidc.list(key).find((b) => b.claim === claim && b.value === value)!;
}

/** keys:oidc:remove SUBJECT-or-EMAIL (admins only): unbinds it, and at once ends the dashboard sessions it signed in to. */
export function unbindOidc(actor: Actor, raw: string): { claim: OidcClaim; value: string; key: string; sessions: number } {
  requireAdmin(actor, 'Only admins may run keys:oidc:remove.');
  const { claim, value } = bindingOf(raw);
  const r = actor.services.store.oidc.unbind(claim, value);
  if (!r) throw new UserError(`No key is bound to the ${claim} ${shown(value)}.`);
  // Now, not at the next rights round: the event streams those sessions had open end too.
  stopRevoked(actor.services);
  return { claim, value, key: r.binding.keyName, sessions: r.sessions };
}

/** keys:oidc:list (admins only): every binding, or one key's. */
export function listOidc(actor: Actor, rawKey?: string): OidcBinding[] {
  requireAdmin(actor, 'Only admins may run keys:oidc:list.');
  return actor.services.store.oidc.list(rawKey === undefined ? undefined : label('key', rawKey));
}

/** The sentence an account bound to no key is refused with. */
export function unmappedMessage(account: OidcAccount): string {
  const who = account.email !== undefined ? `${account.email} (subject ${account.sub})` : `the subject ${account.sub}`;
  return `No Slipway key is bound to ${who}: ask an admin to run keys:oidc KEY ${account.verifiedEmail ?? account.sub}.`;
}

/**
 * Signs an account the provider vouched for in to the dashboard: a session bound to the key its
 * binding names, or LoginRefusedError when no binding matches. Both are recorded in the audit log.
 */
export function startOidcSession(services: Pick<Services, 'store' | 'config' | 'audit'>, account: OidcAccount, source: string | null): StartedSession {
  const { store, config } = services;
  const binding = store.oidc.find(account.sub, account.verifiedEmail);
  const key = binding ? store.keys.byName(binding.keyName) : undefined;
  const meta = { provider: config.oidc?.issuer, sub: account.sub, ...(account.email !== undefined ? { email: account.email } : {}) };
  if (!binding || !key) {
    recordAfter(services, { actor: 'unknown', credential: 'oidc', interface: 'dashboard', source, action: 'login:oidc', outcome: 'denied', meta });
    throw new LoginRefusedError(unmappedMessage(account));
  }
  const secret = newSecret();
  const hash = secretHash(secret);
  const row = store.sessions.add({ hash, keyName: key.name, tokenHash: null, oidc: { claim: binding.claim, value: binding.value } }, { maxAgeMs: SESSION_MAX_AGE_MS, idleMs: config.sessionIdleMs, max: MAX_SESSIONS_PER_ORIGIN });
  recordAfter(services, { actor: key.name, credential: 'oidc', interface: 'dashboard', source, action: 'login:oidc', object: `${binding.claim}:${binding.value}`, outcome: 'ok', meta });
  const scope = keyScope(key.admin);
  return { key: key.name, admin: key.admin, scope, csrf: csrfToken(hash), expiresAt: new Date(sessionEnd(row, config.sessionIdleMs)).toISOString(), secret, endsAt: row.expiresAt };
}

