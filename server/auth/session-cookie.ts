// The browser side of dashboard sessions, as pure functions over header values: the cookie, whether
// a request came over HTTPS (a proxy's word counts only from an address we trust), and whether a
// request comes from our own pages rather than another site's.
import { BlockList, isIP } from 'node:net';

/** The session cookie's name. */
export const SESSION_COOKIE = 'slipway_session';

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string = SESSION_COOKIE): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return undefined;
}

/**
 * The Set-Cookie value for a session: never readable by scripts (HttpOnly), never sent by another
 * site's requests (SameSite=Strict), for the whole server (the API and the dashboard's pages),
 * and over HTTPS only when the request came over HTTPS. `maxAgeS` 0 clears it.
 */
export function sessionCookie(secret: string, opts: { secure: boolean; maxAgeS: number }): string {
  return [`${SESSION_COOKIE}=${secret}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeS))}`, ...(opts.secure ? ['Secure'] : [])].join('; ');
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeS: 0 });
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
