// The dashboard's OpenID Connect sign-in on the HTTP port, beside the dashboard's pages: GET
// /login/oidc sends the browser to the provider (authorization code flow, PKCE, state, nonce) and
// GET /login/oidc/callback takes it back, trades the code, and starts a session bound to the key
// the account's binding names (ops/keys/oidc.ts), set as the same cookie a login link's session has.
// Browser navigations rather than API routes: the provider redirects to a page, not to a JSON call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { dashboardUrl } from '../../urls.ts';
import { beginSignIn, finishSignIn, providerRefused, type OidcFlow } from '../../auth/oidc.ts';
import { newSecret, secretHash, wellFormedSecret } from '../../auth/session.ts';
import { cookieValues, sessionCookies } from '../../auth/session-cookie.ts';
import { LoginRefusedError } from '../../ops/apps/dashboard.ts';
import { startOidcSession } from '../../ops/keys/oidc.ts';
import { proxiesOf, requestIsHttps } from './auth.ts';
import { SECURITY_HEADERS } from './dashboard.ts';
import { sourceOf } from '../source.ts';

export const OIDC_START = '/login/oidc';
export const OIDC_CALLBACK = '/login/oidc/callback';

/** How long a sign-in may take at the provider before its return is refused. */
export const FLOW_TTL_MS = 10 * 60_000;
/** Sign-ins under way at once; a new one past it drops the oldest (each holds a few hundred bytes). */
export const MAX_FLOWS = 10_000;

/**
 * The cookie that ties a provider's return to the browser that set off: without it an attacker
 * could hand a victim a callback URL with the attacker's own code and log them in as the attacker.
 * SameSite=Lax, not Strict: the return is a navigation from the provider's site, which a Strict
 * cookie would not go with.
 */
const FLOW_COOKIE = { https: '__Host-slipway_oidc', plain: 'slipway_oidc' } as const;

/** The page to land on after sign-in: a path of ours (not `//host`, not `/\host`), else the apps page. */
export function landingPage(raw: string | null): string {
  return raw !== null && /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(raw) ? raw : '/apps';
}

/** A small page with one sentence and the way back, for a sign-in that did not end in a session. */
function page(res: ServerResponse, status: number, sentence: string, headers: Record<string, string | string[]> = {}): void {
  const text = sentence.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused · Slipway</title></head>\n<body><main><h1>Sign-in refused</h1><p id="reason">${text}</p><p><a href="/login">Back to the login page</a></p></main></body></html>\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** The sign-in's handler: which paths are its, and how it answers them. */
export interface OidcSignIn {
  owns(method: string | undefined, pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void;
}

/** The handler for one server; the flows under way live in its memory (a restart asks the user to start again). */
export function oidcSignIn(services: Services): OidcSignIn {
  const flows = new Map<string, OidcFlow>();
  const proxies = proxiesOf(services);
  const overHttps = (req: IncomingMessage) => requestIsHttps({ method: req.method ?? 'GET', headers: req.headers, encrypted: (req.socket as { encrypted?: boolean }).encrypted === true, remoteAddress: req.socket.remoteAddress }, proxies);
  const redirectUri = () => `${dashboardUrl(services.config)}${OIDC_CALLBACK}`;

  const keep = (hash: string, flow: OidcFlow) => {
    const now = Date.now();
    for (const [h, f] of flows) if (f.expiresAt <= now) flows.delete(h);
    // Oldest first: a Map iterates in insertion order.
    while (flows.size >= MAX_FLOWS) flows.delete(flows.keys().next().value!);
    flows.set(hash, flow);
  };

  const start = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const settings = services.config.oidc!;
    const https = overHttps(req);
    const { url: to, flow } = await beginSignIn(settings, redirectUri(), landingPage(url.searchParams.get('next')), FLOW_TTL_MS);
    const secret = newSecret();
    keep(secretHash(secret), flow);
    const cookie = [`${https ? FLOW_COOKIE.https : FLOW_COOKIE.plain}=${secret}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${FLOW_TTL_MS / 1000}`, ...(https ? ['Secure'] : [])].join('; ');
    res.writeHead(302, { location: to, 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end();
  };

  const callback = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const settings = services.config.oidc!;
    const https = overHttps(req);
    const name = https ? FLOW_COOKIE.https : FLOW_COOKIE.plain;
    const cleared = `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${https ? '; Secure' : ''}`;
    const secrets = cookieValues(req.headers.cookie, name);
    const secret = secrets.length === 1 && wellFormedSecret(secrets[0]!) ? secrets[0]! : undefined;
    const flow = secret === undefined ? undefined : flows.get(secretHash(secret));
    if (secret !== undefined) flows.delete(secretHash(secret));
    if (!flow || flow.expiresAt <= Date.now()) {
      return page(res, 400, 'This sign-in was not started in this browser, or took longer than 10 minutes: start again from the login page.', { 'set-cookie': cleared });
    }
    let account;
    try {
      // The callback as the provider was told it (SLIPWAY_DASHBOARD_URL), with what the browser brought.
      account = await finishSignIn(settings, new URL(`${redirectUri()}${url.search}`), flow);
    } catch (err) {
      const said = providerRefused(err);
      if (said === undefined) throw err;
      log.warn('openid connect sign-in refused by the provider', { err });
      return page(res, 403, said, { 'set-cookie': cleared });
    }
    let session;
    try {
      session = startOidcSession(services, account, sourceOf(req.socket.remoteAddress ?? 'unknown'));
    } catch (err) {
      if (!(err instanceof LoginRefusedError)) throw err;
      return page(res, 403, err.message, { 'set-cookie': cleared });
    }
    const maxAgeS = (session.endsAt - services.store.sessions.clock.now()) / 1000;
    res.writeHead(302, { location: flow.next, 'set-cookie': [...sessionCookies(session.secret, { secure: https, maxAgeS }), cleared], 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end();
  };

  return {
    owns: (method, pathname) => (method === 'GET' || method === 'HEAD') && (pathname === OIDC_START || pathname === OIDC_CALLBACK),
    handle: (req, res, url) => {
      if (!services.config.oidc) return page(res, 404, 'This server has no OpenID Connect sign-in (SLIPWAY_OIDC_ISSUER is not set).');
      const run = url.pathname === OIDC_START ? start : callback;
      run(req, res, url).catch((err: unknown) => {
        // The provider cannot be reached, or answered what the library refuses: logged, and one sentence.
        log.error('openid connect sign-in failed', { err });
        if (!res.headersSent) page(res, 502, 'The sign-in could not be completed: the OpenID Connect provider could not be reached or answered something unexpected; try again, or use the SSH-key link.');
        else res.destroy();
      });
    },
  };
}
