import { randomBytes } from 'node:crypto';
import { UserError, UsageError } from '../errors.ts';
import { label, shown } from '../names.ts';
import { listing, type Command } from './types.ts';

export const tokenCommands: Command[] = [
  {
    name: 'tokens:create',
    usage: 'NAME [--key KEYNAME]',
    summary: 'Create an access token for git over HTTP (shown once)',
    access: 'any',
    args: { min: 1, max: 1 },
    flags: { key: { type: 'string', help: 'owner key (admins only; required from the local CLI)' } },
    run: (ctx, [raw], flags) => {
      const name = label('token', raw!);
      const { store } = ctx.services;
      let owner = ctx.identity.name;
      if (typeof flags.key === 'string') {
        if (!ctx.identity.admin) throw new UserError('Only admins may create tokens for another key.');
        owner = label('key', flags.key);
      } else if (ctx.identity.via === 'local') {
        throw new UsageError('From the local CLI, name the key the token acts as: tokens:create NAME --key KEYNAME');
      }
      if (!store.keys.byName(owner)) throw new UserError(`No key named ${shown(owner)}.`);
      const token = 'slw_' + randomBytes(24).toString('base64url');
      if (!store.tokens.add(name, owner, token)) throw new UserError(`A token named ${shown(name)} already exists.`);
      ctx.out.line(`Created token ${name}; it acts as ${owner}. Keep it now, it is not shown again:`);
      ctx.out.line(token);
    },
  },
  {
    name: 'tokens:list',
    usage: '',
    summary: 'List access tokens (yours; admins see all)',
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const tokens = ctx.services.store.tokens.list(ctx.identity.admin ? undefined : ctx.identity.name);
      return listing(tokens, (out) => {
        out.heading('Tokens');
        out.table(tokens.map((t) => [t.name, t.keyName, t.createdAt, t.lastUsedAt ?? 'never']), ['NAME', 'KEY', 'CREATED', 'LAST USED']);
      });
    },
  },
  {
    name: 'tokens:revoke',
    usage: 'NAME',
    summary: 'Revoke an access token',
    access: 'any',
    args: { min: 1, max: 1 },
    run: (ctx, [raw]) => {
      const name = label('token', raw!);
      const { store } = ctx.services;
      const t = store.tokens.byName(name);
      if (!t || (!ctx.identity.admin && t.keyName !== ctx.identity.name)) throw new UserError(`No token named ${shown(name)}.`);
      store.tokens.remove(name);
      ctx.out.line(`Revoked token ${name}.`);
    },
  },
];
