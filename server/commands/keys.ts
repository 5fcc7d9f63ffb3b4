import { addKey, grantAccess, listKeys, removeKey, revokeAccess } from '../ops/keys/keys.ts';
import { bindOidc, listOidc, unbindOidc } from '../ops/keys/oidc.ts';
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
    name: 'keys:oidc',
    usage: 'KEYNAME SUBJECT-or-EMAIL',
    summary: "Let an OpenID Connect account sign in to the dashboard as a key: its subject, or its verified email (sub:… or email:… to say which)",
    access: 'admin',
    args: { min: 2, max: 2 },
    run: (ctx, [rawKey, raw]) => {
      const b = bindOidc(actorOf(ctx), rawKey!, raw!);
      ctx.out.line(`The OpenID Connect ${b.claim === 'sub' ? 'subject' : 'email'} ${b.value} now signs in to the dashboard as ${b.keyName}.`);
    },
  },
  {
    name: 'keys:oidc:remove',
    usage: 'SUBJECT-or-EMAIL',
    summary: 'Unbind an OpenID Connect account from its key; the dashboard sessions it signed in to end at once',
    access: 'admin',
    args: { min: 1, max: 1 },
    run: (ctx, [raw]) => {
      const r = unbindOidc(actorOf(ctx), raw!);
      ctx.out.line(`Unbound the OpenID Connect ${r.claim === 'sub' ? 'subject' : 'email'} ${r.value} from ${r.key}; ${r.sessions === 1 ? '1 dashboard session' : `${r.sessions} dashboard sessions`} ended.`);
    },
  },
  defineCommand({
    name: 'keys:oidc:list',
    usage: '[--key KEYNAME]',
    summary: 'List the OpenID Connect accounts bound to keys',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    flags: { key: { type: 'string', help: "only this key's" } },
    run: (ctx, _args, flags) => {
      const bindings = listOidc(actorOf(ctx), flags.key);
      return listing(bindings, (out) => {
        out.heading('OpenID Connect accounts');
        out.table(bindings.map((b) => [b.keyName, b.claim, b.value, b.createdBy, b.createdAt]), ['KEY', 'CLAIM', 'VALUE', 'BOUND BY', 'BOUND AT']);
      });
    },
  }),
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
