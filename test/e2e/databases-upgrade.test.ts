// pg:upgrade --to 18 on the testbed, with the real Postgres 17 and 18 images and real volumes: an
// app writes numbered rows into its Postgres 17; a first upgrade fails in the middle, at
// pg_upgrade --check (a column of type regproc, which pg_upgrade refuses, put there by the test
// through the database's own console), and leaves the app's config, releases and databases as they
// were, the app answering from the old one; with that column gone, the upgrade makes a NEW
// database running Postgres 18 that holds every row, DATABASE_URL moves to it in one release, the
// app answers from it over TLS, and a rollback puts the old database's URL back.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1PersistentVolumeClaim, V1StatefulSet } from '../../server/kube/types.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import { execOutput } from '../../server/kube/exec-io.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_POSTGRES_IMAGE', 'SLIPWAY_POSTGRES18_IMAGE'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { books: `dbup-${suffix}` } as const;
const NS = `slipway-${APPS.books}`;
const PUSH_MS = 10 * 60_000;
type Addon = { name: string; lastBackupAt?: unknown; stats?: unknown };
/** A database as addons shows it, but what moves on its own: the time of its last backup and what its pod says of its volumes and connections now. */
const shown = (list: Addon[]) => list.map(({ lastBackupAt: _b, stats: _s, ...a }) => a);
const ROUTE_MS = 90_000;

describe('pg:upgrade --to 18: a new database from a backup, upgraded, checked and promoted; a failure changes nothing', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  const host = `${APPS.books}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const json = async <T>(command: string) => JSON.parse((await ssh(`${command} --json`)).stdout) as T;
  const get = async (path: string) => httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host, 10_000, path);
  const write = async (n: number) => {
    const r = await get(`/rows?add=${n}`);
    assert.equal(r.status, 200, `row ${n}: ${r.status} ${r.body.slice(0, 300)}`);
  };
  /** One of the image's commands in a database's pod (its own console: psql as the app's user over TLS). */
  const inPod = async (database: string, command: string[]) => {
    const r = await execOutput(kube, { namespace: NS, pod: `db-${database}-0`, container: 'postgres' }, ['slipway-postgres', ...command], new AbortController().signal);
    assert.equal(r.code, 0, `${command.join(' ')} in ${database}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const dataObjects = async () => {
    const [sets, claims] = await Promise.all([
      kube.list<V1StatefulSet>('apps/v1', 'StatefulSet', NS, { labelSelector: 'slipway/data' }),
      kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', NS, { labelSelector: 'slipway/data' }),
    ]);
    return [...sets, ...claims].filter((o) => !o.metadata?.deletionTimestamp).map((o) => `${o.kind}/${o.metadata!.name}`).sort();
  };

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(() => destroyApps(s, builder, APPS));

  test('a failed upgrade changes nothing; then every row is on Postgres 18, DATABASE_URL moved in one release, rollback brings the old one back', { timeout: PUSH_MS + 12 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const app = APPS.books;
    assert.equal((await ssh(`addons:create ${app} postgres`)).exitCode, 0);
    const dir = fixtureCopy('django-db-app');
    await s.commitAll(dir, 'django app with a database');
    await deployApp(s, app, dir);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows 0'), ROUTE_MS, '/rows');
    for (let n = 1; n <= 20; n++) await write(n);

    // The failure in the middle: pg_upgrade --check refuses a column of a reg* type (other than
    // regclass, regtype…): the copy is restored, then the check fails.
    assert.equal(await inPod('postgres', ['psql', '-X', '-q', '-c', 'CREATE TABLE upgrade_trap (f regproc)']), '');
    const before = { config: await json<Record<string, string>>(`config ${app}`), releases: await json<unknown[]>(`releases ${app}`), addons: await json<Addon[]>(`addons ${app}`), objects: await dataObjects() };
    let started = Date.now();
    const failed = await ssh(`pg:upgrade ${app} --to 18`);
    t.diagnostic(`the failed pg:upgrade took ${Date.now() - started} ms`);
    assert.equal(failed.exitCode, 1, failed.stdout + failed.stderr);
    assert.match(failed.stderr, / !     postgres postgres-2 did not start: CrashLoopBackOff \(exit code 1\): pg_upgrade --check found that \/var\/lib\/slipway\/postgres\/data cannot be upgraded to Postgres 18/);
    assert.deepEqual(await json<Record<string, string>>(`config ${app}`), before.config, 'the config is as it was');
    assert.deepEqual(await json<unknown[]>(`releases ${app}`), before.releases, 'no release');
    // The same databases (but the time of the source's last backup: an upgrade takes one first; and
    // its volumes' use, which that backup and the app's writes move).
    assert.deepEqual(shown(await json<Addon[]>(`addons ${app}`)), shown(before.addons), 'the same databases');
    assert.deepEqual(await dataObjects(), before.objects, 'the new database\'s set and claims are gone');
    assert.equal((await get('/rows')).body, 'rows 20, last 20, tls on\n', 'the app answers from the old database');
    assert.match(await inPod('postgres', ['server-version']), /^17\./);

    // Without the column, the upgrade goes through.
    assert.equal(await inPod('postgres', ['psql', '-X', '-q', '-c', 'DROP TABLE upgrade_trap']), '');
    for (let n = 21; n <= 30; n++) await write(n);
    const oldUrl = before.config.DATABASE_URL!;
    started = Date.now();
    const r = await ssh(`pg:upgrade ${app} --to 18 --json`);
    const took = Date.now() - started;
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const up = JSON.parse(r.stdout) as { name: string; from: string; version: string; serverVersion: string; attachment: string; tables: number; rows: number; restoreMs: number; upgradeMs: number; release: number };
    t.diagnostic(`pg:upgrade took ${took} ms (restore ${up.restoreMs} ms, upgrade ${up.upgradeMs} ms; ${up.tables} tables, ${up.rows} rows)`);
    assert.deepEqual([up.name, up.from, up.version, up.attachment], ['postgres-2', 'postgres', '18', 'DATABASE_URL']);
    assert.match(up.serverVersion, /^18\./);
    assert.ok(up.tables >= 3 && up.rows >= 31, `${up.tables} tables, ${up.rows} rows: pages_row, django_migrations and slipway_heartbeat at least`);
    assert.match(await inPod('postgres-2', ['psql', '-X', '-q', '-A', '-t', '-c', 'SHOW server_version']), /^18\./);

    const config = await json<Record<string, string>>(`config ${app}`);
    assert.equal(new URL(config.DATABASE_URL!).hostname, `db-postgres-2.${NS}.svc`, 'DATABASE_URL points at the new database');
    assert.equal(config.POSTGRES_URL, oldUrl, 'the old one stays, as POSTGRES_URL');
    const releases = await json<{ version: number }[]>(`releases ${app}`);
    assert.equal(releases.length, before.releases.length + 1, 'one release');
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows '), ROUTE_MS, '/rows'), 'rows 30, last 30, tls on\n', 'every row, from Postgres 18');
    await write(31);
    assert.equal(await inPod('postgres-2', ['psql', '-X', '-q', '-A', '-t', '-c', 'SELECT max(n) FROM pages_row']), '31', 'the app writes into the new database');
    assert.equal(await inPod('postgres', ['psql', '-X', '-q', '-A', '-t', '-c', 'SELECT max(n) FROM pages_row']), '30', 'the old one is as it was');
    const own = await json<{ backups: unknown[] }>(`pg:backups ${app} postgres-2`);
    assert.equal(own.backups.length, 1, 'the new database has its own first backup');

    assert.equal((await ssh(`rollback ${app}`)).exitCode, 0);
    assert.equal((await json<Record<string, string>>(`config ${app}`)).DATABASE_URL, oldUrl, 'the release before the upgrade, with the old database');
  });
});
