// What an HTTP access token may do. A token acts for its key, never beyond it: its effective
// scope is the lower of the scope it was created with and what the key may do today (an admin
// key may do everything, any other key may deploy the apps granted to it).

import type { Scope } from '../store/tokens.ts';

/** A token's scope, weakest first: read (GET only), deploy (change apps it may use), admin. */
export type { Scope };

/** Every scope, weakest first. */
export const SCOPES: readonly Scope[] = ['read', 'deploy', 'admin'];

/** Whether `raw` names a scope. */
export function isScope(raw: string): raw is Scope {
  return (SCOPES as readonly string[]).includes(raw);
}

/** The most a key may do: `admin` for an admin key, `deploy` for any other. */
export function keyScope(admin: boolean): Scope {
  return admin ? 'admin' : 'deploy';
}

/** The lower of two scopes. */
export function lowerScope(a: Scope, b: Scope): Scope {
  return SCOPES.indexOf(a) <= SCOPES.indexOf(b) ? a : b;
}

/** Whether `have` includes what `need` asks for. */
export function allows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}
