import type { Scope } from './scopes.ts';

/** Who is asking: bound after the SSH signature or the HTTP token was verified. */
export interface Identity {
  /** Key name; `local` for the local CLI. */
  name: string;
  /** Admin rights as this caller has them: an HTTP token below the admin scope has none. */
  admin: boolean;
  via: 'ssh' | 'http' | 'local';
  /** An HTTP token's effective scope; SSH and the local CLI act with the key's whole rights. */
  scope?: Scope;
  /**
   * Whether every app is within reach: an admin key's token below the admin scope reads (read) or
   * changes (deploy) any app, as its key may, without the admin's other powers (keys, apps:create,
   * ceilings). Unset means the same as `admin`.
   */
  allApps?: boolean;
  /**
   * The dashboard session a browser request came with (its stored hash; never the cookie itself),
   * so that work it started (an event stream) ends with the session.
   */
  session?: string;
  /**
   * The stored hash of the access token a request came with, or that started its session (never
   * the token itself): work it started that keeps running (a stream) ends when the token is
   * revoked, and a token it makes is revoked with it.
   */
  token?: string;
  /** When the access token a request came with expires (ISO time), if it does: the API says so in a header, and the client CLI warns. */
  tokenExpiresAt?: string;
  /** The address the caller connected from, as the transport saw it (the audit log's source). */
  source?: string;
}
