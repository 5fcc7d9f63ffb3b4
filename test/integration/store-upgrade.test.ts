// An install upgraded from an old Slipway: the local `slipway` CLI, a real process, on a data dir
// whose store is a recorded fixture of an earlier schema (test/fixtures/stores/, see
// test/unit/store-migrations.test.ts). It migrates the store when it opens it and shows the
// user the apps, config, releases, keys, tokens and jobs that were there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { inspectStoreFile, SCHEMA_VERSION } from '../../server/store/db.ts';
import { fixtureFile } from '../../scripts/record-store-fixtures.ts';

const cli = join(import.meta.dirname, '..', '..', 'bin', 'slipway.ts');
const dirs: string[] = [];
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A data dir holding the store of schema `n`'s fixture, as an older Slipway left it. */
function dataDirAt(n: number): string {
  const base = mkdtempSync(join(tmpdir(), `slipway-upgrade-${n}-`));
  dirs.push(base);
  const dir = join(base, 'data');
  mkdirSync(dir, { mode: 0o700 });
  const db = new DatabaseSync(join(dir, 'slipway.db'), { enableForeignKeyConstraints: false });
  try { db.exec(readFileSync(fixtureFile(n), 'utf8')); } finally { db.close(); }
  return dir;
}

/** Runs the local CLI on `dataDir`; asserts it exits 0 and returns what it printed. */
async function slipway(dataDir: string, ...args: string[]): Promise<string> {
  const r = await run(process.execPath, [cli, ...args], { env: { SLIPWAY_DATA_DIR: dataDir } });
  assert.equal(r.exitCode, 0, `slipway ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('the local CLI on a store of schema 1 migrates it and shows its apps, config, releases, keys and tokens', async () => {
  const dir = dataDirAt(1);
  const apps = JSON.parse(await slipway(dir, 'apps:list', '--json')) as { name: string; release: string | null }[];
  assert.deepEqual(apps.map((a) => [a.name, a.release]), [['blog', null], ['shop', 'v2'], ['shop--feature-login-1a2b3c', null]]);
  assert.deepEqual(inspectStoreFile(join(dir, 'slipway.db')), { schema: SCHEMA_VERSION, integrity: 'ok' });
  // The store as it was, copied before it was migrated (and only then: the next command copies nothing).
  const copies = readdirSync(join(dir, 'upgrades'));
  assert.equal(copies.length, 1, copies.join(' '));
  assert.match(copies[0]!, new RegExp(`^store-before-v${SCHEMA_VERSION}-.+\\.sqlite$`));
  assert.deepEqual(inspectStoreFile(join(dir, 'upgrades', copies[0]!)), { schema: 1, integrity: 'ok' });
  // Its secrets were sealed on the way, with a key made in the data dir's key folder.
  assert.match(readdirSync(join(dir, 'keys')).join(), /^store-[0-9a-f]{16}\.key$/);
  assert.equal(readFileSync(join(dir, 'slipway.db')).includes('second line; $HOME'), false, 'no config value in clear in the migrated file');
  assert.equal(await slipway(dir, 'config:get', 'shop', 'GREETING'), 'héllo "world"\nsecond line; $HOME `x`', 'the value as it was stored, newline and all');
  const release = await slipway(dir, 'releases:info', 'shop', 'v2');
  assert.match(release, /Status: +succeeded/);
  assert.match(release, /Config vars: +DATABASE_URL, GREETING/);
  assert.match(await slipway(dir, 'keys:list'), /alice +SHA256:alice0+ +admin\nbob +SHA256:bob0+ +deployer/);
  // Schema 11 gave every token its key's rights: admin for alice's, deploy for bob's.
  assert.match(await slipway(dir, 'tokens:list'), /child +alice +admin .*\nci +alice +admin .*\nlaptop +bob +deploy /);
  assert.equal(readdirSync(join(dir, 'upgrades')).length, 1);
});

test('the local CLI on a store from a newer Slipway refuses with one sentence and changes nothing', async () => {
  const dir = dataDirAt(SCHEMA_VERSION);
  const file = join(dir, 'slipway.db');
  const db = new DatabaseSync(file);
  try { db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`); } finally { db.close(); }
  const before = readFileSync(file);
  const r = await run(process.execPath, [cli, 'apps:list'], { env: { SLIPWAY_DATA_DIR: dir } });
  assert.equal(r.exitCode, 1, r.stderr);
  assert.equal(r.stderr, ` !     The store ${file} is at schema ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION} this Slipway knows: it was written by a newer Slipway, so run that version (or restore a backup taken before it); nothing was changed.`);
  assert.deepEqual(readFileSync(file), before);
  assert.deepEqual(readdirSync(dir), ['slipway.db']);
});

test('the local CLI on a store of schema 17 shows its volumes, egress exceptions, jobs (a webhook\'s among them) and limits', async () => {
  const dir = dataDirAt(17);
  assert.match(await slipway(dir, 'storage:list', 'shop'), /uploads +1Gi .* web:\/app\/uploads\ncache +256Mi .* not mounted/);
  assert.match(await slipway(dir, 'egress', 'shop'), /10\.20\.0\.0\/16 port 5432\n192\.0\.2\.7\/32 every port/);
  assert.match(await slipway(dir, 'jobs', 'blog'), /job-blog-2 +sync +running .*\njob-blog-1 +config:set +failed/);
  assert.match(await slipway(dir, 'resource:report', 'shop'), /Every type: limits at most memory 1Gi, set by alice\./);
  assert.deepEqual(inspectStoreFile(join(dir, 'slipway.db')), { schema: SCHEMA_VERSION, integrity: 'ok' });
});
