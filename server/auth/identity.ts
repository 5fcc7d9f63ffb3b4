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
}
