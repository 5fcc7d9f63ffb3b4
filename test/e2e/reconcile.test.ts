// Issue 16, item 7: a server killed with -9 mid-rollout (`web: 0/1 ready`) used to leave the
// cluster running the new release while the database called it failed and the previous one
// current; the next config:set then silently went back to the old code. Here a real server
// process (server/main.ts, real pack, real Kubernetes and node) is killed exactly there, started
// again, and must have put the current release back, removed the interactive one-off pod the dead
// process was attached to (but not one a live process owns, as the local CLI's would be), and
// show no stale lock. Issue 37: the same server killed while `pg:restore` makes its new database
// from a real Postgres's backups: at the next start the half-made database is gone with its
// volumes before anything is accepted, its job is `interrupted`, the source and the app's config
// are as they were, and the same restore then goes through. Then the server is started with
// another image for Postgres 17 (the same one named by its digest, as a newer Slipway's would be):
// `addons:info` says the database runs an older one, `addons:update` moves it there with its rows;
// started with an image that cannot be pulled, `addons:update` fails and puts the one it ran back
// (its pod stuck on the new one deleted, kubernetes#67250: without that the set waited on it).
// Last, the server killed during a restore drill of that database (pg:backups:verify): at the next
// start the drill's scratch copy is gone before anything is accepted, its job is `interrupted`, no
// outcome is recorded for it, and the next drill passes.
import { servingWebSet, webSetNames } from '../support/web-set.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { run } from '../../server/exec.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { kubeDeployer, registryApi } from '../../server/backends.ts';
import { loadConfig } from '../../server/config.ts';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '../../server/kube/types.ts';
import { execOutput } from '../../server/kube/exec-io.ts';
import { gitEnv, makeKey, remoteLines, sshOptions, type TestKey } from '../support/harness.ts';
import { clusterEnv, fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { Readable } from 'node:stream';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const MAIN = join(import.meta.dirname, '../../server/main.ts');
const BASE_DOMAIN = 'slipway.test';
const APP = `crash-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const DB_APP = `crashdb-${randomBytes(3).toString('hex')}`;
const DB_NS = `slipway-${DB_APP}`;
const DB_NEEDS = [...NEEDS, 'SLIPWAY_POSTGRES_IMAGE'] as const;
const PUSH_MS = 10 * 60_000;

/**
 * A TCP port free right now on 127.0.0.1, below the kernel's ephemeral range (the server is given
 * fixed ports: it is restarted on them, and files running beside this one take ephemeral ports).
 */
async function freePort(): Promise<number> {
  const below = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    const s = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => s.close(resolve));
      return port;
    }
  }
}

describe('a server killed midway puts back what the database says when it starts again', { timeout: 30 * 60_000 }, () => {
  let tb: Record<string, string> | undefined;
  let dir: string;
  let admin: TestKey;
  let sshPort: number;
  let env: Record<string, string>;
  let server: ResultPromise | undefined;
  let kube: KubeClient;

  const ssh = (cmd: string) => run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', cmd]);

  /** Starts server/main.ts in its own process group; resolves once it answers over SSH. */
  async function start(): Promise<void> {
    server = execa(process.execPath, [MAIN], { env, reject: false, detached: true, stdout: 'ignore', stderr: { file: join(dir, 'server.log'), append: true } });
    await eventually('the server to answer over SSH', async () => (await ssh('apps:list')).exitCode === 0, 120_000, 250);
  }

  const psql = async (database: string, sql: string) => {
    const r = await execOutput(kube, { namespace: DB_NS, pod: `db-${database}-0`, container: 'postgres' }, ['slipway-postgres', 'psql', '-X', '-q', '-t', '-A', '-c', sql], new AbortController().signal);
    assert.equal(r.code, 0, `${sql} in ${database}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const dataObjects = async () => {
    const [sets, claims] = await Promise.all([
      kube.list<V1StatefulSet>('apps/v1', 'StatefulSet', DB_NS, { labelSelector: 'slipway/data' }),
      kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', DB_NS, { labelSelector: 'slipway/data' }),
    ]);
    const names = (kind: string, list: (V1StatefulSet | V1PersistentVolumeClaim)[]) => list.filter((o) => !o.metadata?.deletionTimestamp).map((o) => `${kind}/${o.metadata!.name}`);
    return [...names('StatefulSet', sets), ...names('PersistentVolumeClaim', claims)].sort();
  };
  const json = async <T>(command: string) => {
    const r = await ssh(`${command} --json`);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  /** kill -9 of the server and everything it started, as a power cut would. */
  async function kill9(): Promise<void> {
    process.kill(-server!.pid!, 'SIGKILL');
    await server;
    server = undefined;
  }

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    dir = mkdtempSync(join(tmpdir(), 'slipway-reconcile-'));
    admin = await makeKey(dir, 'admin');
    sshPort = await freePort();
    env = {
      PATH: process.env.PATH!, HOME: dir,
      SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: String(sshPort), SLIPWAY_HTTP_PORT: String(await freePort()), SLIPWAY_BIND: '127.0.0.1',
      SLIPWAY_ADMIN_KEYS: `${admin.path}.pub`, SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '900', SLIPWAY_GC_INTERVAL_S: '0',
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, SLIPWAY_PACK: tb.SLIPWAY_PACK!, KUBECONFIG: tb.KUBECONFIG!, DOCKER_HOST: tb.DOCKER_HOST!, ...clusterEnv(),
      ...Object.fromEntries(['SLIPWAY_REGISTRY_PULL', 'SLIPWAY_INGRESS_CLASS'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!])),
    };
    kube = new KubeClient(tb.KUBECONFIG!);
    await start();
    for (const app of [APP, DB_APP]) assert.equal((await ssh(`apps:create ${app}`)).exitCode, 0);
  });
  after(async () => {
    if (!tb) return;
    if (!server) await start().catch(() => undefined);
    await Promise.all([APP, DB_APP].map((app) => ssh(`apps:destroy ${app} --confirm ${app}`)));
    if (server) process.kill(-server.pid!, 'SIGTERM');
    await server;
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 at `web: 0/1 ready`, start: v1 runs again, the dead server\'s run pod is gone, a live owner\'s stays, no stale lock', { timeout: 3 * PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const wd = fixtureCopy('node-app');
    const genv = gitEnv(join(dir, 'home'), admin);
    mkdirSync(join(dir, 'home'), { recursive: true });
    const git = (args: string[]) => run('git', args, { cwd: wd, env: genv });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'v1']);
    const remote = `ssh://git@127.0.0.1:${sshPort}/${APP}.git`;
    const v1 = await git(['push', remote, 'main']);
    assert.equal(v1.exitCode, 0, v1.stderr);
    const ingress = tb!.SLIPWAY_TEST_INGRESS!;
    await waitForBody(ingress, `${APP}.${BASE_DOMAIN}`, (b) => b.startsWith('hello from slipway'), 60_000);

    // A live owner's interactive pod (this test process stands in for the local CLI).
    const image = (JSON.parse((await ssh(`releases:info ${APP} v1 --json`)).stdout) as { image: string }).image;
    const deployer = kubeDeployer(loadConfig({ ...env }));
    const keep = new AbortController();
    const live = deployer.oneOff.run({ app: APP, version: 1, image, processes: [], config: {}, formation: {}, domains: [] },
      { command: ['sleep', '600'], timeoutSeconds: 900, signal: keep.signal, io: { stdin: Readable.from([]), stdout: async () => {}, stderr: async () => {} } }).catch(() => undefined);
    // The dead server's: an interactive `run` attached over SSH when it is killed.
    const attached = run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', `run ${APP} -- sleep 600`]);
    const runPods = () => kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/run=interactive' });
    await eventually('two interactive run pods running', async () => (await runPods()).filter((p) => p.status?.phase === 'Running').length === 2, 120_000, 500);
    const livePod = (await runPods()).find((p) => p.metadata?.annotations?.['slipway/owner']?.includes(`/${process.pid}/`))?.metadata?.name;
    assert.ok(livePod, 'the live owner\'s pod is annotated with its process');

    // v2's web process never listens: its rollout waits at `web: 0/1 ready` until the server is killed.
    writeFileSync(join(wd, 'Procfile'), 'web: sleep 3600\n');
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'v2 never ready']);
    const push = execa('git', ['push', remote, 'main'], { cwd: wd, env: genv, reject: false, buffer: false });
    let transcript = '';
    await new Promise<void>((resolve, reject) => {
      push.stderr!.on('data', (d: Buffer) => { transcript += d.toString('utf8'); if (transcript.includes('web: 0/1 ready')) resolve(); });
      void push.then(() => reject(new Error(`the push ended before its rollout waited: ${transcript}`)));
    });
    await kill9();
    await push;
    await attached;
    // The killed push's instances run beside v1's, but the traffic never left v1 (the switch comes
    // only after they are ready).
    assert.deepEqual(await webSetNames(kube, NS), ['web-v1', 'web-v2'], 'before the restart the cluster runs the release the push was killed in');
    assert.equal((await servingWebSet(kube, NS))?.metadata?.name, 'web-v1');

    await start();
    // Reconciled before the server accepted anything: at once, not eventually.
    assert.deepEqual(await webSetNames(kube, NS), ['web-v1'], remoteLines(transcript).join('\n'));
    assert.equal((await servingWebSet(kube, NS))?.metadata?.name, 'web-v1');
    const releases = JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as { version: number; status: string }[];
    assert.deepEqual(releases.map((r) => [r.version, r.status]), [[2, 'failed'], [1, 'succeeded']]);
    const info = await ssh(`apps:info ${APP}`);
    assert.match(info.stdout, /Locked:\s+no$/m, info.stdout);
    await eventually('the dead server\'s run pod to be gone', async () => {
      const names = (await runPods()).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name);
      return names.length === 1 && names[0] === livePod;
    }, 60_000, 500);
    await waitForBody(ingress, `${APP}.${BASE_DOMAIN}`, (b) => b.startsWith('hello from slipway'), 60_000);
    keep.abort();
    await live;
  });

  test('kill -9 while pg:restore makes its new database, start: the half-made one is gone with its volumes, its job interrupted, the source and config as before; the same restore then goes through', { timeout: 2 * PUSH_MS }, async (t) => {
    if (!needTestbed(t, DB_NEEDS)) return;
    const created = await ssh(`addons:create ${DB_APP} postgres`);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.equal(await psql('postgres', 'CREATE TABLE kept (n int); INSERT INTO kept SELECT generate_series(1, 5); SELECT count(*) FROM kept'), '5');
    const capture = await ssh(`pg:backups:capture ${DB_APP}`);
    assert.equal(capture.exitCode, 0, capture.stderr);
    const before = { config: await json<Record<string, string>>(`config ${DB_APP}`), addons: (await json<{ name: string }[]>(`addons ${DB_APP}`)).map((a) => a.name), objects: await dataObjects() };
    assert.deepEqual(before.addons, ['postgres']);

    // The restore's job makes db-restored from the backup volume; the server dies once its set is in the cluster.
    const restore = run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', `pg:restore ${DB_APP} --to restored --promote`]);
    let ended: string | undefined;
    void restore.then((r) => { ended = `pg:restore ended (${r.exitCode}) before its new database was in the cluster: ${r.stdout}${r.stderr}`; });
    let seen: string[] = [];
    await eventually(() => `the restore's new database in the cluster (seen: ${seen.join(', ')})`, async () => {
      if (ended) throw new Error(`${ended} (seen: ${seen.join(', ')})`);
      seen = await dataObjects();
      return seen.includes('StatefulSet/db-restored');
    }, 180_000, 200);
    await kill9();
    const killed = await restore;
    assert.notEqual(killed.exitCode, 0, 'the restore did not finish');
    assert.ok((await dataObjects()).some((o) => o.includes('restored')), 'before the restart the half-made database is in the cluster');

    await start();
    // Removed before the server accepted anything: at once, not eventually.
    assert.deepEqual(await dataObjects(), before.objects, 'the half-made database and its volumes are gone; the source\'s are there');
    const jobs = await json<{ kind: string; status: string }[]>(`jobs ${DB_APP}`);
    assert.deepEqual(jobs.filter((j) => j.kind === 'pg:restore').map((j) => j.status), ['interrupted'], JSON.stringify(jobs));
    assert.deepEqual(await json<Record<string, string>>(`config ${DB_APP}`), before.config, 'DATABASE_URL still names the source');
    assert.deepEqual((await json<{ name: string }[]>(`addons ${DB_APP}`)).map((a) => a.name), ['postgres']);
    assert.equal(await psql('postgres', 'SELECT count(*) FROM kept'), '5', 'the source is untouched');

    // The same restore, under the same name, then goes through.
    const again = await ssh(`pg:restore ${DB_APP} --to restored --promote`);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(await psql('restored', 'SELECT count(*) FROM kept'), '5');
    assert.deepEqual((await json<{ name: string }[]>(`addons ${DB_APP}`)).map((a) => a.name).sort(), ['postgres', 'restored']);
    assert.notEqual((await json<Record<string, string>>(`config ${DB_APP}`)).DATABASE_URL, before.config.DATABASE_URL, 'DATABASE_URL names the restored database');
  });

  test('started again with another image for Postgres 17: addons says so, addons:update moves the database onto it with its rows; an image that does not start is put back', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, DB_NEEDS)) return;
    const image = process.env.SLIPWAY_POSTGRES_IMAGE!;
    const [repo, tag] = [image.slice(0, image.lastIndexOf(':')), image.slice(image.lastIndexOf(':') + 1)];
    const config = loadConfig({ ...process.env, ...env });
    const registry = registryApi(config);
    const digest = (await registry.tags('postgres')).find((x) => x.tag === tag)?.digest;
    assert.ok(digest, `${image} is in the registry`);
    // The same image under another name, as a newer Slipway's would be: the database's set changes, and it restarts on it.
    const newer = `${repo}@${digest}`;
    const restartWith = async (postgresImage: string) => {
      process.kill(-server!.pid!, 'SIGTERM');
      await server;
      env = { ...env, SLIPWAY_POSTGRES_IMAGE: postgresImage };
      await start();
    };
    const running = async () => (await json<{ name: string; image: string | null }[]>(`addons ${DB_APP}`)).find((a) => a.name === 'postgres')?.image;
    try {
      await restartWith(newer);
      const info = await ssh(`addons:info ${DB_APP} postgres`);
      assert.ok(info.stdout.includes(`postgres runs ${image}, not this server's ${newer}: addons:update ${DB_APP} postgres moves it`), info.stdout);
      const moved = await ssh(`addons:update ${DB_APP} postgres`);
      assert.equal(moved.exitCode, 0, moved.stderr);
      assert.ok((moved.stdout + moved.stderr).includes(`Moving postgres from ${image} to ${newer}`), moved.stdout + moved.stderr);
      assert.equal(await running(), newer);
      assert.equal(await psql('postgres', 'SELECT count(*) FROM kept'), '5', 'the rows are on the same volumes');

      const missing = `${repo}:missing-${randomBytes(3).toString('hex')}`;
      await restartWith(missing);
      const failed = await ssh(`addons:update ${DB_APP} postgres`);
      assert.notEqual(failed.exitCode, 0);
      assert.ok(failed.stderr.includes(`postgres did not come up on ${missing}`) && failed.stderr.includes(`it runs ${newer} again.`), failed.stderr);
      assert.equal(await running(), newer);
      assert.equal(await psql('postgres', 'SELECT count(*) FROM kept'), '5');
    } finally {
      if (server) await restartWith(image);
    }
  });

  test('kill -9 during a restore drill, start: its scratch copy is gone before the server answers, its job interrupted and no outcome recorded; the database runs on with its rows and the next drill passes', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, DB_NEEDS)) return;
    const drills = async () => (await json<{ name: string; lastDrill: { at: string } | null }[]>(`addons ${DB_APP}`)).find((a) => a.name === 'postgres')!.lastDrill;
    const scratch = async () => (await kube.list<V1Pod>('v1', 'Pod', DB_NS, { labelSelector: 'slipway/data=drill.postgres' })).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
    assert.equal((await ssh('rounds:run db-heartbeat')).exitCode, 0);
    const lastBefore = await drills();
    // The drill's scratch copy restores the newest backup; the server dies once its pod is in the cluster.
    const drill = run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', `pg:backups:verify ${DB_APP} postgres`]);
    let ended: string | undefined;
    void drill.then((r) => { ended = `pg:backups:verify ended (${r.exitCode}) before its scratch copy was in the cluster: ${r.stdout}${r.stderr}`; });
    await eventually(() => 'the drill\'s scratch copy in the cluster', async () => {
      if (ended) throw new Error(ended);
      return (await scratch()).length > 0;
    }, 180_000, 200);
    await kill9();
    assert.notEqual((await drill).exitCode, 0, 'the drill did not finish');
    assert.deepEqual(await scratch(), ['db-postgres-drill'], 'before the restart the scratch copy is in the cluster');

    await start();
    // Removed before the server accepted anything: at once, not eventually.
    assert.deepEqual(await scratch(), [], 'the scratch copy is gone');
    const jobs = await json<{ kind: string; status: string }[]>(`jobs ${DB_APP}`);
    assert.deepEqual(jobs.filter((j) => j.kind === 'pg:backups:verify').map((j) => j.status), ['interrupted'], JSON.stringify(jobs));
    assert.deepEqual(await drills(), lastBefore, 'a drill that was cut short records no outcome (doctor does not blame the backups for it)');
    assert.equal(await psql('postgres', 'SELECT count(*) FROM kept'), '5', 'the database runs on with its rows');

    const again = await ssh(`pg:backups:verify ${DB_APP} postgres`);
    assert.equal(again.exitCode, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /^Restore drill ok: /m);
    assert.deepEqual(await scratch(), []);
  });
});
