// Secrets at rest (issue 38, section 3): the store's secret values (config vars, a release's copy of
// them, database passwords and TLS keys, data certificate authorities' keys, uploaded certificates'
// keys, webhook secrets) are sealed with AES-256-GCM under a key kept outside the database file, so
// a copy of the database alone reveals none of them.
//
// A sealed value is `sealed:v1:KEYID:BASE64(nonce ‖ ciphertext ‖ tag)`: a random 96-bit nonce per
// value, and associated data that names the value's column and row (`config.value`, app, key), so a
// sealed value copied into another row, another app or another column does not open. The key id in
// each value lets a rotation move values from one key to the next in one transaction, and a reader
// open values of either key meanwhile.
//
// Keys: files DATA_DIR/keys/store-KEYID.key (0600, in a 0700 folder; 32 random bytes in base64),
// the first made when the store is first opened, or given in SLIPWAY_STORE_KEY (from a secret
// manager: the first seals, any others only open). Which key new values are sealed with is
// recorded in the store itself (setting `store_key`), in the transaction that re-seals everything,
// so a crash anywhere in a rotation leaves every value sealed with a key whose file is still there.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './handle.ts';
import { UserError } from '../errors.ts';

/** Where the store's keys come from: the key folder, and keys given by the environment (first: the one to seal with). */
export interface StoreKeys {
  dir: string;
  /** Keys from SLIPWAY_STORE_KEY, base64 of 32 bytes each; the first seals new values. */
  given?: readonly string[];
}

/** A secret value that does not open: wrong key, missing key, or moved from another row. */
export class SealError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SealError';
  }
}

const PREFIX = 'sealed:v1:';
const FILE = /^store-([0-9a-f]{16})\.key$/;
/** The setting that names the key new values are sealed with. */
export const CURRENT_KEY_SETTING = 'store_key';

/** A key's id: the first 8 bytes of a hash of it, in hex (a value names its key without revealing it). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('slipway store key\0').update(key).digest('hex').slice(0, 16);
}

/** The key of one base64 text; one sentence when it is not 32 bytes. */
export function parseKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32 || key.toString('base64') !== trimmed) throw new SealError(`${where} must hold a key of 32 bytes in base64 (like \`openssl rand -base64 32\` prints).`);
  return key;
}

/** Whether a stored text is a sealed value (every secret column's value is, from schema 24). */
export const isSealed = (text: string): boolean => text.startsWith(PREFIX);

/** The key id a sealed value names. */
export function sealedWith(text: string): string | undefined {
  return isSealed(text) ? text.slice(PREFIX.length, PREFIX.length + 16) : undefined;
}

/** The associated data of a value: its format and key, its column and its row. */
const aadOf = (id: string, column: string, row: readonly (string | number)[]) =>
  Buffer.from([`${PREFIX}${id}`, column, ...row.map(String)].join('\0'));


/** Values opened kept in memory, by associated data and sealed text: a read of an app's config opens each value once. */
const OPENED_KEPT = 4096;

/** The store's keys and the sealing and opening of its secret values. */
export class Sealer {
  readonly #keys = new Map<string, Buffer>();
  /** The keys as OpenSSL key objects: made once (a raw key per cipher costs about 5× as much as the decryption). */
  readonly #objects = new Map<string, KeyObject>();
  /**
   * Opened values by `aad ‖ text`. A sealed text never changes (a new value gets a new nonce), and
   * its row is in the key, so a text moved to another row is opened (and refused) anew.
   */
  readonly #opened = new Map<string, string>();
  readonly #given: string[] = [];
  readonly #dir: string;
  #db: Db | undefined;

  constructor(keys: StoreKeys) {
    this.#dir = keys.dir;
    for (const [i, text] of (keys.given ?? []).entries()) {
      const key = parseKey(text, `SLIPWAY_STORE_KEY's key ${i + 1}`);
      this.#keys.set(keyId(key), key);
      this.#given.push(keyId(key));
    }
    this.reload();
  }

  /** The key folder. */
  get dir(): string { return this.#dir; }

  /** The store this sealer reads the current key's name from (set once the database is open). */
  attach(db: Db): void { this.#db = db; }

  /** The ids of the keys this sealer holds. */
  ids(): string[] { return [...this.#keys.keys()]; }

  /** Whether the key came from SLIPWAY_STORE_KEY (it has no file to make or remove). */
  given(id: string): boolean { return this.#given.includes(id); }

  /** Reads the key folder again (another process, such as a server's rotation, may have added a key). */
  reload(): void {
    if (!existsSync(this.#dir)) return;
    for (const name of readdirSync(this.#dir)) {
      const m = FILE.exec(name);
      if (!m || this.#keys.has(m[1]!)) continue;
      const file = join(this.#dir, name);
      // As ssh does with a private key: one others may read is refused, not used.
      if (statSync(file).mode & 0o077) throw new UserError(`${file} may be read by others than its owner (mode ${(statSync(file).mode & 0o777).toString(8)}): chmod 600 it (it opens every secret in the store).`);
      const key = parseKey(readFileSync(file, 'utf8'), file);
      if (keyId(key) !== m[1]) throw new SealError(`${file} holds another key than its name says; it was changed or renamed.`);
      this.#keys.set(m[1]!, key);
    }
  }

  /** The key file of `id`. */
  fileOf(id: string): string { return join(this.#dir, `store-${id}.key`); }

  /** A key by id, looking in the folder again once when it is not known yet. */
  #key(id: string): KeyObject {
    if (!this.#keys.has(id)) this.reload();
    const key = this.#keys.get(id);
    if (!key) throw new SealError(`A secret in the store is sealed with key ${id}, which is neither in ${this.#dir} (store-${id}.key) nor in SLIPWAY_STORE_KEY: restore that key file (every backup of Slipway holds it).`);
    let object = this.#objects.get(id);
    if (!object) this.#objects.set(id, object = createSecretKey(key));
    return object;
  }

  /**
   * The id of the key new values are sealed with: SLIPWAY_STORE_KEY's first when given, else the
   * one the store names; for a store that names none yet, a new key file is made and named.
   */
  current(): string {
    if (this.#given[0]) return this.#given[0];
    const db = this.#db;
    if (!db) throw new Error('the sealer is not attached to a store');
    const named = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get(CURRENT_KEY_SETTING)?.value;
    if (named) return named;
    const id = this.createKey();
    this.setCurrent(id);
    return id;
  }

  /** Names the key new values are sealed with (inside the caller's transaction). */
  setCurrent(id: string): void {
    this.#db!.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(CURRENT_KEY_SETTING, id);
  }

  /** Checks that the key the store names is at hand: one sentence at start-up rather than at the first read. */
  check(): void {
    const named = this.#db!.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get(CURRENT_KEY_SETTING)?.value;
    if (!named) return;
    try {
      this.#key(named);
    } catch (err) {
      throw new UserError(`The store's secrets are sealed with key ${named}, but ${this.fileOf(named)} is missing and SLIPWAY_STORE_KEY does not hold it: restore that file from a backup of Slipway (or the secret manager it came from).`, { cause: err });
    }
  }

  /** A new random key, written to its file (0600, synced, renamed into place) before it is used. */
  createKey(): string {
    const key = randomBytes(32);
    const id = keyId(key);
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    chmodSync(this.#dir, 0o700);
    const file = this.fileOf(id);
    const partial = `${file}.partial`;
    const fd = openSync(partial, 'w', 0o600);
    try {
      writeSync(fd, `${key.toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
    // The rename is durable only once the folder is.
    const dirFd = openSync(this.#dir, 'r');
    try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
    this.#keys.set(id, key);
    return id;
  }

  /** Removes the key files of every key but `keep` (after a rotation committed: no value names them). */
  removeOthers(keep: string): string[] {
    const removed: string[] = [];
    for (const id of this.ids()) {
      if (id === keep || this.given(id)) continue;
      rmSync(this.fileOf(id), { force: true });
      this.#keys.delete(id);
      this.#objects.delete(id);
      removed.push(id);
    }
    this.#opened.clear();
    return removed;
  }

  /** Removes one key's file (a rotation that rolled back made it). */
  removeKey(id: string): void {
    rmSync(this.fileOf(id), { force: true });
    this.#keys.delete(id);
    this.#objects.delete(id);
    this.#opened.clear();
  }

  /** Every key this sealer holds, for a backup: id and base64. */
  exportKeys(): { id: string; base64: string }[] {
    return [...this.#keys].map(([id, key]) => ({ id, base64: key.toString('base64') }));
  }

  /** Seals `plain` as the value of `column` in the row `row`, with the current key (or `id`). */
  seal(plain: string, column: string, row: readonly (string | number)[], id: string = this.current()): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(id), nonce);
    cipher.setAAD(aadOf(id, column, row));
    const body = Buffer.concat([nonce, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${id}:${body.toString('base64')}`;
  }

  /** Opens a sealed value of `column` in `row`; SealError when it is not sealed, or not for this row, or its key is missing. */
  open(text: string, column: string, row: readonly (string | number)[]): string {
    const id = sealedWith(text);
    const where = `${column} of ${row.join('/')}`;
    if (!id || text[PREFIX.length + 16] !== ':') throw new SealError(`The ${where} in the store is not sealed: it was written by hand or by a Slipway older than schema 24.`);
    const body = Buffer.from(text.slice(PREFIX.length + 17), 'base64');
    if (body.length < 28) throw new SealError(`The ${where} in the store is damaged (too short to be sealed).`);
    const aad = aadOf(id, column, row);
    const kept = `${aad.toString('utf8')}\0${text}`;
    const known = this.#opened.get(kept);
    if (known !== undefined) return known;
    const decipher = createDecipheriv('aes-256-gcm', this.#key(id), body.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    let plain: string;
    try {
      plain = Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new SealError(`The ${where} in the store does not open with key ${id}: it was changed, or moved from another row.`, { cause: err });
    }
    if (this.#opened.size >= OPENED_KEPT) this.#opened.clear();
    this.#opened.set(kept, plain);
    return plain;
  }
}
