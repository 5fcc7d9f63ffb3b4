// Databases for apps on the testbed, with the real images (Debian's Postgres 17 and Valkey 8,
// built by testbed/parts/45-data-images.sh), real volumes and the real deployer: an app in the
// shape of Heroku's Python getting-started app (Django, `release: ./manage.py migrate`,
// `ssl_require=True`, redis-py over rediss://) gets its databases with addons:create before its
// first push, migrates in the release phase and answers through the ingress with rows it wrote
// over TLS; plain-text connections are refused; a database pod that is deleted comes back on its
// volume with every row; addons:destroy takes the database, its volumes and its config var; a
// restore drill proves a backup (pgBackRest verify, a scratch copy, heartbeat, pg_amcheck) and
// fails at verify once bytes of a backup file are flipped, which addons:info and doctor then say.
// A preview of the app gets empty databases of its own: its release phase migrates there, and it
// sees none of the parent's rows.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1PersistentVolumeClaim, V1Pod } from '../../server/kube/types.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import { damageBackup, deployApp, destroyApps, NEWEST_VALKEY_SNAPSHOT, startWithApps } from '../support/on-testbed.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { previewAppName } from '../../server/names.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { dataClaimName, drillPodObject } from '../../server/deploy/data.ts';
import { serviceOf } from '../../server/ops/data/addons.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_POSTGRES_IMAGE', 'SLIPWAY_VALKEY_IMAGE'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { shop: `dbshop-${suffix}` } as const;
const NS = `slipway-${APPS.shop}`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 90_000;

describe('databases for apps on the testbed: Postgres and Valkey, attached, migrated, TLS only, durable', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  const host = `${APPS.shop}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const page = (path: string, ok: (b: string) => boolean, at = host) => waitForBody(tb!.SLIPWAY_TEST_INGRESS!, at, ok, ROUTE_MS, path);
  /** The Django app's checkout, pushed by the first test. */
  let dir: string | undefined;

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(() => destroyApps(s, builder, APPS));

  test('addons:create before the first push, then a Django app migrates in its release phase and reads and writes rows over TLS; Valkey counts', { timeout: PUSH_MS + 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const started = Date.now();
    const pg = await ssh(`addons:create ${APPS.shop} postgres`);
    assert.equal(pg.exitCode, 0, pg.stderr);
    t.diagnostic(`addons:create postgres took ${Date.now() - started} ms`);
    assert.match(pg.stdout, /Created postgres \(postgres 17, 1Gi\) as DATABASE_URL \(stored/);
    const vk = await ssh(`addons:create ${APPS.shop} valkey --size 256Mi`);
    assert.equal(vk.exitCode, 0, vk.stderr);
    const list = JSON.parse((await ssh(`addons ${APPS.shop} --json`)).stdout) as { name: string; ready: boolean; volumes: { data: string; backup: string } }[];
    assert.deepEqual(list.map((a) => [a.name, a.ready, a.volumes.data, a.volumes.backup]), [['postgres', true, 'Bound', 'Bound'], ['valkey', true, 'Bound', 'Bound']]);

    // Pod Security "restricted" admitted them: no root, no capabilities.
    const pods = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data' });
    assert.equal(pods.length, 2);
    for (const p of pods) assert.deepEqual([p.spec?.securityContext?.runAsUser, p.spec?.containers[0]?.securityContext?.capabilities?.drop], [999, ['ALL']]);

    dir = fixtureCopy('django-db-app');
    await s.commitAll(dir, 'django app with databases');
    const lines = await deployApp(s, APPS.shop, dir);
    assert.ok(lines.some((l) => /Applying pages\.0001_initial\.\.\. OK/.test(l)), `the release phase migrated:\n${lines.join('\n')}`);
    assert.equal(await page('/rows?add=1', (b) => b.startsWith('rows 1')), 'rows 1, last 1, tls on\n');
    assert.equal(await page('/rows?add=2', (b) => b.startsWith('rows 2')), 'rows 2, last 2, tls on\n');
    assert.match(await page('/cache', (b) => b.startsWith('hits ')), /^hits \d+\n$/);
  });

  test("a preview gets empty databases of its own: its release phase migrates there, and it sees none of the parent's rows", { timeout: PUSH_MS + 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !dir) return;
    assert.equal((await ssh(`previews:enable ${APPS.shop}`)).exitCode, 0);
    // A preview's quota is a share of its parent's (1/5 with 4 previews): one preview, the half,
    // holds its web, release and two database pods.
    assert.equal((await ssh(`previews:limit ${APPS.shop} 1`)).exitCode, 0);
    const preview = previewAppName(APPS.shop, 'feature');
    const push = async (ref: string) => {
      const r = await s!.git(['push', s!.sshRemote(APPS.shop), ref], { cwd: dir });
      const lines = remoteLines(r.stderr);
      assert.equal(r.exitCode, 0, lines.join('\n'));
      return lines;
    };
    const lines = await push('HEAD:refs/heads/feature');
    assert.ok(lines.some((l) => l.startsWith(`-----> Creating an empty Postgres 17 postgres (1Gi) for preview ${preview}, as DATABASE_URL`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`-----> Creating an empty Valkey 8 valkey (256Mi) for preview ${preview}, as REDIS_URL`)), lines.join('\n'));
    assert.ok(lines.some((l) => /Applying pages\.0001_initial\.\.\. OK/.test(l)), `the preview's release phase migrated its own database:\n${lines.join('\n')}`);
    const at = `${preview}.${BASE_DOMAIN}`;
    assert.equal(await page('/rows', (b) => b.startsWith('rows '), at), 'rows 0, last -, tls on\n', "none of the parent's rows");
    assert.equal(await page('/rows?add=7', (b) => b.startsWith('rows 1'), at), 'rows 1, last 7, tls on\n');
    assert.equal(await page('/rows', (b) => b.startsWith('rows 2')), 'rows 2, last 2, tls on\n', "the parent's rows are its own");
    const urls = [APPS.shop, preview].map(async (app) => (JSON.parse((await ssh(`config ${app} --json`)).stdout) as Record<string, string>).DATABASE_URL);
    const [parentUrl, previewUrl] = await Promise.all(urls);
    assert.match(previewUrl!, new RegExp(`@db-postgres\\.slipway-${preview}\\.svc:5432/`));
    assert.notEqual(previewUrl, parentUrl);
    const gone = await push(':refs/heads/feature');
    assert.ok(gone.includes(`-----> Destroying preview ${preview} of feature`), gone.join('\n'));
  });

  test("sslmode=verify-full connects (the app's pods hold the databases' authority); a plain-text connection and a wrong password are refused", { timeout: 3 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`run ${APPS.shop} -- python probe_db.py`);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.deepEqual(r.stdout.trim().split('\n').slice(-3), ['verify-full connected: True', 'plain refused: no encryption', 'wrong password refused: password']);
  });

  test("Valkey's backups are proven too: the round's snapshot restored into a scratch copy with the heartbeat key; a damaged snapshot fails addons:verify", { timeout: 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.equal((await ssh('rounds:run db-heartbeat')).exitCode, 0);
    const round = await ssh('rounds:run db-backups');
    assert.equal(round.exitCode, 0, round.stderr + round.stdout);
    assert.doesNotMatch(round.stdout, /ran and failed/, round.stdout);
    const info = await ssh(`addons:info ${APPS.shop} valkey`);
    assert.match(info.stdout, /Last verified restore: +ok, \d+ s ago, RPO \d+ s, RTO \d+ s/, info.stdout);
    const ok = await ssh(`addons:verify ${APPS.shop} valkey`);
    assert.equal(ok.exitCode, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^Restore drill ok: restored from its newest snapshot, keys \d+; RPO \d+ s, RTO [\d.]+ s$/m);
    t.diagnostic(ok.stdout.trim());
    await damageBackup(kube, NS, 'valkey', NEWEST_VALKEY_SNAPSHOT);
    const bad = await ssh(`addons:verify ${APPS.shop} valkey`);
    assert.equal(bad.exitCode, 1, bad.stdout);
    assert.match(bad.stdout, /^Restore drill FAILED at verify: dump-\d{8}T\d{6}Z\.rdb is damaged/m);
  });

  test('a deleted database pod comes back on its volume with every row; addons:destroy takes it, its volumes and its config var', { timeout: 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const [pod] = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=postgres' });
    await kube.remove('v1', 'Pod', pod!.metadata!.name!, NS);
    await eventually(() => 'the database pod to be ready again', async () => {
      const list = JSON.parse((await ssh(`addons ${APPS.shop} --json`)).stdout) as { name: string; ready: boolean; restarts: number }[];
      const [again] = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=postgres' });
      return again?.metadata?.uid !== pod!.metadata?.uid && list.find((a) => a.name === 'postgres')?.ready ? true : undefined;
    }, ROUTE_MS);
    assert.equal(await page('/rows?add=3', (b) => b.startsWith('rows 3')), 'rows 3, last 3, tls on\n');

    const gone = await ssh(`addons:destroy ${APPS.shop} valkey --confirm ${APPS.shop}`);
    assert.equal(gone.exitCode, 0, gone.stderr);
    const config = JSON.parse((await ssh(`config ${APPS.shop} --json`)).stdout) as Record<string, string>;
    assert.equal(config.REDIS_URL, undefined);
    assert.ok(config.DATABASE_URL);
    await eventually(() => "valkey's claims to go", async () => {
      const claims = await kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', NS);
      return claims.some((c) => c.metadata?.name?.startsWith('db-valkey.')) ? undefined : true;
    }, ROUTE_MS);
    assert.equal(await page('/rows', (b) => b.startsWith('rows 3')), 'rows 3, last 3, tls on\n', 'the app still answers, from Postgres');
  });

  test('a restore drill proves a backup; flipped bytes in a backup file fail it, and addons:info and doctor say so', { timeout: 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // A heartbeat now rather than at the round's next turn (every 30 s).
    const beat = await ssh('rounds:run db-heartbeat');
    assert.equal(beat.exitCode, 0, beat.stderr);
    assert.equal((await ssh(`pg:backups:capture ${APPS.shop}`)).exitCode, 0);
    const ok = await ssh(`pg:backups:verify ${APPS.shop}`);
    assert.equal(ok.exitCode, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^Restore drill ok: restored to the end of the archive, amcheck clean; RPO \d+ s, RTO [\d.]+ s$/m);
    t.diagnostic(ok.stdout.trim());
    const info = (await ssh(`addons:info ${APPS.shop} postgres`)).stdout;
    assert.match(info, /Last verified restore: +ok, \d+ s ago, RPO \d+ s, RTO \d+ s/);
    // What the pod says of itself: both volumes' use, and its connections against its limit.
    assert.match(info, /Used: +[\d.]+ [KMG]?i?B of [\d.]+ [KMG]iB \(\d+ %\) data, [\d.]+ [KMG]?i?B of [\d.]+ [KMG]iB \(\d+ %\) backups\n/);
    assert.match(info, /Connections: +\d+ of 20\n/);
    const scratch = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=drill.postgres' });
    assert.equal(scratch.length, 0, 'the scratch copy is gone');
    // A scratch copy a server that stopped midway left (as a drill starts one) is what the next
    // start's reconcile removes; the database's own pod stays.
    const services = s.slipway.services;
    const row = services.store.data.list(APPS.shop).find((r) => r.name === 'postgres')!;
    await kube.apply(drillPodObject({ ...serviceOf(services, APPS.shop, row, services.store.data.ca(APPS.shop)!.cert), restore: { fromClaim: dataClaimName('postgres', 'backup'), target: undefined } }));
    assert.deepEqual(await services.deployer!.data.sweepScratch(APPS.shop), ['db-postgres-drill']);
    await eventually('the left scratch copy to be gone', async () => (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=drill.postgres' })).length === 0, 60_000, 250);
    assert.equal((await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=postgres' })).length, 1, 'the database itself runs on');

    // Flip four bytes in the middle of the largest file of the newest backup.
    assert.match(await damageBackup(kube, NS, 'postgres', '$(ls -S $(find /var/lib/slipway/backup/pgbackrest/backup/db -type f -name "*.zst" -size +2k) | head -1)'), /\.zst$/);
    const bad = await ssh(`pg:backups:verify ${APPS.shop}`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stdout, /^Restore drill FAILED at verify: pgBackRest's verify found the backups damaged: /m);
    assert.match((await ssh(`addons:info ${APPS.shop} postgres`)).stdout, /The last restore drill \(\d+ s ago\) failed at verify: /);
    const doctor = JSON.parse((await ssh('doctor --json')).stdout) as { name: string; ok: boolean; detail: string }[];
    const check = doctor.find((c) => c.name === 'database backups')!;
    assert.equal(check.ok, false);
    assert.match(check.detail, new RegExp(`${APPS.shop}/postgres \\(last drill failed at verify`));
  });
});
