import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { Sealer, type StoreKeys } from './sealing.ts';
import { openAll, sealInPlace } from './secrets.ts';
import type { Db } from './handle.ts';

export type { Db };

export { MIGRATIONS, type Migration } from './migrations.ts';
import { MIGRATIONS } from './migrations.ts';

/** The schema version this Slipway migrates a store to (PRAGMA user_version). */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * A consistent copy of the open store in `file` (0600), taken with SQLite's online backup while
 * the server keeps writing: pages changed during the copy are copied again, so the copy is the
 * database as of one moment, which a plain file copy of a WAL database is not.
 */
export async function copyStore(db: Db, file: string): Promise<void> {
  closeSync(openSync(file, 'wx', 0o600));
  await db.backup(file);
  // A single file: the copy leaves WAL mode, which openDb turns on again where it is restored.
  const copy = new Database(file);
  try { copy.pragma('journal_mode = DELETE'); } finally { copy.close(); }
  chmodSync(file, 0o600);
}

/** What a copy of the store holds, opened read-only: its schema version and SQLite's integrity check. */
export function inspectStoreFile(file: string): { schema: number; integrity: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return { schema: db.pragma('user_version', { simple: true }) as number, integrity: rows.map((r) => r.integrity_check).join('; ') };
  } finally {
    db.close();
  }
}

/**
 * Points every image reference of a store file (a restored copy, not yet opened by a server)
 * named for the registry `from` at `to`, in one transaction; returns how many rows changed. What
 * follows the address (the repository and the digest) stays, so each still names the same image,
 * pushed to `to` under the same repository and digest.
 */
export function retargetImages(file: string, from: string, to: string): number {
  const db = new Database(file, { fileMustExist: true });
  try {
    // The columns that name an image by the registry's address (127.0.0.1:5000/slipway/APP@sha256:…).
    const args = [`${to}/`, from.length + 2, from.length + 1, `${from}/`] as const;
    return db.transaction(() =>
      db.prepare('UPDATE releases SET image = ? || substr(image, ?) WHERE substr(image, 1, ?) = ?').run(...args).changes
      + db.prepare('UPDATE builds SET image = ? || substr(image, ?) WHERE substr(image, 1, ?) = ?').run(...args).changes)();
  } finally {
    db.close();
  }
}

/** Where a store's keys are when nothing else is said: the `keys` folder beside its database file. */
export const defaultKeys = (file: string): StoreKeys => ({ dir: join(dirname(file), 'keys') });

/**
 * Opens every secret value of a store copy (read-only) with the keys in `keyDir`, as a restore of
 * it will: the number opened; throws, naming the value, when one does not open. A copy from
 * before secrets were sealed has none to open.
 */
export function openSecretsOf(file: string, keyDir: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    if ((db.pragma('user_version', { simple: true }) as number) < MIGRATIONS.indexOf(sealInPlace) + 1) return 0;
    const sealer = new Sealer({ dir: keyDir });
    sealer.attach(db);
    return openAll(db, sealer);
  } finally {
    db.close();
  }
}

/**
 * Opens (creating if needed) the database file: 0600, WAL, synchronous=FULL, migrated (with
 * `sealer`'s keys). `copy`: where copyBeforeMigrating put the store, named if a migration fails.
 */
export function openDb(file: string, sealer: Sealer = new Sealer(defaultKeys(file)), opts: { copy?: string } = {}): Db {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Create the file ourselves so it is never world-readable, even for an instant.
  closeSync(openSync(file, 'a', 0o600));
  // Read-only first, before anything is written (WAL mode is a write to the file's header, and a
  // writer's close checkpoints): a newer store is left as it is.
  refuseNewer(file, schemaOfFile(file));
  chmodSync(file, 0o600);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A value changed or deleted is overwritten in the file, not left in a free page: a value sealed
  // again (a rotation) or removed leaves nothing behind for a copy of the file to reveal.
  db.pragma('secure_delete = ON');
  sealer.attach(db);
  let rewrote: boolean;
  try {
    rewrote = migrate(db, sealer);
  } catch (err) {
    const at = schemaOf(db);
    db.close();
    if (opts.copy === undefined) throw err;
    throw new Error(`The store could not be migrated to schema ${SCHEMA_VERSION} and was left at schema ${at}, as it was; the copy taken before migrating is ${opts.copy}.`, { cause: err });
  }
  if (rewrote) {
    // Values were rewritten (sealed): the old pages, free or in the WAL, go now.
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  keepPrepared(db);
  for (const suffix of ['-wal', '-shm']) {
    try { chmodSync(file + suffix, 0o600); } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return db;
}

/** An existing store file opened read-only as it is: no pragma set, nothing migrated (a copy or a check of it). */
export function openAsIs(file: string): Db {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** The schema a store is at (PRAGMA user_version). */
export function schemaOf(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function schemaOfFile(file: string): number {
  const db = openAsIs(file);
  try { return schemaOf(db); } finally { db.close(); }
}

/** A store from a newer Slipway is never opened: this one would run on a schema it does not know. */
export function refuseNewer(file: string, schema: number): void {
  if (schema <= SCHEMA_VERSION) return;
  throw new UserError(`The store ${file} is at schema ${schema}, newer than the ${SCHEMA_VERSION} this Slipway knows: it was written by a newer Slipway, so run that version (or restore a backup taken before it); nothing was changed.`);
}

/**
 * Prepares each SQL text once and keeps the statement: preparing costs more than running one of
 * the store's small queries (it was the largest part of an API read's time under load,
 * bench/reads.ts). Every query of the store is a constant string with `?` parameters (the unit
 * test checks there is no interpolation), so the set is small and fixed, and no statement is
 * iterated or switched to pluck or raw mode, which one shared statement would not allow.
 */
function keepPrepared(db: Db): void {
  const prepare = db.prepare.bind(db);
  const kept = new Map<string, ReturnType<Db['prepare']>>();
  db.prepare = ((sql: string) => {
    let statement = kept.get(sql);
    if (!statement) kept.set(sql, statement = prepare(sql));
    return statement;
  }) as Db['prepare'];
}

/**
 * All the pending migrations in one transaction: a store is at the schema it was, or at this
 * Slipway's; never between, where neither the previous Slipway (which refuses a newer store) nor
 * this one could take it without its migrations. True when one of them rewrote values (sealed them).
 */
function migrate(db: Db, sealer: Sealer): boolean {
  const current = schemaOf(db);
  let rewrote = false;
  if (current >= MIGRATIONS.length) return rewrote;
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]!;
      if (typeof m === 'string') db.exec(m);
      else {
        m(db, sealer);
        rewrote = true;
      }
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
  return rewrote;
}

/** `(app, value)` rows as each app's values, in the rows' order. */
export function byApp(rows: readonly { app: string; value: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const list = out.get(r.app);
    if (list) list.push(r.value);
    else out.set(r.app, [r.value]);
  }
  return out;
}

/** The current time as stored in the database. */
export function now(): string {
  return new Date().toISOString();
}
