import { NotFoundError, UserError } from '../errors.ts';
import { appName, label, shown } from '../names.ts';
import { parsePublicKey } from '../auth/keys.ts';
import { listing, type Command } from './types.ts';

/** Largest public key accepted on stdin. */
const MAX_KEY_BYTES = 16 * 1024;

export const keyCommands: Command[] = [
  {
    name: 'keys:add',
    usage: 'NAME [--admin]  (public key on stdin)',
    summary: 'Add an SSH public key',
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: { admin: { type: 'boolean', help: 'make the key an admin' } },
    run: async (ctx, [raw], flags) => {
      const name = label('key', raw!);
      const text = (await ctx.stdin()).trim();
      if (!text) throw new UserError('No public key on standard input; try: ssh git@HOST keys:add NAME < ~/.ssh/id_ed25519.pub');
      if (text.length > MAX_KEY_BYTES || text.includes('\n')) throw new UserError('Send exactly one public key (one line) on standard input.');
      const key = parsePublicKey(text);
      const r = ctx.services.store.keys.add({ name, fingerprint: key.fingerprint, type: key.type, publicKey: key.blob, admin: flags.admin === true });
      if (r === 'name') throw new UserError(`A key named ${shown(name)} already exists.`);
      if (r === 'fingerprint') throw new UserError(`That key is already added (${key.fingerprint}).`);
      ctx.out.line(`Added key ${name} (${key.fingerprint})${flags.admin ? ' as admin' : ''}.`);
    },
  },
  {
    name: 'keys:list',
    usage: '',
    summary: 'List SSH keys',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const keys = ctx.services.store.keys.list();
      return listing(keys.map(({ name, fingerprint, type, admin, createdAt }) => ({ name, fingerprint, type, admin, createdAt })), (out) => {
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
      const name = label('key', raw!);
      if (!ctx.services.store.keys.remove(name)) throw new UserError(`No key named ${shown(name)}.`);
      ctx.out.line(`Removed key ${name}.`);
    },
  },
  {
    name: 'access:grant',
    usage: 'APP KEYNAME',
    summary: 'Let a key push to and manage an app',
    access: 'admin',
    args: { min: 2, max: 2 },
    run: (ctx, [rawApp, rawKey]) => {
      const app = appName(rawApp!);
      const key = label('key', rawKey!);
      const { store } = ctx.services;
      if (!store.apps.get(app)) throw new NotFoundError(shown(app));
      if (!store.keys.byName(key)) throw new UserError(`No key named ${shown(key)}.`);
      store.keys.grant(app, key);
      ctx.out.line(`${key} may now push to ${app}.`);
    },
  },
  {
    name: 'access:revoke',
    usage: 'APP KEYNAME',
    summary: "Take a key's access to an app away",
    access: 'admin',
    args: { min: 2, max: 2 },
    run: (ctx, [rawApp, rawKey]) => {
      const app = appName(rawApp!);
      const key = label('key', rawKey!);
      if (!ctx.services.store.keys.revoke(app, key)) throw new UserError(`${key} had no access to ${app}.`);
      ctx.out.line(`${key} may no longer push to ${app}.`);
    },
  },
];
