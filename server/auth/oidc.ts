// The dashboard's OpenID Connect sign-in, the one home of openid-client (panva's, certified by the
// OpenID Foundation): the authorization code flow with PKCE (S256), state and nonce. The provider's
// discovery document is fetched once and kept; the ID token is checked by the library (signature
// against the provider's keys, issuer, audience, expiry, nonce) before any claim is read here.
import type * as OidcLib from 'openid-client';
import { createHash } from 'node:crypto';
import type { OidcSettings } from '../oidc-settings.ts';

/** What a sign-in needs kept between sending the browser away and its return: never sent to the browser. */
export interface OidcFlow {
  state: string;
  nonce: string;
  verifier: string;
  /** The dashboard page to land on afterwards (already checked to be one of ours). */
  next: string;
  /** When it stops being accepted (ms since the epoch). */
  expiresAt: number;
}

/** The claims a signed-in account is matched by. */
export interface OidcAccount {
  sub: string;
  /** The email, only when the provider says it verified it (an unverified one proves nothing). */
  verifiedEmail: string | undefined;
  /** The email whether verified or not, for the refusal's sentence. */
  email: string | undefined;
}

/**
 * The library, loaded on the first sign-in: most servers never set a provider, and loading it at
 * start-up cost about 6 MiB of idle memory (bench/results/memory.md).
 */
let loaded: typeof OidcLib | undefined;
async function library(): Promise<typeof OidcLib> {
  loaded ??= await import('openid-client');
  return loaded;
}

/** The provider's configuration, discovered once per issuer and client. */
const discovered = new Map<string, Promise<OidcLib.Configuration>>();

/** Whether the issuer is plain http (allowed on loopback only, by server/oidc-settings.ts). */
const insecure = (settings: OidcSettings) => settings.issuer.startsWith('http:');

/** The provider's configuration (its discovery document), fetched on first use; a failed fetch is tried again next time. */
export function providerOf(settings: OidcSettings): Promise<OidcLib.Configuration> {
  const id = createHash('sha256').update(`${settings.issuer}\0${settings.clientId}\0${settings.clientSecret ?? ''}`).digest('hex');
  let found = discovered.get(id);
  if (!found) {
    found = library().then((oidc) => oidc.discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, settings.clientSecret === undefined ? oidc.None() : undefined, insecure(settings) ? { execute: [oidc.allowInsecureRequests] } : undefined));
    discovered.set(id, found);
    found.catch(() => discovered.delete(id));
  }
  return found;
}

/** Starts a sign-in: where to send the browser, and what to keep until it returns. */
export async function beginSignIn(settings: OidcSettings, redirectUri: string, next: string, ttlMs: number): Promise<{ url: string; flow: OidcFlow }> {
  const config = await providerOf(settings);
  const oidc = await library();
  const verifier = oidc.randomPKCECodeVerifier();
  const flow: OidcFlow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, next, expiresAt: Date.now() + ttlMs };
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  });
  return { url: url.href, flow };
}

/**
 * Finishes a sign-in: trades the code the browser brought back (at `currentUrl`, the callback as
 * it was requested) for tokens, with the flow's verifier, state and nonce, and answers the account
 * the checked ID token names. Throws what the library throws (a provider's error, a wrong state).
 */
export async function finishSignIn(settings: OidcSettings, currentUrl: URL, flow: OidcFlow): Promise<OidcAccount> {
  const config = await providerOf(settings);
  const oidc = await library();
  const tokens = await oidc.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  const claims = tokens.claims();
  if (!claims) throw new Error('the provider sent no ID token');
  let found: { email?: unknown; email_verified?: unknown } = { email: claims.email, email_verified: claims.email_verified };
  // Many providers put the email in the UserInfo answer only (OpenID Connect Core 5.4): asked there,
  // for the same subject (the library refuses another's), when the ID token has none.
  if (typeof claims.email !== 'string' && tokens.access_token) found = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  const email = typeof found.email === 'string' ? found.email.toLowerCase() : undefined;
  return { sub: claims.sub, email, verifiedEmail: found.email_verified === true ? email : undefined };
}

/** Whether an error is the provider's or the flow's (a user's sentence), not ours. */
export function providerRefused(err: unknown): string | undefined {
  const oidc = loaded;
  if (!oidc) return undefined; // Nothing was asked of a provider yet, so nothing it said.
  if (err instanceof oidc.AuthorizationResponseError) return `The provider did not sign you in (${err.error}${err.error_description ? `: ${err.error_description}` : ''}).`;
  if (err instanceof oidc.ResponseBodyError) return `The provider refused the sign-in (${err.error}${err.error_description ? `: ${err.error_description}` : ''}).`;
  return undefined;
}
