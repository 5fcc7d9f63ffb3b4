// The store's keys (issue 38, section 3): `secrets` shows which key seals the store's secret values
// and how many each seals; `secrets:rotate-key` seals every value with a new key (admins).
import { rotateStoreKey, storeKeys } from '../ops/admin/secrets.ts';
import { listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

export const secretCommands: Command[] = [
  {
    name: 'secrets',
    usage: '',
    summary: "Show the keys the store's secrets (config values, database passwords, TLS keys, webhook secrets) are sealed with",
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const k = storeKeys(actorOf(ctx));
      return listing(k, (out) => {
        out.table(k.keys.map((x) => [x.id, x.source === 'file' ? `${ctx.services.config.storeKeyDir}/store-${x.id}.key` : 'SLIPWAY_STORE_KEY', String(x.values), x.id === k.current ? 'seals new values' : '']), ['KEY', 'FROM', 'VALUES', '']);
        if (k.clear) out.line(`${k.clear} secret values are not sealed; secrets:rotate-key seals them.`);
      });
    },
  },
  {
    name: 'secrets:rotate-key',
    usage: '',
    summary: "Seal every secret of the store with a new key, in one transaction, then remove the old key's file",
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const r = rotateStoreKey(actorOf(ctx));
      return listing(r, (out) => {
        out.line(`Sealed ${r.values} secret value${r.values === 1 ? '' : 's'} with key ${r.key}${r.fromEnvironment ? " (SLIPWAY_STORE_KEY's first)" : ''} in ${r.ms} ms; key ${r.previous} sealed new values before.`);
        if (r.removed.length) out.line(`Removed the key file${r.removed.length === 1 ? '' : 's'} of ${r.removed.join(', ')}: no value is sealed with ${r.removed.length === 1 ? 'it' : 'them'} any more.`);
        out.line('Backups written before this hold the old key with their store: they restore as they are.');
      });
    },
  },
];
