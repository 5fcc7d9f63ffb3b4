import { UsageError } from '../errors.ts';
import { createToken, listTokens, revokeToken } from '../ops/keys/tokens.ts';
import { defineCommand, listing, type Command, type CommandContext, type FlagSpecs } from './types.ts';
import { actorOf } from './progress.ts';

const KEY_FLAG = { key: { type: 'string', help: 'owner key (admins only; required from the local CLI)' } } as const satisfies FlagSpecs;

/** The --key flag; from the local CLI (which has no key of its own) a command that needs one says how to give it. */
function keyFlag(ctx: CommandContext, flags: { readonly key?: string }, usage?: string): string | undefined {
  if (flags.key !== undefined) return flags.key;
  if (usage !== undefined && ctx.identity.via === 'local') throw new UsageError(`From the local CLI, name the key the token belongs to: ${usage}`);
  return undefined;
}

/** A token's expiry as tokens:list shows it: never, the time, or the time and that it has passed. */
export function expiryText(expiresAt: string | null, at: string): string {
  if (expiresAt === null) return 'never';
  return Date.parse(expiresAt) <= Date.parse(at) ? `${expiresAt} (expired)` : expiresAt;
}

export const tokenCommands: Command[] = [
  defineCommand({
    name: 'tokens:create',
    usage: 'NAME [--scope read|deploy|admin] [--ttl 30d] [--key KEYNAME]',
    summary: 'Create an access token for git over HTTP and the HTTP API (shown once)',
    access: 'any',
    args: { min: 1, max: 1 },
    flags: {
      ...KEY_FLAG,
      scope: { type: 'string', help: "what it may do: read (look only), deploy (change the key's apps), admin; default: all the key may" },
      ttl: { type: 'string', help: 'how long it lasts: 30d, 12h, 90m, 3600s; default: SLIPWAY_TOKEN_MAX_TTL, or for ever when that is unset' },
    },
    run: (ctx, [raw], flags) => {
      const t = createToken(actorOf(ctx), raw!, keyFlag(ctx, flags, 'tokens:create NAME --key KEYNAME'), flags.scope, flags.ttl);
      ctx.out.line(`Created token ${t.name} (scope ${t.scope}${t.expiresAt ? `, expires ${t.expiresAt}` : ''}); it acts as ${t.key}. Keep it now, it is not shown again:`);
      ctx.out.line(t.token);
    },
  }),
  defineCommand({
    name: 'tokens:list',
    usage: '[--key KEYNAME]',
    summary: "List your access tokens (admins: another key's with --key; the local CLI: all)",
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    flags: KEY_FLAG,
    run: (ctx, _args, flags) => {
      const tokens = listTokens(actorOf(ctx), keyFlag(ctx, flags));
      return listing(tokens, (out) => {
        out.heading('Tokens');
        const at = new Date().toISOString();
        out.table(tokens.map((t) => [t.name, t.keyName, t.scope, t.createdAt, t.lastUsedAt ?? 'never', expiryText(t.expiresAt, at)]), ['NAME', 'KEY', 'SCOPE', 'CREATED', 'LAST USED', 'EXPIRES']);
      });
    },
  }),
  defineCommand({
    name: 'tokens:revoke',
    usage: 'NAME [--key KEYNAME]',
    summary: "Revoke one of your access tokens (admins: another key's with --key)",
    access: 'any',
    args: { min: 1, max: 1 },
    flags: KEY_FLAG,
    run: (ctx, [raw], flags) => {
      const r = revokeToken(actorOf(ctx), raw!, keyFlag(ctx, flags, 'tokens:revoke NAME --key KEYNAME'));
      ctx.out.line(`Revoked token ${r.name}.`);
    },
  }),
];
