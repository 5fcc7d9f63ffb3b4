// pg:upgrade over the real SSH server and /api/v1, with the fake deployer at Slipway's Deployer
// interface: a backup of the source first, a NEW database restored from its backup volume with the
// 17 image, then started with the 18 image to upgrade (PG_UPGRADE_FROM), checked (its version, the
// heartbeat, the row counts before and after), backed up, and promoted to DATABASE_URL in one
// release, the source kept as POSTGRES_URL (rollback brings it back). Refusals write nothing; a
// failure at any step removes the new database and leaves config and releases as they were. On a
// real cluster with the real images: test/e2e/databases-upgrade.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';

const PG17 = 'registry.test/slipway/postgres:17';
const PG18 = 'registry.test/slipway/postgres18:18';

describe('pg:upgrade', { timeout: 120_000 }, () => {
  let s: TestServer;
  const config = async (app: string) => JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
  const releases = async (app: string) => JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number }[];
  const addons = async (app: string) => JSON.parse((await s.ssh(s.admin, `addons ${app} --json`)).stdout) as { name: string; version: string; attachment: string; lastBackupAt?: unknown }[];
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app);
  /** An app with a Postgres 17 database attached as DATABASE_URL, and what it looks like. */
  const withDatabase = async (prefix: string) => {
    const { app } = await deployedApp(s, prefix);
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    return { app, config: await config(app), releases: await releases(app), addons: await addons(app) };
  };
  /** Nothing changed since `before` (but the time of the source's last backup: an upgrade takes one first), and no new database is on the cluster. */
  const unchanged = async (before: Awaited<ReturnType<typeof withDatabase>>) => {
    const { app } = before;
    const shown = (list: { lastBackupAt?: unknown }[]) => list.map(({ lastBackupAt: _, ...a }) => a);
    assert.deepEqual(await config(app), before.config, 'config as it was');
    assert.deepEqual(await releases(app), before.releases, 'no release');
    assert.deepEqual(shown(await addons(app)), shown(before.addons), 'the same databases');
    assert.deepEqual([...s.deployer.data.running.keys()].filter((k) => k.startsWith(`${app}/`)), before.addons.map((a) => `${app}/${a.name}`), 'the new database is gone');
  };

  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: PG17, SLIPWAY_POSTGRES18_IMAGE: PG18, SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8', SLIPWAY_APP_MAX_DATABASES: '3', SLIPWAY_STORAGE_MAX_SIZE: '4Gi', SLIPWAY_APP_MAX_STORAGE: '8Gi' });
  });
  after(() => s.close());

  test('a new database restored, upgraded with the 18 image, checked and promoted in one release; the source stays as POSTGRES_URL; rollback brings it back', async () => {
    const before = await withDatabase('pgup');
    const { app } = before;
    const applied = s.deployer.data.applies.length;
    const commands = s.deployer.data.commands.length;
    const r = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`-----> Backing up postgres of ${app} first \\(incremental\\)\\n`));
    assert.match(r.stdout, /-----> Restoring postgres \(Postgres 17\) into a new database postgres-2 \(postgres is not touched\)\n/);
    assert.match(r.stdout, /Restored in [\d.]+ s: 2 tables, 4 rows; newest heartbeat 2026-12-05T09:08:12\.680144Z\n/);
    assert.match(r.stdout, /-----> Upgrading postgres-2 to Postgres 18 \(pg_upgrade --link, then its statistics\)\n/);
    assert.match(r.stdout, /-----> Promoting postgres-2 to DATABASE_URL \(postgres stays, as POSTGRES_URL\)\n/);
    assert.match(r.stdout, new RegExp(`Upgraded postgres \\(Postgres 17\\) into postgres-2 \\(Postgres 18\\.6 \\(Debian 18\\.6-3\\); 2 tables, 4 rows, the same as before pg_upgrade; restored in [\\d.]+ s, upgraded in [\\d.]+ s\\), now DATABASE_URL in v${before.releases.length + 1}\\npostgres stays, with its data as it was; rollback brings it back, addons:destroy ${app} postgres removes it`));

    const [restoring, upgrading] = s.deployer.data.applies.slice(applied);
    assert.deepEqual([restoring!.name, restoring!.image, restoring!.restore, restoring!.upgradeFrom], ['postgres-2', PG17, { fromClaim: 'db-postgres.backup' }, undefined], 'restored by the 17 image from the source\'s backup volume');
    assert.deepEqual([upgrading!.name, upgrading!.image, upgrading!.restore, upgrading!.upgradeFrom], ['postgres-2', PG18, undefined, '17'], 'then the 18 image upgrades it, on its own volumes');
    assert.equal(upgrading!.credentials.username, s.deployer.data.running.get(`${app}/postgres`)!.credentials.username, 'the roles come with the data');
    assert.deepEqual(s.deployer.data.commands.slice(commands), [
      `${app}/postgres backup incr`,
      `${app}/postgres-2 last-heartbeat`, `${app}/postgres-2 row-counts`,
      `${app}/postgres-2 server-version`, `${app}/postgres-2 last-heartbeat`, `${app}/postgres-2 row-counts`,
      `${app}/postgres-2 backup full`,
    ], 'the source is only backed up');

    const cfg = await config(app);
    assert.match(cfg.DATABASE_URL!, new RegExp(`@db-postgres-2\\.slipway-${app}\\.svc:5432/`));
    assert.equal(cfg.POSTGRES_URL, before.config.DATABASE_URL);
    assert.equal((await releases(app)).length, before.releases.length + 1, 'one release');
    assert.equal(lastDeploy(app)!.config.DATABASE_URL, cfg.DATABASE_URL);
    assert.deepEqual((await addons(app)).map((a) => [a.name, a.version, a.attachment]), [['postgres', '17', 'POSTGRES_URL'], ['postgres-2', '18', 'DATABASE_URL']]);

    // Restarted later (any re-apply), it runs the 18 image.
    assert.equal((await s.ssh(s.admin, `pg:backups:verify ${app} postgres-2`)).exitCode, 0);
    assert.equal(s.deployer.data.drills.at(-1)!.image, PG18, 'its restore drill runs the 18 image');

    const again = await s.ssh(s.admin, `pg:upgrade ${app} postgres-2 --to 18`);
    assert.deepEqual([again.exitCode, again.stderr], [1, ' !     --to 18 is not newer than the database\'s Postgres 18; pg:upgrade only goes to a newer major.']);

    assert.equal((await s.ssh(s.admin, `rollback ${app}`)).exitCode, 0);
    assert.equal(lastDeploy(app)!.config.DATABASE_URL, before.config.DATABASE_URL, 'a rollback brings the old database back with the old release');
  });

  test('refusals are one sentence and write nothing', async () => {
    const before = await withDatabase('pgupbad');
    const { app } = before;
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const withValkey = { ...before, config: await config(app), releases: await releases(app), addons: await addons(app) };
    const backups = s.deployer.data.commands.length;
    for (const [cmd, code, want] of [
      [`pg:upgrade ${app}`, 2, ' !     pg:upgrade needs --to, the major to upgrade to (--to 18).'],
      [`pg:upgrade ${app} --to 17`, 1, ' !     --to 17 is not newer than the database\'s Postgres 17; pg:upgrade only goes to a newer major.'],
      [`pg:upgrade ${app} --to 16`, 1, ' !     --to 16 is not newer than the database\'s Postgres 17; pg:upgrade only goes to a newer major.'],
      [`pg:upgrade ${app} --to 19`, 1, ' !     Postgres 19 is not an upgrade this server offers; pg:upgrade goes to Postgres 18.'],
      [`pg:upgrade ${app} --to latest`, 1, ' !     --to takes a Postgres major version like 18, not "latest".'],
      [`pg:upgrade ${app} nosuch --to 18`, 1, ` !     ${app} has no database nosuch; addons ${app} lists its databases.`],
      [`pg:upgrade ${app} valkey --to 18`, 1, ' !     valkey is not a Postgres database; backups here are Postgres\'s (Valkey keeps its own snapshots).'],
      [`pg:upgrade ${app} --to 18 --name valkey`, 1, ` !     ${app} already has a database valkey; choose another with --name.`],
    ] as const) {
      const r = await s.ssh(s.admin, cmd);
      assert.deepEqual([r.exitCode, r.stderr.split('\n').find((l) => l.startsWith(' !'))], [code, want], cmd);
    }
    assert.equal(s.deployer.data.commands.length, backups, 'nothing run in any database');
    await unchanged(withValkey);

    const none = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: PG17 });
    try {
      const { app: other } = await deployedApp(none, 'pgupno');
      assert.equal((await none.ssh(none.admin, `addons:create ${other} postgres`)).exitCode, 0);
      const r = await none.ssh(none.admin, `pg:upgrade ${other} --to 18`);
      assert.deepEqual([r.exitCode, r.stderr], [1, ' !     This server has no Postgres 18 image: its administrator sets SLIPWAY_POSTGRES18_IMAGE (the testbed builds it from Debian\'s packages: images/postgres18).']);
      assert.deepEqual([...none.deployer.data.running.keys()], [`${other}/postgres`]);
    } finally {
      await none.close();
    }
  });

  test('a failure in the middle (the upgrade, a check, the first backup) removes the new database and changes nothing else', async () => {
    const before = await withDatabase('pgupfail');
    const { app } = before;

    // The upgraded instance does not start (pg_upgrade --check refuses the cluster).
    const applied = s.deployer.data.applies.length;
    s.deployer.data.failOn = { command: 'server-version', stderr: 'psql: error: connection to server failed' };
    const down = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.equal(down.exitCode, 1);
    assert.match(down.stderr, / !     server-version failed in postgres-2 \(exit 1\): psql: error: connection to server failed\./);
    assert.equal(s.deployer.data.applies.length, applied + 2);
    await unchanged(before);

    // The row counts differ after pg_upgrade.
    s.deployer.data.answers.set('row-counts', ['app public.items 3\napp public.orders 5', 'app public.items 3\napp public.orders 4']);
    const counts = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.equal(counts.exitCode, 1);
    assert.equal(counts.stderr, ' !     The row counts of postgres-2 differ after the upgrade (app public.orders: 5 → 4); it was removed.');
    await unchanged(before);

    // The heartbeat restored is gone (a later one is fine: the heartbeat round writes into it too).
    s.deployer.data.answers.set('last-heartbeat', ['2026-12-05T09:08:12.680144Z', '2026-12-05T09:07:00.000000Z']);
    const beat = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.equal(beat.stderr, ' !     The heartbeat in postgres-2 went back in the upgrade (2026-12-05T09:08:12.680144Z before, 2026-12-05T09:07:00.000000Z after); it was removed.');
    await unchanged(before);
    s.deployer.data.answers.set('last-heartbeat', ['2026-12-05T09:08:12.680144Z', '']);
    assert.match((await s.ssh(s.admin, `pg:upgrade ${app} --to 18`)).stderr, /went back in the upgrade \(2026-12-05T09:08:12\.680144Z before, none after\)/);
    await unchanged(before);

    // The new database's first backup fails.
    s.deployer.data.answers.set('server-version', ['18.6']);
    s.deployer.data.failOn = { command: 'backup', stderr: 'P00  ERROR: [047]: No space left on device' };
    const full = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.match(full.stderr, / !     backup incr failed in postgres \(exit 1\)/, 'the backup of the source comes first: nothing is made without it');
    await unchanged(before);

    // The upgraded server answers as another major.
    s.deployer.data.answers.set('server-version', ['17.12']);
    const wrong = await s.ssh(s.admin, `pg:upgrade ${app} --to 18`);
    assert.equal(wrong.stderr, ' !     postgres-2 answers as Postgres 17.12 after the upgrade, not 18; it was removed.');
    await unchanged(before);
  });

  test('POST /api/v1/apps/APP/addons/NAME/upgrade: a deploy token upgrades (the job of its release); a read token and a bad --to are refused', async () => {
    const before = await withDatabase('pgupapi');
    const { app } = before;
    const read = await makeToken(s, s.admin, 'pgup-read', 'read');
    const deploy = await makeToken(s, s.admin, 'pgup-deploy');
    assert.equal((await api(s, 'POST', `/apps/${app}/addons/postgres/upgrade`, { token: read, body: { to: '18' } })).status, 403);
    const bad = await api(s, 'POST', `/apps/${app}/addons/postgres/upgrade`, { token: deploy, body: { to: '17' } });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /--to 17 is not newer than the database's Postgres 17/);
    await unchanged(before);
    const made = await api(s, 'POST', `/apps/${app}/addons/postgres/upgrade`, { token: deploy, body: { to: '18', name: 'pg18' } });
    assert.ok(made.status === 201 || made.status === 202, `${made.status} ${made.text}`);
    const cfg = await (async () => {
      for (let i = 0; i < 100; i++) {
        const c = await config(app);
        if (c.DATABASE_URL?.includes('@db-pg18.')) return c;
        await new Promise((f) => setTimeout(f, 100));
      }
      return config(app);
    })();
    assert.match(cfg.DATABASE_URL!, /@db-pg18\./);
    assert.equal(cfg.POSTGRES_URL, before.config.DATABASE_URL);
  });
});
