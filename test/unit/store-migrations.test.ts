// Migrations from every schema version that shipped (issue 38, section 4): each fixture in
// test/fixtures/stores/ is a store at one schema with the same few rows in every table it has,
// recorded by scripts/record-store-fixtures.ts when that schema was the newest and kept since. The
// current openStore must migrate each to SCHEMA_VERSION and read back every row with its value,
// and the columns added after the fixture's schema with their defaults. A migration that fails
// must leave the store at the schema it was at, even after others succeeded before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { openStore, type Store } from '../../server/store/index.ts';
import { inspectStoreFile, SCHEMA_VERSION } from '../../server/store/db.ts';
import { sessionsStore } from '../../server/store/sessions.ts';
import { dump, FIXTURE_DIR, FIXTURE_KEY_DIR, fixtureFile, migratedTo, SEALED_SINCE } from '../../scripts/record-store-fixtures.ts';
import { verifyAudit } from '../../server/ops/audit/verify.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const T0 = '2026-11-20T10:00:00.000Z';
const T1 = '2026-11-21T11:30:00.000Z';
const T2 = '2026-11-22T12:45:00.000Z';
const PREVIEW = 'shop--feature-login-1a2b3c';
const GREETING = 'héllo "world"\nsecond line; $HOME `x`';

const dirs: string[] = [];
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A store file in a new temporary directory, made from the fixture of schema `n` (as the fixture holds it, not migrated). */
function storeAt(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-schema-${n}-`));
  dirs.push(dir);
  const file = join(dir, 'slipway.db');
  const db = new DatabaseSync(file, { enableForeignKeyConstraints: false });
  try { db.exec(readFileSync(fixtureFile(n), 'utf8')); } finally { db.close(); }
  // From the schema that seals secrets on, a store comes with its key folder.
  if (n >= SEALED_SINCE) {
    mkdirSync(join(dir, 'keys'), { mode: 0o700 });
    // 0600 as the server makes it (git keeps the fixture's file 0644; a key others may read is refused).
    for (const f of readdirSync(FIXTURE_KEY_DIR)) {
      copyFileSync(join(FIXTURE_KEY_DIR, f), join(dir, 'keys', f));
      chmodSync(join(dir, 'keys', f), 0o600);
    }
  }
  return file;
}

/** Every secret the fixtures hold in clear before SEALED_SINCE (a part of each, for the raw file's bytes). */
const SECRETS = ['postgres://shop:pw@db', 'second line', 'GREETING":"hi', 'whsec-blog', 'MIIE', '\nDB\n-----END PRIVATE', '\nCA\n-----END PRIVATE', 'otel.example/v1/logs', 'logs.example:6514', 'X-Team'];

/** The migrated store's secret columns hold only sealed values, and its file (and WAL) none of the secrets in clear. */
function checkSealed(file: string): void {
  withRaw(file, (db) => {
    const texts = [
      ...db.prepare('SELECT value AS v FROM config').all(), ...db.prepare('SELECT config AS v FROM releases').all(),
      ...db.prepare('SELECT password AS v FROM data_services UNION ALL SELECT tls_key FROM data_services').all(),
      ...db.prepare('SELECT key AS v FROM data_ca UNION ALL SELECT key_pem FROM certs UNION ALL SELECT webhook_secret FROM syncs WHERE webhook_secret IS NOT NULL').all(),
      ...db.prepare('SELECT url AS v FROM drains UNION ALL SELECT headers FROM drains').all(),
    ].map((r) => (r as { v: string }).v);
    for (const t of texts) assert.match(t, /^sealed:v1:[0-9a-f]{16}:[A-Za-z0-9+/=]+$/);
  });
  const bytes = readFileSync(file).toString('latin1');
  for (const secret of SECRETS) assert.ok(!bytes.includes(secret), `the store file holds ${JSON.stringify(secret)} in clear`);
}

/** Runs `f` on the file with node:sqlite (not the store's driver), then closes it. */
function withRaw<T>(file: string, f: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try { return f(db); } finally { db.close(); }
}

/**
 * The schema as SQLite keeps it: every table and index with its SQL text. Quotes around a plain
 * name are dropped: how ALTER TABLE RENAME quotes the new name is SQLite's choice, not the schema.
 */
function schemaOf(db: DatabaseSync): string[] {
  return (db.prepare("SELECT type || ' ' || name || ': ' || sql AS s FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name").all() as { s: string }[])
    .map((r) => r.s.replace(/"(\w+)"/g, '$1'));
}

const version = (db: DatabaseSync) => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;

/** The message that tells the next developer what to do about a missing fixture. */
const missing = (n: number) =>
  `${relative(ROOT, fixtureFile(n))} is missing: record it with \`node scripts/record-store-fixtures.ts\` while schema ${n} is the newest, and commit it (docs/testing.md, "Store fixtures").`;

/** Checks every recorded row of a fixture of schema `n`, read through the store after migrating. */
function checkRows(s: Store, n: number): void {
  const since = (v: number) => n >= v;

  // Apps, with the columns added later at their defaults.
  assert.deepEqual(s.apps.list().map((a) => a.name), ['blog', 'shop', PREVIEW]);
  assert.deepEqual(s.apps.get('shop'), { name: 'shop', deployBranch: 'main', builder: null, warmSeconds: since(16) ? 120 : null, createdAt: T0, lock: null });
  assert.deepEqual(s.apps.get('blog'), { name: 'blog', deployBranch: null, builder: 'pack', warmSeconds: null, createdAt: T1, lock: { owner: 'push by bob', pid: 4242, at: T2 } });
  assert.equal(s.db.prepare<[string], { v: string | null }>('SELECT lock_started AS v FROM apps WHERE name = ?').get('blog')!.v, since(4) ? '123456' : null);
  assert.equal(s.certs.auto('shop'), true);
  assert.equal(s.certs.auto('blog'), !since(6), 'certs:auto:disable is kept; before schema 6 every app has automatic certificates');

  // Config, byte for byte.
  assert.deepEqual(s.config.all('shop'), { DATABASE_URL: 'postgres://shop:pw@db:5432/shop', GREETING });
  assert.deepEqual(s.config.all('blog'), { EMPTY: '' });

  // Keys and grants.
  assert.deepEqual(s.keys.list().map((k) => [k.name, k.admin, k.type, k.createdAt]), [['alice', true, 'ssh-ed25519', T0], ['bob', false, 'ssh-ed25519', T0]]);
  assert.equal(s.keys.byFingerprint('SHA256:bob00000000000000000000000000000000000000000')?.name, 'bob');
  assert.deepEqual(s.keys.grantsOf('blog'), ['bob']);
  assert.deepEqual(s.apps.list('bob').map((a) => a.name), ['blog']);

  // Tokens: before schema 11 a token takes its key's rights (admin for an admin key's, deploy for any other).
  const scopes = since(11) ? { child: 'deploy', ci: 'admin', laptop: 'read' } : { child: 'admin', ci: 'admin', laptop: 'deploy' };
  // Tokens from before expiry (schema 29) never expire.
  assert.deepEqual(s.tokens.list(), [
    { name: 'child', keyName: 'alice', scope: scopes.child, createdAt: T2, lastUsedAt: null, expiresAt: null },
    { name: 'ci', keyName: 'alice', scope: scopes.ci, createdAt: T0, lastUsedAt: T1, expiresAt: null },
    { name: 'laptop', keyName: 'bob', scope: scopes.laptop, createdAt: T1, lastUsedAt: null, expiresAt: since(29) ? '2099-01-01T00:00:00.000Z' : null },
  ]);
  assert.equal(s.tokens.use('tok-bob-laptop')?.keyName, 'bob', 'a token still authenticates: its stored hash is kept');

  // Releases and their config snapshots.
  assert.deepEqual(s.releases.all('shop').map((r) => r.version), [2, 1]);
  const web = { type: 'web', command: ['web'], args: [], default: true };
  assert.deepEqual(s.releases.get('shop', 1), {
    app: 'shop', version: 1, description: 'Deploy 1111111', commit: '1'.repeat(40), image: 'registry.local/shop@sha256:aaaa',
    processes: [web], config: { GREETING: 'hi' }, checks: since(5) ? { web: [{ type: 'startup', path: '/health' }] } : {},
    cron: since(12) ? [{ id: 'nightly', command: 'rake cleanup', schedule: '@daily' }] : [], status: 'succeeded', createdAt: T0, finishedAt: T0,
    imageCollectedAt: since(7) ? T2 : null, configPrunedAt: since(8) ? T2 : null, createdBy: since(15) ? 'alice' : null, configChanges: null, runsAs: null,
  });
  assert.deepEqual(s.releases.get('shop', 2), {
    app: 'shop', version: 2, description: 'Set DATABASE_URL', commit: '1'.repeat(40), image: 'registry.local/shop@sha256:aaaa',
    processes: [web, { type: 'worker', command: ['worker'], args: [], default: false }],
    config: { DATABASE_URL: 'postgres://shop:pw@db:5432/shop', GREETING }, checks: {}, cron: [], status: 'succeeded', createdAt: T1, finishedAt: T1,
    imageCollectedAt: null, configPrunedAt: null, createdBy: since(15) ? 'bob' : null,
    configChanges: since(15) ? { added: ['DATABASE_URL'], changed: ['GREETING'], removed: [] } : null, runsAs: since(16) ? 1 : null,
  });
  assert.equal(s.releases.current('shop')?.version, 2);
  assert.equal(s.releases.current('blog'), undefined, "blog's only release failed");
  assert.equal(s.releases.get('blog', 1)?.status, 'failed');

  // Formation, domains, builds, settings.
  assert.deepEqual(s.formation.all('shop'), { web: 2, worker: 1 });
  assert.deepEqual(s.domains.list('shop'), ['www.shop.example']);
  assert.equal(s.domains.owner('www.shop.example'), 'shop');
  assert.deepEqual(s.builds.get('shop', 1), { id: 1, app: 'shop', commit: '1'.repeat(40), status: 'succeeded', logFile: 'builds/shop/1.log', image: 'registry.local/shop@sha256:aaaa', startedAt: T0, finishedAt: T0 });
  assert.equal(s.builds.latest('blog')?.id, 2);
  assert.equal(s.settings.get('example'), since(2) ? '{"recorded":true}' : undefined);

  // Day-2: checks, resources, stopped types; certificates; quotas and ceilings; egress.
  assert.deepEqual(s.checks.all('shop'), since(5) ? { web: [{ type: 'liveness', path: '/alive', port: 5000 }] } : {});
  assert.deepEqual(s.resources.all('shop'), since(5) ? [
    { process: '*', kind: 'limit', memory: '512Mi', cpu: '500m', memoryMax: since(8) ? '1Gi' : null, cpuMax: null, maxSetBy: since(8) ? 'alice' : null },
    { process: 'worker', kind: 'reserve', memory: '128Mi', cpu: null, memoryMax: null, cpuMax: null, maxSetBy: null },
  ] : []);
  assert.deepEqual(s.stopped.all('blog'), since(5) ? ['worker'] : []);
  assert.deepEqual(s.certs.uploaded('blog').map((c) => [c.host, c.certPem.split('\n')[1], c.keyPem.split('\n')[1]]), since(6) ? [['blog.example', 'MIIB', 'MIIE']] : []);
  assert.deepEqual(s.quotas.get('shop'), since(8) ? { pods: 8, memory: '4Gi', cpu: null, setBy: 'alice', setAt: T1 } : undefined);
  assert.deepEqual(s.egress.list('shop'), since(9) ? [{ cidr: '10.20.0.0/16', port: 5432 }, { cidr: '192.0.2.7/32' }] : []);

  // Jobs (their origins widened at 17), cron, volumes.
  assert.deepEqual(s.jobs.list('shop', 10), since(10) ? [{
    id: 'job-shop-1', kind: 'deploy', app: 'shop', by: 'alice', origin: 'push', status: 'succeeded', createdAt: T0, startedAt: T0, finishedAt: T0, release: 1, error: null, logFile: 'jobs/shop/job-shop-1.log', credential: null,
  }] : []);
  // The credential that started a job (schema 31); jobs from before say none.
  assert.equal(s.jobs.get('job-blog-1')?.credential ?? null, since(31) ? 'token ci' : null);
  assert.deepEqual(s.jobs.list('blog', 10).map((j) => [j.id, j.origin, j.status, j.error]), [
    ...since(17) ? [['job-blog-2', 'webhook', 'running', null]] : [],
    ...since(10) ? [['job-blog-1', 'http', 'failed', 'The rollout did not finish.']] : [],
  ]);
  assert.deepEqual(s.cron.suspended('shop'), since(12) ? ['nightly'] : []);
  assert.deepEqual(s.volumes.list('shop'), since(13) ? [
    { name: 'uploads', size: '1Gi', storageClass: null, mount: { process: 'web', path: '/app/uploads' }, createdAt: T1 },
    { name: 'cache', size: '256Mi', storageClass: 'local-path', mount: null, createdAt: T2 },
  ] : []);

  // Dashboard login codes and sessions, read at the time they were recorded (the store's clock).
  const sessions = sessionsStore(s.db, { now: () => 1795000000001 });
  assert.deepEqual(sessions.peekCode('c0de'.repeat(16)), since(14) ? { keyName: 'alice', expiresAt: 1795000060000 } : undefined);
  assert.deepEqual(sessions.list('bob').map((r) => [r.tokenHash?.slice(0, 8), r.tokenScope]), since(14) ? [['306a41f4', 'read']] : []);
  assert.equal(sessions.get('5e55'.repeat(16))?.seenAt, since(14) ? 1795000600000 : undefined);

  // Syncs and webhook deliveries; previews; databases, their authority, backups and drills.
  const sync = s.syncs.get('blog');
  assert.deepEqual(sync && [sync.url, sync.branch, sync.webhookSecret, sync.pollSeconds, sync.lastCommit, sync.lastResult, sync.setBy, sync.setVia],
    since(17) ? ['https://git.example/blog.git', 'main', 'whsec-blog', 300, '2'.repeat(40), 'Deployed 2222222 as v1.', 'bob', 'ssh'] : undefined);
  if (since(17)) assert.equal(s.syncs.claimDelivery('blog', 'delivery-1', 1795000000001), false, 'a recorded delivery is still refused as a replay');
  assert.deepEqual(s.previews.settings('shop'), since(18) ? { enabled: true, maxPreviews: 3, ttlSeconds: 86400, sharedKeys: ['GREETING'], forkDb: since(25) } : { enabled: false, maxPreviews: null, ttlSeconds: null, sharedKeys: [], forkDb: false });
  assert.deepEqual(s.previews.get(PREVIEW), since(18) ? { app: PREVIEW, parent: 'shop', branch: 'feature/login', commit: '3'.repeat(40), pushedAt: T2, createdAt: T2 } : undefined);
  assert.deepEqual(s.data.list('shop').map((d) => [d.name, d.kind, d.version, d.attachment, d.username, d.password, d.tlsCert.split('\n')[1], d.createdAt]),
    since(20) ? [['shop-db', 'postgres', '17', 'DATABASE_URL', 'shop', 'pw', 'DB', T1]] : []);
  assert.equal(s.data.ca('shop')?.cert.split('\n')[1], since(20) ? 'CA' : undefined);
  if (since(20)) {
    assert.equal(s.data.lastBackupAt('shop', 'shop-db'), since(21) ? T2 : null);
    assert.deepEqual(s.data.drills('shop', 'shop-db').last, since(21) ? { at: T2, ok: true, step: null, message: 'Restored and checked.', rpoS: 1.5, rtoMs: 42000 } : undefined);
    assert.equal(s.data.get('shop', 'shop-db')?.owner, since(22) ? 'shop-owner' : null, 'a store from before rotation: the login owns its data');
    assert.equal(s.data.backupAt('shop', 'shop-db'), since(23) ? '02:00' : null, 'a store from before schedules: a day after the last backup');
    assert.equal(s.previews.settings('shop').forkDb, since(25), "a store from before --fork-db: previews' databases start empty");
    assert.deepEqual(s.data.retiring(), since(22) ? [{ app: 'shop', name: 'shop-db', username: 'shop-old', since: T2 }] : []);
  }
  // The audit log (schema 24): its entries as recorded, their chain intact (hashes computed by the fixture recorder's own hand).
  assert.deepEqual(s.audit.list({ limit: 10 }).map((e) => [e.seq, e.actor, e.interface, e.action, e.app, e.outcome]),
    since(24) ? [[2, 'bob', 'git', 'push', 'blog', 'denied'], [1, 'alice', 'ssh', 'config:set', 'shop', 'ok']] : []);
  const chain = verifyAudit({ dataDir: join(tmpdir(), 'slipway-no-such-dir') }, s);
  assert.equal(chain.ok, true, chain.broken?.message);
  assert.equal(chain.entries, since(24) ? 2 : 0);
  // Log drains.
  assert.deepEqual(s.drains.all().map((d) => [d.app, d.url, d.headers, d.createdBy, d.sentSeen, d.lastOkAt]), since(27) ? [
    [null, 'otlp+https://otel.example/v1/logs', { 'X-Team': 'ops' }, 'alice', 0, null],
    ['shop', 'syslog+tls://logs.example:6514', {}, 'bob', 42, T2],
  ] : []);
  // OpenID Connect bindings (schema 29), and the session signed in through one.
  assert.deepEqual(s.oidc.list().map((b) => [b.claim, b.value, b.keyName, b.createdBy, b.createdAt]), since(29) ? [
    ['email', 'alice@example.com', 'alice', 'alice', T2],
    ['sub', '248289761001', 'bob', 'alice', T2],
  ] : []);
  assert.deepEqual(s.sessions.list('alice').map((r) => [r.hash.slice(0, 4), r.oidc, r.unbound]),
    since(29) ? [['0dc0', { claim: 'email', value: 'alice@example.com' }, false], ['5e55', null, false]] : since(14) ? [['5e55', null, false]] : []);
  // Apps that sleep at zero (schema 30): the setting, the sleeping preview, its wake.
  assert.deepEqual(['shop', 'blog', 'shop--feature-login-1a2b3c'].map((a) => s.sleep.after(a)), since(30) ? [0, null, 600] : [null, null, null]);
  assert.deepEqual(s.sleep.asleep(), since(30) ? [{ app: 'shop--feature-login-1a2b3c', since: T2 }] : []);
  assert.deepEqual(s.sleep.wakes('shop--feature-login-1a2b3c').map((w) => [w.asleepSince, w.startedAt, w.trigger, w.readyMs, w.error]), since(30) ? [[T1, T2, 'request', 2400, null]] : []);
  // Autoscaled process types (schema 32).
  assert.deepEqual(s.autoscale.all('shop'), since(32) ? [
    { process: 'web', min: 1, max: 4, cpu: 70, memory: null },
    { process: 'worker', min: 2, max: 3, cpu: 60, memory: 80 },
  ] : []);
  // Canary settings (schema 33).
  assert.deepEqual(s.canary.get('shop'), since(33) ? { steps: [10, 50, 100], stepSeconds: 300, margin: { errorPoints: 1, p95Ms: 100 }, setBy: 'alice', setAt: T2 } : undefined);
}

/** Checks that the migrated store takes writes where the recorded rows left off, and that its foreign keys still cascade. */
function checkWrites(s: Store, n: number): void {
  assert.equal(s.releases.create({ app: 'shop', description: 'Deploy after upgrade', commit: null, image: null, processes: [], config: {} }).version, 3);
  assert.equal(s.builds.start('blog', '4'.repeat(40), (id) => `builds/blog/${id}.log`).id, 3, 'build ids go on after the recorded ones (sqlite_sequence)');
  assert.equal(s.tokens.remove('alice', 'ci'), true);
  assert.deepEqual(s.tokens.list('alice').map((t) => t.name), n >= 19 ? [] : ['child'], 'a token made by a token goes with it from schema 19 on');
  assert.equal(s.apps.remove('shop'), true);
  for (const table of ['config', 'releases', 'formation', 'domains', 'builds', 'egress', 'volumes', 'jobs', 'data_services', 'data_drills', 'preview_settings', 'autoscale', 'wakes', 'canary_settings']) {
    assert.equal(s.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE app = 'shop'`).get()!.n, 0, `${table}: an app's rows go with it`);
  }
  // The audit log keeps an app's entries after the app is gone.
  assert.equal(s.audit.list({ app: 'shop', limit: 10 }).length, n >= 24 ? 1 : 0);
  // Its preview's row goes with it (the preview app itself is removed by apps:destroy, not by the store).
  assert.equal(s.previews.get(PREVIEW), undefined);
}

// One test per schema version, 1 to SCHEMA_VERSION: a version without a fixture fails, naming the file.
for (let n = 1; n <= SCHEMA_VERSION; n++) {
  test(`a store at schema ${n} migrates to schema ${SCHEMA_VERSION} with every row it held`, () => {
    if (!existsSync(fixtureFile(n))) assert.fail(missing(n));
    const file = storeAt(n);
    withRaw(file, (db) => {
      assert.equal(version(db), n, 'the fixture is at its schema');
      // A fixture is the schema the migrations made when it was recorded: if today's MIGRATIONS[0..n)
      // make another one, a shipped migration was edited, and stores out there differ from new ones.
      const made = migratedTo(n);
      try {
        assert.deepEqual(schemaOf(db), schemaOf(made), `MIGRATIONS[0..${n}) no longer make the schema recorded in schema-${n}.sql: a shipped migration was edited (they are append only; add a new one)`);
      } finally { made.close(); }
    });
    const s = openStore(file);
    try {
      assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(s.db.pragma('foreign_key_check'), []);
      checkRows(s, n);
    } finally {
      s.close();
    }
    checkSealed(file);
    const w = openStore(file);
    try {
      checkWrites(w, n);
    } finally {
      w.close();
    }
    withRaw(file, (db) => {
      const fresh = migratedTo(SCHEMA_VERSION);
      try {
        assert.deepEqual(schemaOf(db), schemaOf(fresh), `migrated from schema ${n}, the store has the schema a new store has`);
      } finally { fresh.close(); }
    });
  });
}

test('the test lists a missing fixture by its file and says how to record it', () => {
  assert.match(missing(SCHEMA_VERSION + 1), new RegExp(`^test/fixtures/stores/schema-${SCHEMA_VERSION + 1}\\.sql is missing: record it with \`node scripts/record-store-fixtures\\.ts\``));
});

test('no fixture is newer than the schema (a migration was removed, or a fixture came from another branch)', () => {
  const versions = readdirSync(FIXTURE_DIR).map((f) => /^schema-(\d+)\.sql$/.exec(f)).filter((m) => m !== null).map((m) => Number(m[1]));
  assert.deepEqual(versions.filter((v) => v > SCHEMA_VERSION), []);
  assert.equal(readdirSync(FIXTURE_DIR).length, versions.length, 'test/fixtures/stores holds only schema-N.sql files');
});

test('the fixtures stay small', () => {
  for (const f of readdirSync(FIXTURE_DIR)) assert.ok(readFileSync(join(FIXTURE_DIR, f)).length < 32 * 1024, `${f} is over 32 KiB`);
});

// Each migration runs in its own transaction (server/store/db.ts, migrate): one that fails leaves
// the store at the schema before it, every row as it was. A store at schema 16 with a table in
// the way of migration 17 (jobs_v17, which 17 makes after its other tables) fails halfway through 17.
test('a migration that fails halfway leaves the store exactly as it was', () => {
  const file = storeAt(16);
  const before = withRaw(file, (db) => { db.exec('CREATE TABLE jobs_v17 (x)'); return dump(db); });
  assert.throws(() => openStore(file), /table jobs_v17 already exists/);
  withRaw(file, (db) => {
    assert.equal(dump(db), before, 'schema, rows and user_version are as they were');
    assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name IN ('syncs', 'hook_deliveries')").get(), undefined, "17's first statements were rolled back");
    db.exec('DROP TABLE jobs_v17');
  });
  assert.deepEqual(inspectStoreFile(file), { schema: 16, integrity: 'ok' });
  const s = openStore(file);
  try {
    assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'once the obstacle is gone the store migrates');
    checkRows(s, 16);
  } finally {
    s.close();
  }
});

// The pending migrations are one transaction together: from schema 10, a failure in 17 takes 11 to
// 16 back with it. The store is then at the schema it was, which the Slipway that wrote it still
// opens (it refuses a newer store), and the next start migrates it whole.
test('a migration that fails after others succeeded leaves the store at the schema it was, whole', () => {
  const file = storeAt(10);
  withRaw(file, (db) => db.exec('CREATE TABLE jobs_v17 (x)'));
  assert.throws(() => openStore(file), /table jobs_v17 already exists/);
  withRaw(file, (db) => {
    assert.equal(version(db), 10);
    const made = migratedTo(10);
    try {
      made.exec('CREATE TABLE jobs_v17 (x)');
      assert.deepEqual(schemaOf(db), schemaOf(made), 'the schema is exactly 10 (and the table in the way)');
    } finally { made.close(); }
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    db.exec('DROP TABLE jobs_v17');
  });
  const s = openStore(file);
  try {
    assert.equal(s.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    checkRows(s, 10);
  } finally {
    s.close();
  }
});

// The migration that seals the secrets is one transaction: a failure halfway (a trigger in the way
// of its certificates, after config and releases were sealed) leaves every value in clear, as it was.
test('the sealing migration that fails halfway leaves every value as it was, and then seals them all', () => {
  const file = storeAt(SEALED_SINCE - 1);
  const before = withRaw(file, (db) => {
    db.exec("CREATE TRIGGER in_the_way BEFORE UPDATE ON certs BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    return dump(db);
  });
  assert.throws(() => openStore(file), /injected failure/);
  withRaw(file, (db) => {
    assert.equal(dump(db), before, 'schema, rows and user_version are as they were');
    db.exec('DROP TRIGGER in_the_way');
  });
  const s = openStore(file);
  try {
    checkRows(s, SEALED_SINCE - 1);
  } finally {
    s.close();
  }
  checkSealed(file);
});

test('a sealed store without its key folder is refused with one sentence', () => {
  const file = storeAt(SEALED_SINCE);
  rmSync(join(file, '..', 'keys'), { recursive: true });
  assert.throws(() => openStore(file), /The store's secrets are sealed with key [0-9a-f]{16}, but .*store-[0-9a-f]{16}\.key is missing and SLIPWAY_STORE_KEY does not hold it/);
});
