// The browser side of dashboard sessions, as pure functions over header values: the cookie, whether
// a request came over HTTPS (a proxy's word counts only from an address we trust), and whether a
// request comes from our own pages rather than another site's.
import { BlockList, isIP } from 'node:net';

/**
 * The session cookie's name over HTTPS. The `__Host-` prefix makes browsers accept it only Secure,
 * with Path=/ and no Domain, from this very host: an app on a sibling host (APP.BASE_DOMAIN, next
 * to slipway.BASE_DOMAIN) can neither set one for the dashboard's host nor replace ours.
 */
export const HOST_SESSION_COOKIE = '__Host-slipway_session';

/**
 * The session cookie's name over plain HTTP, where `__Host-` is impossible (it needs Secure, which
 * a browser refuses to set from an http:// page). Any host under a shared parent domain can set a
 * cookie of this name for the dashboard: docs/security.md says what the operator must do.
 */
export const PLAIN_SESSION_COOKIE = 'slipway_session';

/** The session cookie's name for a request that came over HTTPS, or over plain HTTP. */
export function sessionCookieName(https: boolean): string {
  return https ? HOST_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

/** Every value of cookie `name` in a Cookie header, in the order sent (quotes taken off). */
export function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    values.push(value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value);
  }
  return values;
}

/** What a request's Cookie header says of its session: none, the secret to look up, or a refusal. */
export type SessionCookieFound = undefined | { secret: string } | { refused: string };

/**
 * The session secret a request carries. Two or more session cookies (of either name) are refused:
 * a browser sends every cookie whose domain and path match, so a second one was set by someone
 * else (an app on a sibling host, with Domain=PARENT or a longer Path so it is sent first) to log
 * the browser in as another key or out of its own; neither is used. Otherwise the cookie of the
 * request's own name counts: over HTTPS only `__Host-slipway_session`, so a lone
 * `slipway_session` tossed in by a sibling host is no session at all.
 */
export function sessionSecret(header: string | undefined, https: boolean): SessionCookieFound {
  const host = cookieValues(header, HOST_SESSION_COOKIE);
  const plain = cookieValues(header, PLAIN_SESSION_COOKIE);
  const count = host.length + plain.length;
  if (count >= 2) return { refused: `This request carries ${count} Slipway session cookies, so none of them is used: a site under the same parent domain (an app's) may have set one; clear this site's cookies in the browser and log in again.` };
  const secret = (https ? host : plain)[0];
  return secret === undefined ? undefined : { secret };
}

/**
 * The Set-Cookie values for a session: never readable by scripts (HttpOnly), never sent by another
 * site's requests (SameSite=Strict), for the whole server (the API and the dashboard's pages).
 * Over HTTPS it is `__Host-slipway_session`, Secure, and a `slipway_session` this host set over
 * plain HTTP before is cleared (else the browser would send both, which is refused); over plain
 * HTTP it is `slipway_session`. `maxAgeS` 0 clears it.
 */
export function sessionCookies(secret: string, opts: { secure: boolean; maxAgeS: number }): string[] {
  const attrs = (name: string, value: string, maxAgeS: number, secure: boolean) =>
    [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(maxAgeS))}`, ...(secure ? ['Secure'] : [])].join('; ');
  const own = attrs(sessionCookieName(opts.secure), secret, opts.maxAgeS, opts.secure);
  return opts.secure ? [own, attrs(PLAIN_SESSION_COOKIE, '', 0, true)] : [own];
}

/** The Set-Cookie values that remove the session cookie. */
export function clearedSessionCookies(secure: boolean): string[] {
  return sessionCookies('', { secure, maxAgeS: 0 });
}

/** An address as BlockList checks it: IPv4-mapped IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports) as IPv4. */
export function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const a = mapped ?? address;
  const family = isIP(a);
  return family === 4 ? { address: a, family: 'ipv4' } : family === 6 ? { address: a, family: 'ipv6' } : undefined;
}

/** The addresses whose X-Forwarded-Proto is believed: loopback, and the CIDRs given (the cluster's pods and nodes, where the ingress runs). */
export function trustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('::1', 128, 'ipv6');
  for (const c of cidrs) {
    const [addr = '', bits = ''] = c.split('/');
    const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(addr, Number(bits || (family === 'ipv4' ? 32 : 128)), family);
  }
  return list;
}

/**
 * Whether the request reached us over HTTPS: our own TLS, or a trusted proxy's X-Forwarded-Proto
 * (its last value: the one the proxy next to us wrote). Anyone else's header is ignored, or a
 * client could make a plain-HTTP response set a cookie it marks Secure, or the reverse.
 */
export function cameOverHttps(req: { encrypted: boolean; remoteAddress: string | undefined; forwardedProto: string | string[] | undefined }, trusted: BlockList): boolean {
  if (req.encrypted) return true;
  const from = plainAddress(req.remoteAddress ?? '');
  if (!from || !trusted.check(from.address, from.family)) return false;
  const raw = [req.forwardedProto ?? []].flat().join(',');
  const last = raw.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean).at(-1);
  return last === 'https';
}

/**
 * Why a browser request must not use the session cookie, or undefined when it may: it comes from
 * another site (Sec-Fetch-Site `cross-site` or `same-site`), or names an Origin that is neither
 * this server as the request addressed it nor the configured dashboard. Requests without either
 * header (not from a browser page's script) pass; they still need the CSRF token to change anything.
 */
export function crossSiteRefusal(req: { origin: string | undefined; fetchSite: string | undefined; host: string | undefined; https: boolean }, dashboardOrigin: string | undefined): string | undefined {
  const site = req.fetchSite?.toLowerCase();
  if (site === 'cross-site' || site === 'same-site') return `Requests from another site may not use the dashboard session (Sec-Fetch-Site: ${site}).`;
  if (req.origin === undefined) return undefined;
  const own = new Set<string>();
  if (req.host) own.add(`${req.https ? 'https' : 'http'}://${req.host}`.toLowerCase());
  if (dashboardOrigin) own.add(dashboardOrigin.toLowerCase());
  if (own.has(req.origin.toLowerCase())) return undefined;
  return 'Requests from another origin may not use the dashboard session.';
}
