// The store across upgrades (issue 38, section 4): a store written by a newer Slipway is refused
// with one sentence and left byte for byte as it was; a store at an older schema is first copied
// with SQLite's online backup (the copy opened and checked) and only then migrated, all pending
// migrations in one transaction; a migration that fails leaves the store as it was and names
// the copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openStore, openStoreCopyingFirst } from '../../server/store/index.ts';
import { inspectStoreFile, SCHEMA_VERSION } from '../../server/store/db.ts';
import { copyBeforeMigrating, KEPT_COPIES, pruneCopies } from '../../server/store/copies.ts';
import { UserError } from '../../server/errors.ts';
import { dump, fixtureFile } from '../../scripts/record-store-fixtures.ts';

const dirs: string[] = [];
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-store-upgrade-'));
  dirs.push(dir);
  return dir;
}

/** A store file at schema `n` from its recorded fixture, in a new directory. */
function storeAt(n: number): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, 'slipway.db');
  const db = new DatabaseSync(file, { enableForeignKeyConstraints: false });
  try { db.exec(readFileSync(fixtureFile(n), 'utf8')); } finally { db.close(); }
  return { dir, file };
}

function raw<T>(file: string, f: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try { return f(db); } finally { db.close(); }
}

/** Every file in `dir` with its SHA-256 (the store's key folder, `keys/`, by its files too): what "nothing written" is checked against. */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().filter((f) => statSync(join(dir, f)).isFile()).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

const NEWER = new RegExp(`^The store \\S+slipway\\.db is at schema ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION} this Slipway knows: it was written by a newer Slipway, so run that version \\(or restore a backup taken before it\\); nothing was changed\\.$`);

test('a store from a newer Slipway is refused with one sentence naming both schemas, and nothing is written', async () => {
  const dir = tempDir();
  const file = join(dir, 'slipway.db');
  openStore(file).close();
  // What a newer Slipway leaves: its own schema version, in a file that is not in WAL mode any more
  // (so that turning WAL on would be a visible write).
  raw(file, (db) => { db.exec(`PRAGMA journal_mode = DELETE; PRAGMA user_version = ${SCHEMA_VERSION + 1}`); });
  const before = files(dir);
  assert.deepEqual(Object.keys(before).filter((f) => !f.startsWith('keys')), ['slipway.db']);

  assert.throws(() => openStore(file), (err: Error) => err instanceof UserError && NEWER.test(err.message));
  await assert.rejects(openStoreCopyingFirst(file, join(dir, 'upgrades')), (err: Error) => err instanceof UserError && NEWER.test(err.message));
  await assert.rejects(copyBeforeMigrating(file, join(dir, 'upgrades')), (err: Error) => NEWER.test(err.message));
  assert.deepEqual(files(dir), before, 'the store file is byte for byte as it was, no -wal, no copies directory');
  assert.equal(raw(file, (db) => (db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode), 'delete');
});

test('a store at this schema, a new one and no store at all are not copied', async () => {
  const dir = tempDir();
  const file = join(dir, 'slipway.db');
  assert.equal(await copyBeforeMigrating(file, join(dir, 'upgrades')), undefined, 'no store yet');
  const { store, copy } = await openStoreCopyingFirst(file, join(dir, 'upgrades'));
  store.close();
  assert.equal(copy, undefined, 'a new store');
  assert.equal(await copyBeforeMigrating(file, join(dir, 'upgrades')), undefined, 'at this schema');
  assert.equal(existsSync(join(dir, 'upgrades')), false);
});

test('a store at an older schema is copied first, the copy proven, then migrated', async () => {
  const { dir, file } = storeAt(16);
  const copies = join(dir, 'upgrades');
  const was = raw(file, dump);
  const at = new Date('2026-12-05T15:04:05.678Z');
  const copy = await copyBeforeMigrating(file, copies, at);
  assert.equal(copy, join(copies, `store-before-v${SCHEMA_VERSION}-2026-12-05T15-04-05-678Z.sqlite`));
  assert.deepEqual(inspectStoreFile(copy), { schema: 16, integrity: 'ok' });
  assert.equal(statSync(copy).mode & 0o777, 0o600);
  assert.equal(statSync(copies).mode & 0o777, 0o700);
  assert.equal(raw(copy, dump), was, 'the copy holds every row and the schema of the store before');

  const { store, copy: second } = await openStoreCopyingFirst(file, copies);
  try {
    assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.match(basename(second!), new RegExp(`^store-before-v${SCHEMA_VERSION}-.*\\.sqlite$`));
    assert.equal(raw(second!, dump), was);
  } finally {
    store.close();
  }
  // Once migrated, a further start copies nothing.
  assert.equal((await openStoreCopyingFirst(file, copies)).copy, undefined);
});

test('the copy is the database as of one moment, with what another connection wrote and did not checkpoint', async () => {
  const { dir, file } = storeAt(20);
  // Another connection in WAL mode with its writes still in the -wal file (a plain copy of
  // slipway.db alone would miss them).
  const other = new DatabaseSync(file);
  try {
    other.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0');
    other.exec("INSERT INTO settings (key, value) VALUES ('written-late', 'yes')");
    assert.ok(statSync(`${file}-wal`).size > 0);
    const copy = await copyBeforeMigrating(file, join(dir, 'upgrades'));
    assert.deepEqual(inspectStoreFile(copy!), { schema: 20, integrity: 'ok' });
    assert.deepEqual(raw(copy!, (db) => ({ ...db.prepare("SELECT value FROM settings WHERE key = 'written-late'").get() })), { value: 'yes' });
    assert.equal(existsSync(`${copy}-wal`), false, 'the copy is one file');
  } finally {
    other.close();
  }
});

test('a migration that fails leaves the store as it was and its error names the copy', async () => {
  const { dir, file } = storeAt(10);
  // A table in the way of migration 17 (as in store-migrations.test.ts): 11 to 16 succeed first.
  raw(file, (db) => db.exec('CREATE TABLE jobs_v17 (x)'));
  const was = raw(file, dump);
  const copies = join(dir, 'upgrades');
  await assert.rejects(openStoreCopyingFirst(file, copies), (err: Error) => {
    const [copy] = readdirSync(copies);
    assert.equal(err.message, `The store could not be migrated to schema ${SCHEMA_VERSION} and was left at schema 10, as it was; the copy taken before migrating is ${join(copies, copy!)}.`);
    assert.match(String((err.cause as Error).message), /table jobs_v17 already exists/);
    return true;
  });
  assert.equal(raw(file, dump), was, 'schema, rows and user_version as they were');
  const [copy] = readdirSync(copies);
  assert.equal(raw(join(copies, copy!), dump), was, 'the copy is the store as it was');
  assert.deepEqual(inspectStoreFile(file), { schema: 10, integrity: 'ok' });
});

test('a migration that succeeds keeps the newest copies only; a failed one and other files are left alone', async () => {
  const { dir, file } = storeAt(25);
  const copies = join(dir, 'upgrades');
  mkdirSync(copies, { mode: 0o700 });
  // Copies from earlier upgrades (schema 9 sorts before schema 10 by number, not by text), and a file of the admin's.
  const earlier = ['store-before-v9-2026-01-01T00-00-00-000Z.sqlite', 'store-before-v10-2025-12-01T00-00-00-000Z.sqlite',
    'store-before-v10-2026-02-01T00-00-00-000Z.sqlite', 'store-before-v27-2026-11-01T00-00-00-000Z.sqlite'];
  for (const f of [...earlier, 'notes.txt']) writeFileSync(join(copies, f), 'x');
  const { store, copy } = await openStoreCopyingFirst(file, copies);
  store.close();
  assert.equal(KEPT_COPIES, 3);
  assert.deepEqual(readdirSync(copies).sort(), [basename(copy!), 'notes.txt', earlier[2]!, earlier[3]!].sort());
  assert.deepEqual(pruneCopies(copies, 1), [earlier[2], earlier[3]]);
  assert.deepEqual(readdirSync(copies).sort(), [basename(copy!), 'notes.txt'].sort());
});
