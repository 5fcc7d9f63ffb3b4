// Slipway's own backup and restore on the testbed, with the real registry, pack and Kubernetes: an
// app with a mounted volume is pushed, its config changed (two releases, one image) and a custom
// domain added, a token is made, and
// backup:create writes and verifies an archive holding the image from the testbed registry, and
// copies it to an S3-compatible bucket (the testbed's versitygw over HTTPS), read back whole. Then
// the loss: the server stops, its backup folder is gone with the machine, the app's namespace is
// deleted and its image's manifest deleted from the registry. The local CLI's `slipway restore
// latest --from-s3` fetches the copy and brings the data dir back in a fresh directory and
// pushes the image back by digest; a server started on it applies the current release at start-up
// (no build), the app answers again with its config at its own host and its custom domain, its
// volume's claim is made again and mounted, `releases` and `config` are as they were, the
// old token works, and a rollback goes back to the first release. The app's Postgres database,
// whose volumes went with the namespace, comes back with its rows from its own copy off the
// machine (pg:backups:copy before the loss; pg:backups:restore --from-s3 --promote with the key
// after it), in a new database that becomes DATABASE_URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { RegistryBlobs } from '../../server/build/registry-blobs.ts';
import { loadConfig } from '../../server/config.ts';
import { run } from '../../server/exec.ts';
import { writeKeyFile } from '../../server/ops/self-backup/age.ts';
import { S3Bucket } from '../../server/s3.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { deployApp, startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, registryAuthEnv, testbedEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_TEST_S3_ENDPOINT', 'SLIPWAY_TEST_S3_BUCKET', 'SLIPWAY_TEST_S3_CREDENTIALS', 'SLIPWAY_TEST_S3_CA', 'SLIPWAY_POSTGRES_IMAGE'] as const;
const BASE_DOMAIN = 'slipway.test';
const app = `selfbak-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${app}`;
const PUSH_MS = 5 * 60_000;
const ROUTE_MS = 90_000;
const CLI = resolve(import.meta.dirname, '..', '..', 'bin', 'slipway.ts');

describe("Slipway's own backup, restored into a fresh data dir on the testbed", { timeout: 15 * 60_000 }, () => {
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let tb: Record<string, string> | undefined;
  let kube: KubeClient;
  const work = mkdtempSync(join(tmpdir(), 'slipway-self-backup-e2e-'));
  const keyFile = join(work, 'backup.key');
  const host = `${app}.${BASE_DOMAIN}`;
  /** The app's custom domain (domains:add), routed by the testbed's ingress like any host. */
  const custom = `www.${app}.example.test`;
  let env: Record<string, string>;
  /** The copies' settings: the testbed's bucket, a folder of this run's own. */
  let s3: Record<string, string>;

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    const { recipient } = await writeKeyFile(keyFile);
    s3 = { SLIPWAY_BACKUP_S3_URL: `${tb.SLIPWAY_TEST_S3_ENDPOINT}/${tb.SLIPWAY_TEST_S3_BUCKET}/${app}`, SLIPWAY_BACKUP_S3_CREDENTIALS: tb.SLIPWAY_TEST_S3_CREDENTIALS!, SLIPWAY_BACKUP_S3_CA: tb.SLIPWAY_TEST_S3_CA! };
    env = { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_WARM_ROLLBACK: '0', SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_BACKUP_DIR: join(work, 'backups'), ...s3 };
    ({ server: a, builder } = await startOnTestbed(tb, env, { buildTimeoutMs: PUSH_MS }));
    kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(async () => {
    const s = b ?? a;
    if (s) {
      // With its volume (apps:destroy refuses an app with one otherwise, and the app would stay).
      const gone = await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app} --include-storage`);
      if (gone.exitCode !== 0) process.stderr.write(`self-backup: ${app} was not destroyed: ${gone.stderr}\n`);
      await builder?.purgeCache(app);
    }
    await b?.close();
    await a?.close().catch(() => undefined);
    // This run's copies leave the shared bucket.
    if (s3) {
      const bucket = new S3Bucket(loadConfig({ SLIPWAY_DATA_DIR: work, ...s3 }).backupS3!);
      for (const folder of ['', `databases/${app}/postgres/`]) {
        for (const name of await bucket.list(undefined, folder).catch(() => [])) await bucket.remove(folder + name);
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('the bucket client against the S3 endpoint: one request, and in parts above the one-request size; read back, listed, deleted', { timeout: 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !tb) return;
    const target = loadConfig({ SLIPWAY_DATA_DIR: work, ...s3, SLIPWAY_BACKUP_S3_URL: `${s3.SLIPWAY_BACKUP_S3_URL}-parts` }).backupS3!;
    const bucket = new S3Bucket(target, { onePut: 6 * 1024 * 1024, part: 5 * 1024 * 1024 });
    const file = join(work, 'object');
    for (const size of [1_000_000, 12 * 1024 * 1024 + 7]) {
      const bytes = randomBytes(size);
      writeFileSync(file, bytes);
      await bucket.put(file, 'o.bin');
      assert.deepEqual(await bucket.sha256('o.bin'), { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: size });
    }
    assert.deepEqual(await bucket.list(), ['o.bin']);
    await bucket.remove('o.bin');
    assert.deepEqual(await bucket.list(), []);
    await assert.rejects(bucket.sha256('o.bin'), /NoSuchKey|does not exist/);
  });

  test('push, back up, lose the app, restore, start: the app answers with its releases, config and token; rollback works', { timeout: 12 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !a || !tb) return;
    const started = Date.now();
    assert.equal((await a.ssh(a.admin, `apps:create ${app}`)).exitCode, 0);
    // A volume mounted into web (applied by the first push) and a custom domain come back too.
    for (const c of [`storage:create ${app} data --size 64Mi`, `storage:mount ${app} data /data`]) {
      const r = await a.ssh(a.admin, c);
      assert.equal(r.exitCode, 0, `${c}: ${r.stderr}`);
    }
    // A database, attached before the first push (so the push's release has DATABASE_URL).
    const db = await a.ssh(a.admin, `addons:create ${app} postgres`);
    assert.equal(db.exitCode, 0, db.stderr);
    const dir = fixtureCopy('node-app');
    await a.commitAll(dir, 'node app');
    await deployApp(a, app, dir);
    const rows = await a.ssh(a.admin, `pg:psql ${app}`, 'CREATE TABLE kept (n int PRIMARY KEY); INSERT INTO kept SELECT generate_series(1, 500);\n');
    assert.equal(rows.exitCode, 0, rows.stderr);
    const dbCopy = await a.ssh(a.admin, `pg:backups:copy ${app} --json`);
    assert.equal(dbCopy.exitCode, 0, dbCopy.stderr + dbCopy.stdout);
    const set = await a.ssh(a.admin, `config:set ${app} GREETING=restored`);
    assert.equal(set.exitCode, 0, set.stderr);
    await waitForBody(tb.SLIPWAY_TEST_INGRESS!, host, (body) => body === 'hello from slipway restored\n', ROUTE_MS);
    const added = await a.ssh(a.admin, `domains:add ${app} ${custom}`);
    assert.equal(added.exitCode, 0, added.stderr);
    await waitForBody(tb.SLIPWAY_TEST_INGRESS!, custom, (body) => body === 'hello from slipway restored\n', ROUTE_MS);
    const token = await makeToken(a, a.admin, 'survives', 'admin');
    const releasesBefore = JSON.parse((await a.ssh(a.admin, `releases ${app} --json`)).stdout) as { version: number; description: string; image: string }[];
    assert.equal(releasesBefore.length, 2);

    const made = await a.ssh(a.admin, 'backup:create --json');
    assert.equal(made.exitCode, 0, made.stderr);
    const record = JSON.parse(made.stdout) as { name: string; verified: boolean; images: number; blobs: number; bytes: number; writeMs: number; verifyMs: number; copy: { url: string; ok: boolean; ms: number; error: string | null } };
    assert.equal(record.verified, true);
    assert.deepEqual([record.copy.ok, record.copy.error, record.copy.url], [true, null, `${s3.SLIPWAY_BACKUP_S3_URL}/${record.name}`]);
    assert.equal(record.images, 1, 'both releases run one image');
    assert.ok(record.blobs >= 3, `the image's manifest, config and layers: ${record.blobs}`);
    t.diagnostic(`backup: ${(record.bytes / 1e6).toFixed(1)} MB, ${record.blobs} blobs, written in ${record.writeMs} ms, verified in ${record.verifyMs} ms, copied to S3 and read back in ${record.copy.ms} ms`);
    const listed = await a.ssh(a.admin, 'backups');
    assert.match(listed.stdout, new RegExp(`${record.name.replace(/\./g, '\\.')} .* verified +copied`));
    const verified = await a.ssh(a.admin, 'backup:verify');
    assert.equal(verified.exitCode, 0, verified.stderr);
    assert.match(verified.stdout, /its copy https:\/\/127\.0\.0\.1:\d+\/.* was read back whole and matches/);
    // The copy is the archive, byte for byte (the bucket is a plain folder on this machine).
    const archive = join(env.SLIPWAY_BACKUP_DIR!, record.name);
    const copyBytes = readFileSync(join(tb.SLIPWAY_TEST_S3_CREDENTIALS!, '..', 'data', tb.SLIPWAY_TEST_S3_BUCKET!, app, record.name));
    assert.ok(copyBytes.equals(readFileSync(archive)), 'the copy in the bucket is the archive');

    // The loss: the server goes with its backup folder, the app's namespace goes, and the registry loses the image's manifest.
    await a.slipway.close();
    rmSync(env.SLIPWAY_BACKUP_DIR!, { recursive: true, force: true });
    await kube.remove('v1', 'Namespace', NS);
    const config = loadConfig({ ...process.env, ...registryAuthEnv(), SLIPWAY_DATA_DIR: '/nonexistent' });
    const registry = new RegistryApi({ registry: config.registry, gcConfig: undefined, binary: 'registry', auth: config.registryAuth });
    const digest = releasesBefore[0]!.image.split('@')[1]!;
    await registry.remove(app, digest);
    const blobs = new RegistryBlobs(config.registry, config.registryAuth);
    const repository = releasesBefore[0]!.image.split('@')[0]!.slice(config.registry.length + 1);
    assert.equal(await blobs.manifest(repository, digest), undefined, 'the registry lost the image');
    await eventually(() => `namespace ${NS} to be deleted`, async () => (await kube.read('v1', 'Namespace', NS)) === undefined || undefined, 120_000, 1000);

    // The local CLI fetches the newest copy and restores it into a new data dir; the same into a data dir that is not empty is refused.
    const dataDir = join(work, 'restored');
    const cliEnv = { ...process.env, ...registryAuthEnv(), ...s3, SLIPWAY_DATA_DIR: dataDir, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY! };
    const restoreStarted = Date.now();
    const restored = await run(process.execPath, [CLI, 'restore', 'latest', '--from-s3', '--key', keyFile], { env: cliEnv });
    const restoreMs = Date.now() - restoreStarted;
    assert.equal(restored.exitCode, 0, restored.stderr);
    assert.match(restored.stdout, /^Restored 1 apps \(2 releases\) from a backup of /m);
    assert.match(restored.stdout, /^Images: 1 pushed into /m);
    assert.ok(await blobs.manifest(repository, digest), 'the image is back in the registry under the same digest');
    // The key the store's secrets are sealed with came back beside it (the app's config opens below).
    assert.deepEqual(readdirSync(join(dataDir, 'keys')), readdirSync(join(a.dir, 'data', 'keys')));
    t.diagnostic(`restore (local CLI, a new process): ${restoreMs} ms`);
    const again = await run(process.execPath, [CLI, 'restore', record.name, '--from-s3', '--key', keyFile], { env: cliEnv });
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /is not empty: restore only goes into an empty or new data directory/);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('.restore-') || f.includes('.slipway-download-')), [], 'no restore or download folder is left');

    // A server on the restored data dir: start-up puts the current release back, without a build.
    ({ server: b } = await startOnTestbed(tb, { ...env, SLIPWAY_DATA_DIR: dataDir }, { buildTimeoutMs: PUSH_MS }));
    assert.equal(await waitForBody(tb.SLIPWAY_TEST_INGRESS!, host, (body) => body === 'hello from slipway restored\n', ROUTE_MS), 'hello from slipway restored\n');
    // Its custom domain answers, and web runs with its volume: the claim made again (its data was
    // the app's, not in the archive), bound and mounted where it was.
    assert.equal(await waitForBody(tb.SLIPWAY_TEST_INGRESS!, custom, (body) => body === 'hello from slipway restored\n', ROUTE_MS), 'hello from slipway restored\n');
    const volumes = JSON.parse((await b.ssh(b.admin, `storage:list ${app} --json`)).stdout) as { name: string; size: string; status: string; mounts: { process: string; path: string }[] }[];
    assert.deepEqual(volumes.map((v) => [v.name, v.size, v.status, v.mounts]), [['data', '64Mi', 'Bound', [{ process: 'web', path: '/data' }]]]);
    const releasesAfter = JSON.parse((await b.ssh(b.admin, `releases ${app} --json`)).stdout) as typeof releasesBefore;
    assert.deepEqual(releasesAfter, releasesBefore);
    const cfg = JSON.parse((await b.ssh(b.admin, `config ${app} --json`)).stdout) as Record<string, string>;
    assert.equal(cfg.GREETING, 'restored');
    const whoami = await api(b, 'GET', '/whoami', { token });
    assert.equal(whoami.status, 200, `the token made before the backup: ${whoami.text}`);
    const builds = JSON.parse((await b.ssh(b.admin, `builds ${app} --json`)).stdout) as unknown[];
    assert.equal(builds.length, 1, 'no build ran on the restored server');

    const rollback = await b.ssh(b.admin, `rollback ${app}`);
    assert.equal(rollback.exitCode, 0, rollback.stderr);
    assert.equal(await waitForBody(tb.SLIPWAY_TEST_INGRESS!, host, (body) => body === 'hello from slipway\n', ROUTE_MS), 'hello from slipway\n');

    // The database's data went with the namespace; its copy off the machine brings it back, with the key.
    const dbStarted = Date.now();
    const back = await b.ssh(b.admin, `pg:backups:restore ${app} --from-s3 latest --from postgres --promote`, readFileSync(keyFile, 'utf8'));
    assert.equal(back.exitCode, 0, back.stderr + back.stdout);
    assert.match(back.stdout, /Restored the archive \([\d.]+[KMG]i\) into postgres-2, attached as DATABASE_URL in v\d+$/m);
    assert.match((await b.ssh(b.admin, `pg:psql ${app} postgres-2`, "SELECT 'kept=' || count(*) || ',' || max(n) FROM kept;\n")).stdout, /kept=500,500/);
    assert.match(JSON.parse((await b.ssh(b.admin, `config ${app} --json`)).stdout).DATABASE_URL as string, /@db-postgres-2\./);
    t.diagnostic(`the database restored from its copy off the machine and promoted in ${Date.now() - dbStarted} ms`);
    t.diagnostic(`the whole test: ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
