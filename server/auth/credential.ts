// How a caller proved who it is, in the words the audit log and the job records use: its key
// (`key`), the local CLI (`local`), an access token (`token NAME`), or a dashboard session
// (`session` and the start of its stored hash).
import type { Identity } from './identity.ts';

/** The credential of `identity`; `tokenName` names a token by its stored hash (the hash's start when it is gone). */
export function credentialOf(identity: Identity, tokenName: (hash: string) => string | undefined): string {
  if (identity.session) return `session ${identity.session.slice(0, 12)}`;
  if (identity.token) return `token ${tokenName(identity.token) ?? identity.token.slice(0, 12)}`;
  return identity.via === 'local' ? 'local' : 'key';
}
