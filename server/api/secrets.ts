// The store's keys (admins): the same objects as secrets and secrets:rotate-key print with --json.
import { route } from './route.ts';
import { actor } from './change.ts';
import { KeyRotationSchema, StoreKeysSchema } from '../shapes/secrets.ts';
import { rotateStoreKey, storeKeys } from '../ops/admin/secrets.ts';

export const secretRoutes = [
  route({
    method: 'GET', url: '/secrets/keys', tag: 'admin', need: 'admin',
    summary: "The keys the store's secret values are sealed with, and how many each seals (= secrets --json)",
    response: { 200: StoreKeysSchema },
    handle: (call) => ({ status: 200, json: storeKeys(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/secrets/rotate-key', tag: 'admin', need: 'admin',
    summary: "Seal every secret value of the store with a new key in one transaction, then remove the old key's file (= secrets:rotate-key --json)",
    response: { 200: KeyRotationSchema },
    handle: (call) => ({ status: 200, json: rotateStoreKey(actor(call)) }),
  }),
];
