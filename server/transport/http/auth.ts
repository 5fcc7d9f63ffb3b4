// HTTP credentials, for git smart HTTP (Basic, the token as password) and the API (Bearer): both
// resolve a token to its key as the store has it now, so a removed key's tokens stop at once.
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { keyScope, lowerScope } from '../../auth/scopes.ts';

/** The identity a token acts as: its key, with the lower of the token's scope and the key's rights. */
export function tokenIdentity(services: Services, token: string): Identity | undefined {
  if (!token) return undefined;
  const used = services.store.tokens.use(token);
  const key = used ? services.store.keys.byName(used.keyName) : undefined;
  if (!used || !key) return undefined;
  const scope = lowerScope(used.scope, keyScope(key.admin));
  return { name: key.name, admin: scope === 'admin', via: 'http', scope, allApps: key.admin };
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
