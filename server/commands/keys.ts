import { addKey, grantAccess, listKeys, removeKey, revokeAccess } from '../ops/keys/keys.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

export const keyCommands: Command[] = [
  defineCommand({
    name: 'keys:add',
    usage: 'NAME [--admin]  (public key on stdin)',
    summary: 'Add an SSH public key',
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: { admin: { type: 'boolean', help: 'make the key an admin' } },
    run: async (ctx, [raw], flags) => {
      const k = addKey(actorOf(ctx), raw!, await ctx.stdin(), flags.admin === true);
      ctx.out.line(`Added key ${k.name} (${k.fingerprint})${k.admin ? ' as admin' : ''}.`);
    },
  }),
  {
    name: 'keys:list',
    usage: '',
    summary: 'List SSH keys',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const keys = listKeys(actorOf(ctx));
      return listing(keys, (out) => {
        out.heading('Keys');
        out.table(keys.map((k) => [k.name, k.fingerprint, k.admin ? 'admin' : 'deployer']), ['NAME', 'FINGERPRINT', 'ROLE']);
      });
    },
  },
  {
    name: 'keys:remove',
    usage: 'NAME',
    summary: 'Remove an SSH key (and its grants and tokens)',
    access: 'admin',
    args: { min: 1, max: 1 },
    run: (ctx, [raw]) => {
      ctx.out.line(`Removed key ${removeKey(actorOf(ctx), raw!).name}.`);
    },
  },
  {
    name: 'access:grant',
    usage: 'APP KEYNAME',
    summary: 'Let a key push to and manage an app',
    access: 'admin',
    args: { min: 2, max: 2 },
    run: (ctx, [rawApp, rawKey]) => {
      const g = grantAccess(actorOf(ctx), rawApp!, rawKey!);
      ctx.out.line(`${g.key} may now push to ${g.app}.`);
    },
  },
  {
    name: 'access:revoke',
    usage: 'APP KEYNAME',
    summary: "Take a key's access to an app away",
    access: 'admin',
    args: { min: 2, max: 2 },
    run: (ctx, [rawApp, rawKey]) => {
      const r = revokeAccess(actorOf(ctx), rawApp!, rawKey!);
      ctx.out.line(`${r.key} may no longer push to ${r.app}.`);
    },
  },
];
