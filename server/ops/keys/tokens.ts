// Access tokens for git over HTTP: each acts as the key it belongs to. A key manages its own;
// admins any key's. Token names are per key, so nobody learns another key's names by trying them.
import { randomBytes } from 'node:crypto';
import { ForbiddenError, UserError } from '../../errors.ts';
import { label, shown } from '../../names.ts';
import type { Scope, Token } from '../../store/tokens.ts';
import type { Actor } from '../actor.ts';
import type { CreatedToken } from '../../shapes/keys.ts';
import { SCOPES, allows, isScope, keyScope } from '../../auth/scopes.ts';
import { stopRevoked } from '../../revocation.ts';
import { formatDuration, parseDuration } from '../../durations.ts';

/**
 * The key whose tokens an operation acts on: the actor's own, or (admins only) `key`. The local
 * CLI has no key of its own, so it must name one.
 */
function ownerOf(actor: Actor, key: string | undefined): string {
  if (key !== undefined) {
    if (!actor.identity.admin) throw new ForbiddenError("Only admins may act on another key's tokens.");
    const owner = label('key', key);
    if (!actor.services.store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
    return owner;
  }
  if (actor.identity.via === 'local') throw new UserError('From the local CLI, name the key the token belongs to.');
  return actor.identity.name;
}

/**
 * The scope a new token gets: `raw`, or by default all its key may do (admin for an admin key,
 * deploy for another), as tokens had before there were scopes. A token never gets more than its key.
 */
function scopeFor(actor: Actor, owner: string, raw: string | undefined): Scope {
  const most = keyScope(actor.services.store.keys.byName(owner)?.admin === true);
  if (raw === undefined) return most;
  if (!isScope(raw)) throw new UserError(`${shown(raw)} is not a scope; use one of ${SCOPES.join(', ')}.`);
  if (!allows(most, raw)) throw new UserError(`${owner === actor.identity.name ? 'Your key is' : `${owner} is`} not an admin, so its tokens may have the read or deploy scope only.`);
  // A token cannot be made to do more than the one asking may (a deploy token of an admin key making an admin token).
  if (actor.identity.scope !== undefined && !allows(actor.identity.scope, raw)) throw new ForbiddenError(`This token has the ${actor.identity.scope} scope and cannot make a token with the ${raw} scope.`);
  return raw;
}

/**
 * How long a new token lasts, in ms (undefined: for ever): `raw` (`30d`, `12h`, seconds), at most
 * SLIPWAY_TOKEN_MAX_TTL; without `raw`, that maximum when one is set.
 */
export function tokenLifetime(raw: string | undefined, maxMs: number | undefined): number | undefined {
  if (raw === undefined) return maxMs;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UserError(`${shown(raw)} is not a lifetime; use a number of days, hours, minutes or seconds like 30d, 12h, 90m or 3600s.`);
  if (maxMs !== undefined && ms > maxMs) throw new UserError(`Tokens may last at most ${formatDuration(maxMs)} on this server (SLIPWAY_TOKEN_MAX_TTL); ask for --ttl ${formatDuration(maxMs)} or less.`);
  return ms;
}

/**
 * tokens:create: a new token for the actor's key (or, admins, `key`'s), with `scope` (default: all
 * the key may) and lifetime `ttl` (default: SLIPWAY_TOKEN_MAX_TTL, or none).
 */
export function createToken(actor: Actor, rawName: string, key?: string, scope?: string, ttl?: string): CreatedToken {
  const name = label('token', rawName);
  const owner = ownerOf(actor, key);
  const { store, config } = actor.services;
  if (!store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
  const granted = scopeFor(actor, owner, scope);
  const lifetime = tokenLifetime(ttl, config.tokenMaxTtlMs);
  let expiresAt = lifetime === undefined ? null : new Date(Date.now() + lifetime).toISOString();
  // A token made by a token (or a session it started) never outlives it: else a token that
  // expires tomorrow could mint one that lasts for ever and keep its holder in.
  const parentEnd = actor.identity.token === undefined ? null : store.tokens.expiryOf(actor.identity.token) ?? null;
  if (parentEnd !== null && (expiresAt === null || expiresAt > parentEnd)) {
    if (ttl !== undefined) throw new UserError(`This token expires at ${parentEnd}, and a token it makes may not last longer; ask for a shorter --ttl.`);
    expiresAt = parentEnd;
  }
  const token = 'slw_' + randomBytes(24).toString('base64url');
  const max = config.maxTokensPerKey;
  // Made by a token: it names that token, and goes when that one is revoked (store/tokens.ts).
  const added = store.tokens.add(name, owner, token, max, granted, actor.identity.token ?? null, expiresAt);
  if (added === 'exists') throw new UserError(`${owner === actor.identity.name ? 'You already have' : `${owner} already has`} a token named ${shown(name)}.`);
  if (added === 'full') throw new UserError(`${owner === actor.identity.name ? 'You have' : `${owner} has`} ${max} tokens, the most one key may have (SLIPWAY_MAX_TOKENS_PER_KEY); revoke one first (tokens:revoke NAME).`);
  return { name, key: owner, scope: granted, token, expiresAt };
}

/** tokens:list --json: the actor's tokens (admins: `key`'s; the local CLI without a key: every token). */
export function listTokens(actor: Actor, key?: string): Token[] {
  const all = actor.identity.via === 'local' && key === undefined;
  return actor.services.store.tokens.list(all ? undefined : ownerOf(actor, key));
}

/** tokens:revoke: removes one of the actor's tokens (admins: `key`'s) and every token it made, and at once ends the streams opened with them. */
export function revokeToken(actor: Actor, rawName: string, key?: string): { name: string; key: string } {
  const name = label('token', rawName);
  const owner = ownerOf(actor, key);
  if (!actor.services.store.tokens.remove(owner, name)) throw new UserError(`${owner === actor.identity.name ? 'You have no' : `${owner} has no`} token named ${shown(name)}.`);
  // Now, not at the next rights round: whoever holds a leaked token loses what it has open too.
  stopRevoked(actor.services);
  return { name, key: owner };
}
