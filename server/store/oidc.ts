// OpenID Connect accounts bound to keys (keys:oidc): a provider's account signs in to the dashboard
// as the key an admin bound it to, by its subject (`sub`) or its verified email. Unbinding ends the
// dashboard sessions signed in through the binding, in the same transaction.
import { now, type Db } from './db.ts';

/** Which claim of the ID token a binding matches. */
export type OidcClaim = 'sub' | 'email';

/** One binding: the claim and its value, the key it signs in as, and who bound it when. */
export interface OidcBinding { claim: OidcClaim; value: string; keyName: string; createdBy: string; createdAt: string }

interface Row { claim: OidcClaim; value: string; key_name: string; created_by: string; created_at: string }
const toBinding = (r: Row): OidcBinding => ({ claim: r.claim, value: r.value, keyName: r.key_name, createdBy: r.created_by, createdAt: r.created_at });

/** The bindings, and the sign-in's lookup. */
export function oidcStore(db: Db) {
  return {
    /**
     * Binds a claim's value to a key: 'added', 'same' when it already was bound to this key, or
     * the other key it is bound to (a value signs in as one key only; unbind it first).
     */
    bind: (b: Omit<OidcBinding, 'createdAt'>): 'added' | 'same' | { boundTo: string } =>
      db.transaction((): 'added' | 'same' | { boundTo: string } => {
        const r = db.prepare<[string, string], { key_name: string }>('SELECT key_name FROM oidc_bindings WHERE claim = ? AND value = ?').get(b.claim, b.value);
        if (r) return r.key_name === b.keyName ? 'same' : { boundTo: r.key_name };
        db.prepare('INSERT INTO oidc_bindings (claim, value, key_name, created_by, created_at) VALUES (?, ?, ?, ?, ?)').run(b.claim, b.value, b.keyName, b.createdBy, now());
        return 'added';
      }).immediate(),
    /** Removes a binding and every session signed in through it; the binding removed, or undefined when there was none. */
    unbind: (claim: OidcClaim, value: string): { binding: OidcBinding; sessions: number } | undefined =>
      db.transaction(() => {
        const r = db.prepare<[string, string], Row>('DELETE FROM oidc_bindings WHERE claim = ? AND value = ? RETURNING *').get(claim, value);
        if (!r) return undefined;
        const ended = db.prepare('DELETE FROM sessions WHERE oidc_claim = ? AND oidc_value = ?').run(claim, value).changes;
        return { binding: toBinding(r), sessions: ended };
      }).immediate(),
    /** Every binding, or one key's. */
    list: (keyName?: string): OidcBinding[] =>
      (keyName === undefined
        ? db.prepare<[], Row>('SELECT * FROM oidc_bindings ORDER BY key_name, claim, value').all()
        : db.prepare<[string], Row>('SELECT * FROM oidc_bindings WHERE key_name = ? ORDER BY claim, value').all(keyName)
      ).map(toBinding),
    /** The binding an ID token's claims sign in through: its subject's first, else its email's (only when the provider verified it). */
    find: (sub: string, verifiedEmail: string | undefined): OidcBinding | undefined => {
      const bySub = db.prepare<[string], Row>("SELECT * FROM oidc_bindings WHERE claim = 'sub' AND value = ?").get(sub);
      if (bySub) return toBinding(bySub);
      if (verifiedEmail === undefined) return undefined;
      const byEmail = db.prepare<[string], Row>("SELECT * FROM oidc_bindings WHERE claim = 'email' AND value = ?").get(verifiedEmail.toLowerCase());
      return byEmail ? toBinding(byEmail) : undefined;
    },
  };
}
