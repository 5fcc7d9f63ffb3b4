// Backups proven by a restore, on the testbed with the real Postgres image (pgBackRest archiving
// onto the database's backup volume) and real volumes: an app writes numbered rows, a backup is
// taken, more rows are written, then the database's data volume and pod are deleted (the loss).
// `pg:restore --at T --promote` makes a NEW database from the old backup volume, recovered to T:
// the app answers with exactly the rows committed by T, over TLS, from the new database; the new
// one has its own backup; a rollback puts the old URL back with the old release. The WAL archive
// timeout is a setting (5 s here), so the test waits on it rather than on a minute of clock.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_POSTGRES_IMAGE'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { ledger: `dbpitr-${suffix}` } as const;
const NS = `slipway-${APPS.ledger}`;
const ARCHIVE_TIMEOUT_S = 5;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 90_000;

describe('backups proven by a restore: point in time, into a new database, promoted', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  const host = `${APPS.ledger}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const get = async (path: string) => httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host, 10_000, path);
  const write = async (n: number) => {
    const r = await get(`/rows?add=${n}`);
    assert.equal(r.status, 200, `row ${n}: ${r.status} ${r.body.slice(0, 300)}`);
  };

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240', SLIPWAY_DATABASE_ARCHIVE_TIMEOUT_S: String(ARCHIVE_TIMEOUT_S) }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(() => destroyApps(s, builder, APPS));

  test('rows up to T come back after the data volume is lost; none after T; the new database has its own backup; rollback puts the old URL back', { timeout: PUSH_MS + 10 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.equal((await ssh(`addons:create ${APPS.ledger} postgres`)).exitCode, 0);
    const dir = fixtureCopy('django-db-app');
    await s.commitAll(dir, 'django app with a database');
    await deployApp(s, APPS.ledger, dir);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows 0'), ROUTE_MS, '/rows');
    for (let n = 1; n <= 10; n++) await write(n);
    const cap = await ssh(`pg:backups:capture ${APPS.ledger}`);
    assert.equal(cap.exitCode, 0, cap.stderr);
    assert.match(cap.stdout, /Backed up as \d{8}-\d{6}F \(full, /);
    for (let n = 11; n <= 30; n++) await write(n);
    await new Promise((f) => setTimeout(f, 1000));
    const target = new Date().toISOString();
    await new Promise((f) => setTimeout(f, 1000));
    for (let n = 31; n <= 40; n++) await write(n);
    // Every row is archived once the archive timeout has passed with them in the WAL.
    await new Promise((f) => setTimeout(f, (ARCHIVE_TIMEOUT_S + 3) * 1000));
    const listed = JSON.parse((await ssh(`pg:backups ${APPS.ledger} --json`)).stdout) as { backups: unknown[]; archive: { from: string; to: string } | null };
    assert.equal(listed.backups.length, 1);
    assert.ok(listed.archive, 'WAL is archived');

    // The loss: the data volume goes, and the pod with it.
    const oldUrl = (JSON.parse((await ssh(`config ${APPS.ledger} --json`)).stdout) as Record<string, string>).DATABASE_URL!;
    await kube.remove('v1', 'PersistentVolumeClaim', 'db-postgres.data', NS);
    const [pod] = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=postgres' });
    await kube.remove('v1', 'Pod', pod!.metadata!.name!, NS, { gracePeriodSeconds: 0 });
    await eventually(() => 'the app to lose its database', async () => ((await get('/rows').catch(() => ({ status: 0 }))).status !== 200 ? true : undefined), ROUTE_MS);

    const started = Date.now();
    const r = await ssh(`pg:restore ${APPS.ledger} --at ${target} --to restored --promote`);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    t.diagnostic(`pg:restore --promote took ${Date.now() - started} ms`);
    assert.match(r.stdout, new RegExp(`Restored postgres into restored \\(as of ${target.replace(/\./g, '\\.')}; ready in [\\d.]+ s; newest heartbeat [^)]+\\), attached as DATABASE_URL in v\\d+\\npostgres stays, with its data as it was`));
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows '), ROUTE_MS, '/rows'), 'rows 30, last 30, tls on\n', 'every row committed by T, none after');
    await write(41);
    const own = JSON.parse((await ssh(`pg:backups ${APPS.ledger} restored --json`)).stdout) as { backups: unknown[] };
    assert.equal(own.backups.length, 1, 'the new database has its own first backup');

    assert.equal((await ssh(`rollback ${APPS.ledger}`)).exitCode, 0);
    const back = JSON.parse((await ssh(`config ${APPS.ledger} --json`)).stdout) as Record<string, string>;
    assert.equal(back.DATABASE_URL, oldUrl, 'the release before the promotion, with the old database');
  });
});
