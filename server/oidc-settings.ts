// The settings of tokens that expire and of the dashboard's OpenID Connect sign-in (issue 41),
// parsed for server/config.ts (which reads them, with every other setting, from the environment).
import { UserError } from './errors.ts';
import { parseDuration } from './durations.ts';
import { readPrivateFile } from './private-file.ts';

/** The OpenID Connect provider the dashboard offers sign-in with. */
export interface OidcSettings {
  /** The issuer URL, as its discovery document names it (no trailing slash). */
  issuer: string;
  clientId: string;
  /** The client secret; undefined for a public client (PKCE alone). */
  clientSecret: string | undefined;
  /** What the login page's button says after "Sign in with". */
  name: string;
}

/** SLIPWAY_TOKEN_MAX_TTL: the longest lifetime a token may have (`90d`); unset, none. */
export function tokenMaxTtl(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UserError(`${name} must be a lifetime like 90d, 12h or 3600 (seconds), got "${raw}".`);
  return ms;
}

/** Whether a URL's host is this machine, the one place a setting's URL may be plain http (tests, a provider or bucket beside the server). */
export function loopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * SLIPWAY_OIDC_ISSUER: an https:// URL (http:// only on loopback): the ID tokens and the discovery
 * document come from there, so a plain-HTTP issuer elsewhere would let anyone on the path sign in.
 */
export function oidcIssuer(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // Not a URL at all: the sentence below says what is wanted.
    url = undefined;
  }
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback(url))) || url.search || url.hash || url.username || url.password) {
    throw new UserError(`${name} must be the provider's https:// issuer URL like https://accounts.example.com (http:// only on loopback), got "${raw}".`);
  }
  return url.href.replace(/\/+$/, '');
}

/** SLIPWAY_OIDC_CLIENT_SECRET_FILE: a file holding the secret, readable by its owner only. */
export function secretFile(given: string | undefined, name: string): string | undefined {
  if (!given) return undefined;
  // The secret lets anyone trade a stolen authorization code: a file others may read is refused.
  const { path, content } = readPrivateFile(given, name);
  const secret = content.trim();
  if (!secret || secret.includes('\n')) throw new UserError(`${name} ${path} must hold the client secret on one line.`);
  return secret;
}

/** The OpenID Connect settings as one, checked together: an issuer needs a client id, and the secret is given at most once. */
export function oidcSettings(raw: { issuer: string | undefined; clientId: string | undefined; clientSecret: string | undefined; clientSecretFile: string | undefined; name: string | undefined }): Readonly<OidcSettings> | undefined {
  const { issuer, clientId, clientSecret, clientSecretFile, name } = raw;
  if (issuer === undefined) {
    if (clientId !== undefined || clientSecret !== undefined || clientSecretFile !== undefined) throw new UserError('SLIPWAY_OIDC_CLIENT_ID and its secret need SLIPWAY_OIDC_ISSUER, the provider they were registered with.');
    return undefined;
  }
  if (clientId === undefined) throw new UserError('SLIPWAY_OIDC_ISSUER needs SLIPWAY_OIDC_CLIENT_ID, the client id the provider gave Slipway.');
  if (clientSecret !== undefined && clientSecretFile !== undefined) throw new UserError('Set SLIPWAY_OIDC_CLIENT_SECRET or SLIPWAY_OIDC_CLIENT_SECRET_FILE, not both.');
  return Object.freeze({ issuer, clientId, clientSecret: clientSecret ?? clientSecretFile, name: name ?? new URL(issuer).host });
}
