import { randomBytes } from 'node:crypto';
import { UserError, UsageError } from '../errors.ts';
import { label, shown } from '../names.ts';
import { listing, type Command, type CommandContext, type Flags } from './types.ts';
import { SCOPES, allows, isScope, keyScope, type Scope } from '../auth/scopes.ts';

const KEY_FLAG: Command['flags'] = { key: { type: 'string', help: 'owner key (admins only; required from the local CLI)' } };

/**
 * The key whose tokens a command acts on: the caller's own, or (admins only) the one named with
 * --key. Token names are per key, so nobody learns another key's token names by trying them.
 */
function ownerOf(ctx: CommandContext, flags: Flags, usage: string): string {
  if (typeof flags.key === 'string') {
    if (!ctx.identity.admin) throw new UserError("Only admins may act on another key's tokens.");
    const owner = label('key', flags.key);
    if (!ctx.services.store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
    return owner;
  }
  if (ctx.identity.via === 'local') throw new UsageError(`From the local CLI, name the key the token belongs to: ${usage}`);
  return ctx.identity.name;
}

/**
 * The scope a new token gets: --scope, or by default all its key may do (admin for an admin key,
 * deploy for another), as tokens had before there were scopes. A token never gets more than its key.
 */
function scopeFor(ctx: CommandContext, owner: string, raw: string | boolean | undefined): Scope {
  const most = keyScope(ctx.services.store.keys.byName(owner)?.admin === true);
  if (raw === undefined) return most;
  if (typeof raw !== 'string' || !isScope(raw)) throw new UserError(`${shown(String(raw))} is not a scope; use one of ${SCOPES.join(', ')}.`);
  if (!allows(most, raw)) throw new UserError(`${owner === ctx.identity.name ? 'Your key is' : `${owner} is`} not an admin, so its tokens may have the read or deploy scope only.`);
  return raw;
}

export const tokenCommands: Command[] = [
  {
    name: 'tokens:create',
    usage: 'NAME [--scope read|deploy|admin] [--key KEYNAME]',
    summary: 'Create an access token for git over HTTP and the HTTP API (shown once)',
    access: 'any',
    args: { min: 1, max: 1 },
    flags: { ...KEY_FLAG, scope: { type: 'string', help: "what it may do: read (look only), deploy (change the key's apps), admin; default: all the key may" } },
    run: (ctx, [raw], flags) => {
      const name = label('token', raw!);
      const owner = ownerOf(ctx, flags, 'tokens:create NAME --key KEYNAME');
      if (!ctx.services.store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
      const scope = scopeFor(ctx, owner, flags.scope);
      const token = 'slw_' + randomBytes(24).toString('base64url');
      const max = ctx.services.config.maxTokensPerKey;
      const added = ctx.services.store.tokens.add(name, owner, token, max, scope);
      if (added === 'exists') throw new UserError(`${owner === ctx.identity.name ? 'You already have' : `${owner} already has`} a token named ${shown(name)}.`);
      if (added === 'full') throw new UserError(`${owner === ctx.identity.name ? 'You have' : `${owner} has`} ${max} tokens, the most one key may have (SLIPWAY_MAX_TOKENS_PER_KEY); revoke one first (tokens:revoke NAME).`);
      ctx.out.line(`Created token ${name} (scope ${scope}); it acts as ${owner}. Keep it now, it is not shown again:`);
      ctx.out.line(token);
    },
  },
  {
    name: 'tokens:list',
    usage: '[--key KEYNAME]',
    summary: "List your access tokens (admins: another key's with --key; the local CLI: all)",
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    flags: KEY_FLAG,
    run: (ctx, _args, flags) => {
      const all = ctx.identity.via === 'local' && typeof flags.key !== 'string';
      const tokens = ctx.services.store.tokens.list(all ? undefined : ownerOf(ctx, flags, 'tokens:list --key KEYNAME'));
      return listing(tokens, (out) => {
        out.heading('Tokens');
        out.table(tokens.map((t) => [t.name, t.keyName, t.scope, t.createdAt, t.lastUsedAt ?? 'never']), ['NAME', 'KEY', 'SCOPE', 'CREATED', 'LAST USED']);
      });
    },
  },
  {
    name: 'tokens:revoke',
    usage: 'NAME [--key KEYNAME]',
    summary: "Revoke one of your access tokens (admins: another key's with --key)",
    access: 'any',
    args: { min: 1, max: 1 },
    flags: KEY_FLAG,
    run: (ctx, [raw], flags) => {
      const name = label('token', raw!);
      const owner = ownerOf(ctx, flags, 'tokens:revoke NAME --key KEYNAME');
      if (!ctx.services.store.tokens.remove(owner, name)) throw new UserError(`${owner === ctx.identity.name ? 'You have no' : `${owner} has no`} token named ${shown(name)}.`);
      ctx.out.line(`Revoked token ${name}.`);
    },
  },
];
