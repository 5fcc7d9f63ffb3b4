// HTTP credentials, for git smart HTTP (Basic, the token as password) and the API (Bearer): both
// resolve a token to its key as the store has it now, so a removed key's tokens stop at once.
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { keyScope, lowerScope } from '../../auth/scopes.ts';
import { sameSecret, useSession } from '../../auth/session.ts';
import { cameOverHttps, clearedSessionCookies, crossSiteRefusal, sessionSecret, trustedProxies } from '../../auth/session-cookie.ts';
import { dashboardUrl } from '../../urls.ts';

/** The identity a token acts as: its key, with the lower of the token's scope and the key's rights. */
export function tokenIdentity(services: Services, token: string): Identity | undefined {
  if (!token) return undefined;
  const used = services.store.tokens.use(token);
  const key = used ? services.store.keys.byName(used.keyName) : undefined;
  if (!used || !key) return undefined;
  const scope = lowerScope(used.scope, keyScope(key.admin));
  return { name: key.name, admin: scope === 'admin', via: 'http', scope, allApps: key.admin, token: used.hash, ...(used.expiresAt !== null ? { tokenExpiresAt: used.expiresAt } : {}) };
}

/** The header every authenticated API answer carries when the request's token expires: when (ISO time), for clients to warn ahead. */
export const TOKEN_EXPIRES_HEADER = 'slipway-token-expires';

/** The sentence a token past its expiry is refused with, or undefined when the token is not one. */
export function expiredTokenMessage(services: Services, token: string | undefined): string | undefined {
  const gone = token ? services.store.tokens.expired(token) : undefined;
  return gone && `The token ${gone.name} expired at ${gone.expiresAt}; make a new one (ssh git@HOST tokens:create NAME --ttl 30d, or slipway login).`;
}

/** The token of an `Authorization: Basic` header (any user name, the token as password). */
export function basicToken(header: string | undefined): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}

/** The token of an `Authorization: Bearer` header (RFC 6750's token68 characters). */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/-]{1,512}=*)$/i.exec(header ?? '')?.[1];
}

/** The request parts a dashboard session is checked against. */
export interface BrowserRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  encrypted: boolean;
  remoteAddress: string | undefined;
}

/** The outcome of a request's session cookie: the identity, or the status and sentence it is refused with. */
export type CookieAuth =
  | { identity: Identity }
  | { status: 400 | 401 | 403; message: string; headers: Record<string, string> };

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Methods that change nothing, and so need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Checks the request's session cookie; undefined when it has none (over HTTPS, a plain
 * `slipway_session` alone is none). Two or more session cookies are refused (400) and the request
 * acts as no one: 400 rather than 401, so the dashboard shows the sentence instead of its login
 * page, where logging in again would not help while the other cookie is there. A request from
 * another site is refused before the session is looked at; an ended session is 401 (and the
 * cookie cleared); a request that may change something must carry the session's CSRF token.
 */
export function cookieIdentity(services: Services, req: BrowserRequest, proxies: ReturnType<typeof trustedProxies>): CookieAuth | undefined {
  const https = requestIsHttps(req, proxies);
  const found = sessionSecret(one(req.headers.cookie), https);
  if (found === undefined) return undefined;
  const why = crossSiteRefusal({ origin: one(req.headers.origin), fetchSite: one(req.headers['sec-fetch-site']), host: one(req.headers.host), https }, new URL(dashboardUrl(services.config)).origin);
  if (why) return { status: 403, message: why, headers: {} };
  if ('refused' in found) return { status: 400, message: found.refused, headers: {} };
  const live = useSession(services.store, found.secret, services.config.sessionIdleMs);
  if (!live) {
    return { status: 401, message: 'Your dashboard session has ended (logged out, expired, or its key was removed); log in again with ssh git@HOST dashboard:login.', headers: { 'set-cookie': clearedSessionCookies(https)[0]! } };
  }
  if (!SAFE_METHODS.has(req.method) && !sameSecret(one(req.headers['x-csrf-token']), live.csrf)) {
    return { status: 403, message: "A change made with the dashboard session needs the session's X-CSRF-Token header.", headers: {} };
  }
  return { identity: live.identity };
}

/** Whether the request came over HTTPS (our TLS, or a trusted proxy's X-Forwarded-Proto). */
export function requestIsHttps(req: BrowserRequest, proxies: ReturnType<typeof trustedProxies>): boolean {
  return cameOverHttps({ encrypted: req.encrypted, remoteAddress: req.remoteAddress, forwardedProto: req.headers['x-forwarded-proto'] }, proxies);
}

/** Why a browser page of another site may not send this request (a login), or undefined. */
export function crossSiteLogin(services: Services, req: BrowserRequest, proxies: ReturnType<typeof trustedProxies>): string | undefined {
  const https = requestIsHttps(req, proxies);
  return crossSiteRefusal({ origin: one(req.headers.origin), fetchSite: one(req.headers['sec-fetch-site']), host: one(req.headers.host), https }, new URL(dashboardUrl(services.config)).origin);
}

/** The addresses whose X-Forwarded-Proto counts: loopback, the cluster's pods (the ingress) and its nodes. */
export function proxiesOf(services: Services): ReturnType<typeof trustedProxies> {
  return trustedProxies([...services.config.network.podCidrs, ...services.config.network.nodeAddresses]);
}
