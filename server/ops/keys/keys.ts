// SSH keys (admins only) and which apps a key may use: add, list, remove, grant, revoke.
import { NotFoundError, UserError } from '../../errors.ts';
import { appName, label, shown } from '../../names.ts';
import { parsePublicKey } from '../../auth/keys.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';
import type { AddedKey, KeySummary } from '../../shapes/keys.ts';

/** Largest public key accepted. */
const MAX_KEY_BYTES = 16 * 1024;

/** keys:add (admins only): one public key (one line) under a new name. */
export function addKey(actor: Actor, rawName: string, publicKey: string, admin: boolean): AddedKey {
  requireAdmin(actor, 'Only admins may run keys:add.');
  const name = label('key', rawName);
  const text = publicKey.trim();
  if (!text) throw new UserError('No public key on standard input; try: ssh git@HOST keys:add NAME < ~/.ssh/id_ed25519.pub');
  if (text.length > MAX_KEY_BYTES || text.includes('\n')) throw new UserError('Send exactly one public key (one line) on standard input.');
  const key = parsePublicKey(text);
  const r = actor.services.store.keys.add({ name, fingerprint: key.fingerprint, type: key.type, publicKey: key.blob, admin });
  if (r === 'name') throw new UserError(`A key named ${shown(name)} already exists.`);
  if (r === 'fingerprint') throw new UserError(`That key is already added (${key.fingerprint}).`);
  return { name, fingerprint: key.fingerprint, admin };
}

/** keys:list --json (admins only). */
export function listKeys(actor: Actor): KeySummary[] {
  requireAdmin(actor, 'Only admins may run keys:list.');
  return actor.services.store.keys.list().map(({ name, fingerprint, type, admin, createdAt }) => ({ name, fingerprint, type, admin, createdAt }));
}

/** keys:remove (admins only): the key, its grants and its tokens. */
export function removeKey(actor: Actor, rawName: string): { name: string } {
  requireAdmin(actor, 'Only admins may run keys:remove.');
  const name = label('key', rawName);
  if (!actor.services.store.keys.remove(name)) throw new UserError(`No key named ${shown(name)}.`);
  return { name };
}

/** access:grant (admins only): lets a key push to and manage an app. */
export function grantAccess(actor: Actor, rawApp: string, rawKey: string): { app: string; key: string } {
  requireAdmin(actor, 'Only admins may run access:grant.');
  const app = appName(rawApp);
  const key = label('key', rawKey);
  const { store } = actor.services;
  if (!store.apps.get(app)) throw new NotFoundError(shown(app));
  if (!store.keys.byName(key)) throw new UserError(`No key named ${shown(key)}.`);
  store.keys.grant(app, key);
  return { app, key };
}

/** access:revoke (admins only): takes a key's access to an app away. */
export function revokeAccess(actor: Actor, rawApp: string, rawKey: string): { app: string; key: string } {
  requireAdmin(actor, 'Only admins may run access:revoke.');
  const app = appName(rawApp);
  const key = label('key', rawKey);
  if (!actor.services.store.keys.revoke(app, key)) throw new UserError(`${key} had no access to ${app}.`);
  return { app, key };
}

/** access APP --json: the keys granted the app (admins may use every app besides). */
export function appAccess(actor: Actor, app: string): { app: string; keys: string[] } {
  return { app, keys: actor.services.store.keys.grantsOf(app) };
}
