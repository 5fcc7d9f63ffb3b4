// install.sh for real, on a fresh Debian 12 server: a systemd-nspawn machine booted from the
// testbed's cached image (testbed/machine/machine.sh, built by testbed/parts/70-machine.sh), with
// its own systemd, users and file system and the host's network. The checkout is copied in and
// install.sh runs inside as root, pointed at the testbed: its cluster (--kubeconfig), its Docker
// engine (the socket bind-mounted into the machine), registry (with its credential:
// --registry-auth), offline builder and pack binary.
// Everything after that is done from outside, as a user would: the host's own ssh and git over the
// ports the installed service listens on, and HTTP through the testbed's ingress with the app's
// Host header. What is proved:
//   - a first install gives a running, enabled service (settings 0600, data 0700);
//   - apps:create, then `git push` over SSH and over HTTP (a token from tokens:create) build with
//     pack, deploy to the cluster, and the app answers at APP.BASE_DOMAIN;
//   - the database images install.sh names (images/build.sh, which finds the testbed's in the
//     registry: the same recipe and inputs) run Postgres and Valkey for addons:create;
//   - a power-off and boot brings the service back by itself with the same apps, keys, tokens,
//     releases and builds;
//   - install.sh --upgrade to a version whose store migration fails puts the previous code and
//     store back and starts them, the app answering all along (20 requests/s through the ingress,
//     none failed);
//   - install.sh --upgrade to the checkout with a bumped version and one more migration (a marker
//     file in the new code shows up) keeps every setting and all data, the app answering all
//     along (its database images failing to build: one warning, the images named before kept);
//     a backup key set by hand is kept and backs up first (backup:create), a push while it
//     runs is refused with the sentence, the store is copied before it is migrated, and the same
//     push deploys after;
//   - --uninstall removes service, code and settings and keeps /var/lib/slipway; installing again
//     over it (no --admin-key: the admins come from the kept database) gives everything back, and
//     a push with the old token still deploys;
//   - `doctor` over SSH passes every check against the real engine, registry and cluster;
//   - with the data directory (its backups too) and the app's namespace gone, install.sh --restore
//     latest --from-s3 with the key and the bucket's credential brings back the app from the copy
//     of its last backup in the testbed's S3 bucket (answering, without a build; `rollback` then
//     runs the release before from its restored image), its releases, keys, token and builds, and
//     the restored server copies its own backups to the bucket.
// The k3s, docker.io, docker-registry and pack downloads are not exercised here (no get.k3s.io,
// Docker Hub or GitHub in CI): test/unit/install.test.ts covers them as dry runs.
//
// One machine name: a machine left by an aborted run is destroyed first, and the machine is
// destroyed after the test, so each run starts from the cached image. Outside CI a missing testbed
// piece skips the test, saying why; in CI it fails it.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run, type RunResult } from '../../server/exec.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { gitEnv, makeKey, remoteLines, sshOptions, type TestKey } from '../support/harness.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, loadDuring, waitForBody } from '../support/ingress.ts';
import { inspectStoreFile, SCHEMA_VERSION } from '../../server/store/db.ts';
import { writeKeyFile } from '../../server/ops/self-backup/age.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['SLIPWAY_TEST_MACHINE', 'DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_REGISTRY_AUTH_FILE', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_POSTGRES_IMAGE', 'SLIPWAY_VALKEY_IMAGE'] as const;
/** The testbed's S3 endpoint (testbed/parts/69-s3.sh), for the restore from a backup's copy. */
const S3_NEEDS = ['SLIPWAY_TEST_S3_ENDPOINT', 'SLIPWAY_TEST_S3_BUCKET', 'SLIPWAY_TEST_S3_CREDENTIALS', 'SLIPWAY_TEST_S3_CA'] as const;
const MACHINE = 'slipway-e2e-install';
/** Not the defaults (the machine shares the host's network) and not what deploy tests use (port 0). */
const SSH_PORT = 2422;
const HTTP_PORT = 8280;
/** The testbed's base domain, as in deploy.test.ts: the ingress routes APP.slipway.test by Host header. */
const DOMAIN = 'slipway.test';
/** Apps this test makes are `inst-…`; their namespaces `slipway-inst-…` are removed if a run was aborted. */
const APP = `inst-${randomBytes(3).toString('hex')}`;
const HELLO = 'hello from slipway';
const root = join(import.meta.dirname, '..', '..');
/** Cold: apt packages, Node and npm, the npm dependencies built with g++. */
const INSTALL_MS = 15 * 60_000;
/** A first build pulls the builder's images and fills the build cache. */
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 30_000;
/** From boot to the service answering. */
const BACK_MS = 90_000;

interface Snapshot { apps: unknown; keys: unknown; tokens: string[]; releases: unknown; builds: unknown }

describe('install.sh on a fresh Debian 12 machine, against the testbed', { timeout: 60 * 60_000 }, () => {
  let tb: Record<string, string> | undefined;
  let dir: string;
  let admin: TestKey;
  let wd: string;
  let token: string;
  let before1: Snapshot;
  const timings: Record<string, string> = {};
  let installFlags: string[];

  /** `machine.sh ARGS…` (DOCKER_HOST set: boot bind-mounts the testbed engine's socket). */
  const machine = (args: string[], timeoutMs = 5 * 60_000) =>
    run('bash', [tb!.SLIPWAY_TEST_MACHINE!, ...args], { env: { DOCKER_HOST: tb!.DOCKER_HOST! }, timeoutMs });
  const inside = (args: string[], timeoutMs?: number) => machine(['exec', MACHINE, ...args], timeoutMs);
  const ok = (r: RunResult, what: string) => assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  const timed = async <T>(t: TestContext, what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const v = await fn();
    timings[what] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    t.diagnostic(`${what}: ${timings[what]}`);
    return v;
  };
  const ssh = (command: string) =>
    run('ssh', [...sshOptions(admin), '-p', String(SSH_PORT), 'git@127.0.0.1', command], { input: '', timeoutMs: 60_000 });
  const json = async (command: string) => {
    const r = await ssh(`${command} --json`);
    ok(r, command);
    return JSON.parse(r.stdout) as unknown;
  };
  const git = (args: string[], cwd?: string) => run('git', args, { cwd, env: gitEnv(join(dir, 'home'), admin), timeoutMs: PUSH_MS });
  const commitAll = async (message: string) => {
    ok(await git(['init', '-q', '-b', 'main', wd]), 'git init');
    ok(await git(['add', '-A'], wd), 'git add');
    ok(await git(['commit', '-q', '--allow-empty', '-m', message], wd), 'git commit');
    return (await git(['rev-parse', 'HEAD'], wd)).stdout.trim();
  };
  /** What must survive a power cycle, an upgrade and a reinstall (token names: their last use changes). */
  const snapshot = async (): Promise<Snapshot> => ({
    // What an app is (name, creation); its state and instances move with the cluster.
    apps: ((await json('apps:list')) as { name: string; createdAt: string }[]).map(({ name, createdAt }) => ({ name, createdAt })),
    keys: await json('keys:list'),
    tokens: ((await json('tokens:list')) as { name: string }[]).map((t) => t.name),
    releases: await json(`releases ${APP}`),
    builds: await json(`builds ${APP}`),
  });
  /** The installed service's last lines of log, for a failure's message. */
  const serviceLog = () => inside(['journalctl', '-u', 'slipway.service', '-n', '80', '--no-pager']);
  const answering = () => eventually(`Slipway on port ${SSH_PORT} to answer apps:list`, async () => (await ssh('apps:list')).exitCode === 0, BACK_MS, 500);
  const install = async (flags: string[]) => {
    const r = await inside(['bash', '/srv/slipway/install.sh', ...flags], INSTALL_MS);
    ok(r, 'install.sh');
    return r.stdout;
  };

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    // An aborted run's machine and apps.
    ok(await machine(['destroy', MACHINE]), 'machine.sh destroy (leftover)');
    const kube = new KubeClient(tb.KUBECONFIG!);
    for (const ns of await kube.list<{ metadata?: { name?: string } }>('v1', 'Namespace', undefined)) {
      const name = ns.metadata?.name ?? '';
      if (name.startsWith('slipway-inst-')) await kube.remove('v1', 'Namespace', name);
    }
    dir = mkdtempSync(join(tmpdir(), 'slipway-install-e2e-'));
    admin = await makeKey(dir, 'admin');
    const npmRegistry = (await run('npm', ['config', 'get', 'registry'])).stdout.trim();
    installFlags = ['--kubeconfig', '/srv/testbed/kubeconfig', '--docker-host', 'unix:///srv/testbed/docker.sock',
      '--registry', tb.SLIPWAY_REGISTRY!, '--registry-auth', '/srv/testbed/registry-auth', '--builder', tb.SLIPWAY_BUILDER!, '--pack', '/srv/testbed/pack',
      '--ssh-port', String(SSH_PORT), '--http-port', String(HTTP_PORT), '--host', '127.0.0.1', '--domain', DOMAIN,
      '--npm-registry', npmRegistry,
      // The testbed's Traefik runs on its first node, outside the pod network: the apps' network
      // policies admit it by the nodes' addresses (with two nodes, an app pod on the second one
      // sees Traefik's connections come from the first).
      '--ingress-from', 'node', ...(process.env.SLIPWAY_NODE_ADDRESSES ? ['--node-addresses', process.env.SLIPWAY_NODE_ADDRESSES] : [])];
  });

  after(async () => {
    if (!tb) return;
    try {
      // The app's namespace goes with it; the machine goes whatever happened.
      if (admin) await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    } finally {
      ok(await machine(['destroy', MACHINE]), 'machine.sh destroy');
      // The dashboard's route the install put into the shared cluster.
      await new KubeClient(tb.KUBECONFIG!).remove('v1', 'Namespace', 'slipway');
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (Object.keys(timings).length) process.stderr.write(`install e2e timings: ${JSON.stringify(timings)}\n`);
    }
  });

  test('install.sh on a fresh machine: a running, enabled service with private settings and data', { timeout: INSTALL_MS + 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    await timed(t, 'boot (fresh machine from the image)', async () => ok(await machine(['boot', MACHINE]), 'machine.sh boot'));
    const rootfs = (await machine(['dir', MACHINE])).stdout.trim();
    // The checkout as install.sh's own copy step takes it (no .git, node_modules, data).
    cpSync(root, join(rootfs, 'srv', 'slipway'), {
      recursive: true,
      filter: (src) => !['.git', 'node_modules', 'data'].includes(relative(root, src)),
    });
    mkdirSync(join(rootfs, 'srv', 'testbed'), { recursive: true });
    copyFileSync(tb!.KUBECONFIG!, join(rootfs, 'srv', 'testbed', 'kubeconfig'));
    copyFileSync(tb!.SLIPWAY_PACK!, join(rootfs, 'srv', 'testbed', 'pack'));
    ok(await inside(['chmod', '0755', '/srv/testbed/pack']), 'chmod pack');
    // The testbed registry's credential (it refuses requests without one), for --registry-auth.
    copyFileSync(tb!.SLIPWAY_REGISTRY_AUTH_FILE!, join(rootfs, 'srv', 'testbed', 'registry-auth'));
    ok(await inside(['chmod', '0600', '/srv/testbed/registry-auth']), 'chmod registry-auth');
    writeFileSync(join(rootfs, 'srv', 'testbed', 'admin.pub'), admin.pub);

    const out = await timed(t, 'first install', () => install([...installFlags, '--admin-key', '/srv/testbed/admin.pub']));
    assert.ok(out.includes('=====> Slipway is running\n'), out);
    assert.ok(out.includes(`       Apps answer at http://APP.${DOMAIN}\n`), out);
    assert.ok(out.includes(`ssh://git@127.0.0.1:${SSH_PORT}/APP.git`), out);
    assert.ok(out.includes(`ssh -p ${SSH_PORT} git@127.0.0.1 apps:create myapp`), out);
    assert.equal((await inside(['systemctl', 'is-enabled', 'slipway.service'])).stdout.trim(), 'enabled');
    assert.equal((await inside(['systemctl', 'is-active', 'slipway.service'])).stdout.trim(), 'active');
    assert.equal((await inside(['systemctl', 'show', '-P', 'User', 'slipway.service'])).stdout.trim(), 'slipway');
    // The service's process is node itself (bin/slipway-server execs it), started as `npm start`
    // starts it: its Node flag and malloc settings, running the server install.sh built
    // (dist/server.mjs: the installed copy is read-only to the service, so it is built at install).
    const pid = (await inside(['systemctl', 'show', '-P', 'MainPID', 'slipway.service'])).stdout.trim();
    const cmdline = (await inside(['cat', `/proc/${pid}/cmdline`])).stdout.split('\0');
    assert.deepEqual(cmdline.slice(1, 3), ['--max-semi-space-size=2', '/opt/slipway/app/dist/server.mjs'], cmdline.join(' '));
    const environ = (await inside(['cat', `/proc/${pid}/environ`])).stdout.split('\0');
    for (const v of ['MALLOC_ARENA_MAX=2', 'MALLOC_TRIM_THRESHOLD_=131072', 'MALLOC_MMAP_THRESHOLD_=131072']) assert.ok(environ.includes(v), `${v} not in ${environ.join(' ')}`);
    assert.equal((await inside(['stat', '-c', '%a %U', '/etc/slipway/slipway.env'])).stdout.trim(), '600 root');
    assert.equal((await inside(['stat', '-c', '%a %U', '/var/lib/slipway'])).stdout.trim(), '700 slipway');
    assert.equal((await inside(['stat', '-c', '%a %U', '/etc/slipway/registry-auth'])).stdout.trim(), '600 slipway');
    assert.match((await inside(['cat', '/etc/slipway/slipway.env'])).stdout, /^SLIPWAY_REGISTRY_AUTH_FILE=\/etc\/slipway\/registry-auth$/m);
    // The database images: images/build.sh, the testbed's own recipe, finds the testbed's (the same
    // inputs, so the same tags) in the registry and builds nothing; the settings name them.
    const env = (await inside(['cat', '/etc/slipway/slipway.env'])).stdout;
    assert.ok(out.includes("-----> Database images: Postgres 17 and Valkey 8 from Debian's packages\n"), out);
    assert.ok(env.includes(`\nSLIPWAY_POSTGRES_IMAGE=${tb!.SLIPWAY_POSTGRES_IMAGE}\n`) && env.includes(`\nSLIPWAY_VALKEY_IMAGE=${tb!.SLIPWAY_VALKEY_IMAGE}\n`), env);
    ok(await ssh('apps:list'), 'apps:list over SSH');
  });

  test('the dashboard is routed through the cluster\'s ingress at slipway.DOMAIN, and no app may be called slipway', { timeout: ROUTE_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    assert.match((await inside(['cat', '/etc/slipway/slipway.env'])).stdout, new RegExp(`^SLIPWAY_DASHBOARD_URL=http://slipway\\.${DOMAIN.replace(/\./g, '\\.')}$`, 'm'));
    const kube = new KubeClient(tb!.KUBECONFIG!);
    const ingress = await kube.read<{ spec?: { rules?: { host?: string }[] } }>('networking.k8s.io/v1', 'Ingress', 'dashboard', 'slipway');
    assert.deepEqual(ingress?.spec?.rules?.map((r) => r.host), [`slipway.${DOMAIN}`]);
    // The API's public document, from the installed server, through the ingress (Host header).
    let last = 'nothing yet';
    await timed(t, 'dashboard route through the ingress', () => eventually(() => `slipway.${DOMAIN} through the ingress; last: ${last}`, async () => {
      const r = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, `slipway.${DOMAIN}`, 5000, '/api/v1/openapi.json').catch((err: Error) => ({ status: 0, body: err.message }));
      last = `${r.status} ${r.body.slice(0, 120)}`;
      return r.status === 200 && (JSON.parse(r.body) as { openapi?: string }).openapi === '3.1.0';
    }, ROUTE_MS, 500));
    const taken = await ssh('apps:create slipway');
    assert.equal(taken.exitCode, 1);
    assert.match(taken.stderr, /"slipway" is reserved for Slipway itself/);
  });

  test('apps:create and git push over SSH: built with pack, deployed, answering through the ingress', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const created = await ssh(`apps:create ${APP}`);
    ok(created, 'apps:create');
    wd = fixtureCopy('node-app');
    const sha = await commitAll('node app');
    const r = await timed(t, 'first push over SSH (build, deploy)', () => git(['push', `ssh://git@127.0.0.1:${SSH_PORT}/${APP}.git`, 'main'], wd));
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes(`-----> Building ${APP} (${sha.slice(0, 7)}) with ${tb!.SLIPWAY_BUILDER}`), lines.join('\n'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.ok(at >= 0, lines.join('\n'));
    assert.equal(lines[at + 1], `       http://${APP}.${DOMAIN}`);
    await timed(t, 'route through the ingress', () => waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b === `${HELLO}\n`, ROUTE_MS));
  });

  test('git push over HTTP with a token from tokens:create', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const created = await ssh('tokens:create e2e-install');
    ok(created, 'tokens:create');
    token = created.stdout.trim().split('\n').at(-1)!;
    assert.match(token, /^slw_/);
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('`hello from slipway', '`hello over http from slipway'));
    await commitAll('over http');
    const r = await timed(t, 'push over HTTP (warm build, deploy)', () => git(['push', `http://x:${token}@127.0.0.1:${HTTP_PORT}/${APP}.git`, 'main'], wd));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(remoteLines(r.stderr).includes('=====> Application deployed:'), r.stderr);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('over http'), ROUTE_MS), 'hello over http from slipway\n');
    before1 = await snapshot();
    assert.equal((before1.releases as unknown[]).length, 2, JSON.stringify(before1.releases));
  });

  test('addons:create on the installed server runs Postgres and Valkey from the images install.sh named; addons:destroy takes them', { timeout: 4 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const app = `${APP}-db`;
    ok(await ssh(`apps:create ${app}`), 'apps:create');
    const pg = await timed(t, 'addons:create postgres', () => ssh(`addons:create ${app} postgres --size 256Mi`));
    ok(pg, 'addons:create postgres');
    assert.match(pg.stdout, /Created postgres \(postgres 17, 256Mi\) as DATABASE_URL \(stored/);
    ok(await ssh(`addons:create ${app} valkey --size 256Mi`), 'addons:create valkey');
    const list = (await json(`addons ${app}`)) as { name: string; ready: boolean }[];
    assert.deepEqual(list.map((a) => [a.name, a.ready]), [['postgres', true], ['valkey', true]]);
    const pods = await new KubeClient(tb!.KUBECONFIG!).list<{ spec?: { containers: { image?: string }[] } }>('v1', 'Pod', `slipway-${app}`, { labelSelector: 'slipway/data' });
    assert.deepEqual(pods.map((p) => p.spec?.containers[0]?.image).sort(), [tb!.SLIPWAY_POSTGRES_IMAGE, tb!.SLIPWAY_VALKEY_IMAGE].sort());
    for (const kind of ['postgres', 'valkey']) ok(await ssh(`addons:destroy ${app} ${kind} --confirm ${app}`), `addons:destroy ${kind}`);
    ok(await ssh(`apps:destroy ${app} --confirm ${app}`), 'apps:destroy');
  });

  test('power off and boot: the service comes back by itself with the same apps, keys, tokens and releases', { timeout: 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    await timed(t, 'power-off, boot, service answering', async () => {
      ok(await machine(['poweroff', MACHINE]), 'machine.sh poweroff');
      ok(await machine(['boot', MACHINE]), 'machine.sh boot');
      await answering();
    });
    assert.deepEqual(await snapshot(), before1);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('over http'), ROUTE_MS), 'hello over http from slipway\n');
  });

  /** The checkout in the machine as the next version: package.json's version and one more store migration (a statement), appended. */
  const nextVersion = (rootfs: string, version: string, migration: string) => {
    const src = join(rootfs, 'srv', 'slipway');
    const pkg = readFileSync(join(root, 'package.json'), 'utf8');
    const bumped = pkg.replace(/^ {2}"version": "[^"]*"/m, `  "version": "${version}"`);
    assert.notEqual(bumped, pkg);
    writeFileSync(join(src, 'package.json'), bumped);
    const migrations = readFileSync(join(root, 'server', 'store', 'migrations.ts'), 'utf8');
    const more = migrations.replace(/\n\];\n$/, `\n  \`${migration}\`,\n];\n`);
    assert.notEqual(more, migrations);
    writeFileSync(join(src, 'server', 'store', 'migrations.ts'), more);
  };
  /** `install.sh --upgrade` with the app under 20 requests/s through the ingress the whole time. */
  const upgradeUnderLoad = async (t: TestContext, what: string, during?: () => Promise<void>) => {
    const load = loadDuring(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, { ratePerSecond: 20, maxDurationMs: INSTALL_MS });
    await new Promise((r) => setTimeout(r, 2000));
    const upgrade = timed(t, what, () => inside(['bash', '/srv/slipway/install.sh', '--upgrade'], INSTALL_MS));
    const duringDone = during?.();
    const r = await upgrade;
    await duringDone;
    await new Promise((r) => setTimeout(r, 2000));
    const served = await load.stop();
    t.diagnostic(`${what}: ${served.sent} requests, ${served.failed} failed, bodies ${JSON.stringify([...served.bodies])}`);
    // The load kept its rate the whole time (2 s before the upgrade, 2 s after: at least 80 requests).
    assert.ok(served.sent >= 80 && served.sent >= 0.8 * 20 * (served.durationMs / 1000), `sent ${served.sent} in ${served.durationMs} ms`);
    assert.equal(served.failed, 0, `failed ${served.failed} of ${served.sent}: ${JSON.stringify(served.failures)}`);
    assert.deepEqual([...served.bodies], ['hello over http from slipway\n']);
    return r;
  };
  const storeSchema = (rootfs: string) => inspectStoreFile(join(rootfs, 'var', 'lib', 'slipway', 'slipway.db'));

  test('install.sh --upgrade to a version whose migration fails: the app keeps serving, and the previous code and store come back', { timeout: INSTALL_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const rootfs = (await machine(['dir', MACHINE])).stdout.trim();
    const version = ((await ssh('version')).stdout.trim().split(' ')[1])!;
    // A migration that cannot succeed: the table exists.
    nextVersion(rootfs, `${version}-broken`, 'CREATE TABLE apps (name TEXT)');
    const r = await upgradeUnderLoad(t, 'failed upgrade (rolled back)');
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    const line = r.stderr.split('\n').find((l) => l.startsWith(' !     '));
    assert.match(line ?? r.stderr, new RegExp(`^ !     The upgrade to ${version}-broken failed \\(version ${version}-broken stopped as it started; its log is above\\): version ${version} runs again with its code, and the store as it was before \\(/var/lib/slipway/upgrades/store-before-v${SCHEMA_VERSION + 1}-\\S+\\.sqlite; the new version's is in /var/lib/slipway/upgrades/failed-upgrade-\\S+\\)\\.$`));
    // The new version's own words, from its log: the store left as it was, and where the copy is.
    assert.match(r.stderr, /could not be migrated to schema \d+ and was left at schema \d+, as it was; the copy taken before migrating is/);
    await answering();
    assert.equal((await ssh('version')).stdout.trim(), `slipway ${version}`);
    assert.deepEqual(storeSchema(rootfs), { schema: SCHEMA_VERSION, integrity: 'ok' });
    assert.equal(existsSync(join(rootfs, 'var', 'lib', 'slipway', 'upgrading')), false, 'the flag is gone');
    assert.equal(existsSync(join(rootfs, 'opt', 'slipway', 'app.old')), false);
    assert.deepEqual(await snapshot(), before1);
  });

  test('install.sh --upgrade to a newer version: the app serves throughout, a push meanwhile is refused with the sentence, the store is copied then migrated, and the next push deploys', { timeout: INSTALL_MS + PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const rootfs = (await machine(['dir', MACHINE])).stdout.trim();
    // A backup key set by hand, as docs/backups.md says: the upgrade backs up with it first, and
    // keeps the line (the file is written back exactly as it was).
    const { recipient } = await writeKeyFile(join(dir, 'backup.key'));
    const envFile = join(rootfs, 'etc', 'slipway', 'slipway.env');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}# Set by hand, kept by install.sh:\nSLIPWAY_BACKUP_KEY=${recipient}\n`);
    const settings = readFileSync(envFile, 'utf8');
    const version = ((await ssh('version')).stdout.trim().split(' ')[1])!;
    nextVersion(rootfs, `${version}-next`, 'CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY)');
    // New code: a file the first install did not have.
    const marker = `upgrade ${randomBytes(4).toString('hex')}\n`;
    writeFileSync(join(rootfs, 'srv', 'slipway', 'UPGRADE-MARKER'), marker);
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('hello over http from slipway', 'hello after the upgrade from slipway'));
    const sha = await commitAll('after the upgrade');
    // The new code's database images fail to build (images/build.sh made to fail, as a full disk or
    // an engine that stopped would): said in one warning, and the upgrade goes on, keeping the
    // images the settings named.
    const buildScript = join(rootfs, 'srv', 'slipway', 'images', 'build.sh');
    const buildScriptText = readFileSync(buildScript, 'utf8');
    writeFileSync(buildScript, buildScriptText.replace('\n', '\necho "images: postgres: the build failed: no space left on device (made to fail by the test)" >&2; exit 1\n'));
    t.after(() => writeFileSync(buildScript, buildScriptText));
    let refused: RunResult | undefined;
    const r = await upgradeUnderLoad(t, 'upgrade in place', async () => {
      // Once the flag is there, a push is refused with the sentence (by whichever version answers).
      await eventually('the maintenance flag', async () => existsSync(join(rootfs, 'var', 'lib', 'slipway', 'upgrading')), INSTALL_MS, 100);
      refused = await git(['push', `ssh://git@127.0.0.1:${SSH_PORT}/${APP}.git`, 'main'], wd);
    });
    ok(r, 'install.sh --upgrade');
    assert.notEqual(refused!.exitCode, 0, refused!.stderr);
    assert.ok(refused!.stderr.includes(' !     Slipway is being upgraded; try again in a minute.'), refused!.stderr);
    assert.ok(r.stdout.includes('=====> Slipway is running (upgraded; data kept)'), r.stdout);
    // The jobs running when it started were counted in the live store (none here, or they ended).
    assert.match(r.stdout, /^ {7}(no job running|the running jobs ended after \d+s)$/m);
    // The self-backup came first, by the previous version's local CLI, verified.
    assert.ok(r.stdout.includes('       self-backup first (SLIPWAY_BACKUP_KEY is set): backup:create'), r.stdout);
    const backedUp = /^Backed up as (slipway-\d{8}T\d{6}Z\.tar\.age) \(.*: 1 apps, 2 releases, \d+ images, \d+ blobs\) in [\d.]+ s\.\nVerified in [\d.]+ s: /m.exec(r.stdout);
    assert.ok(backedUp, r.stdout);
    assert.ok(r.stdout.indexOf(backedUp[0]) < r.stdout.indexOf('-----> Slipway code in'), 'before the new code');
    assert.ok(existsSync(join(rootfs, 'var', 'lib', 'slipway', 'backups', backedUp[1]!)));
    assert.ok(r.stdout.includes('dependencies unchanged: reusing node_modules'), r.stdout);
    assert.ok(r.stdout.includes(`       upgraded from ${version} to ${version}-next; pushes and changes are taken again`), r.stdout);
    assert.equal(readFileSync(join(rootfs, 'opt', 'slipway', 'app', 'UPGRADE-MARKER'), 'utf8'), marker);
    const said = `${r.stdout}\n${r.stderr}`;
    assert.ok(said.includes('images: postgres: the build failed: no space left on device (made to fail by the test)\n'), said);
    assert.ok(said.includes(' !     The database images were not built (the reason is above): addons:create keeps the images named before, or is refused without them, until install.sh runs again.'), said);
    assert.equal(readFileSync(envFile, 'utf8'), settings);
    assert.equal((await ssh('version')).stdout.trim(), `slipway ${version}-next`);
    assert.deepEqual(storeSchema(rootfs), { schema: SCHEMA_VERSION + 1, integrity: 'ok' });
    // The copy the new version took before migrating: the store at the previous schema.
    const copies = readdirSync(join(rootfs, 'var', 'lib', 'slipway', 'upgrades')).filter((f) => f.startsWith(`store-before-v${SCHEMA_VERSION + 1}-`)).sort();
    // The failed upgrade's (one per start systemd tried) and this one's.
    assert.ok(copies.length >= 2, copies.join(' '));
    assert.deepEqual(inspectStoreFile(join(rootfs, 'var', 'lib', 'slipway', 'upgrades', copies.at(-1)!)), { schema: SCHEMA_VERSION, integrity: 'ok' });
    assert.equal(existsSync(join(rootfs, 'var', 'lib', 'slipway', 'upgrading')), false);
    assert.deepEqual(await snapshot(), before1);
    // The refused push changed nothing; the same push now deploys.
    const pushed = await timed(t, 'push after the upgrade', () => git(['push', `ssh://git@127.0.0.1:${SSH_PORT}/${APP}.git`, 'main'], wd));
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    assert.ok(remoteLines(pushed.stderr).includes(`-----> Building ${APP} (${sha.slice(0, 7)}) with ${tb!.SLIPWAY_BUILDER}`), pushed.stderr);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('after the upgrade'), ROUTE_MS), 'hello after the upgrade from slipway\n');
    before1 = await snapshot();
    assert.equal((before1.releases as unknown[]).length, 3);
  });

  test('--uninstall keeps the data; installing again over it brings everything back', { timeout: INSTALL_MS + PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const rootfs = (await machine(['dir', MACHINE])).stdout.trim();
    const gone = await timed(t, 'uninstall', () => inside(['bash', '/srv/slipway/install.sh', '--uninstall']));
    ok(gone, 'install.sh --uninstall');
    assert.ok(gone.stdout.includes('kept /var/lib/slipway'), gone.stdout);
    for (const p of ['opt/slipway', 'etc/slipway', 'etc/systemd/system/slipway.service', 'usr/local/bin/slipway']) {
      assert.equal(existsSync(join(rootfs, p)), false, `${p} is still there`);
    }
    assert.ok(existsSync(join(rootfs, 'var', 'lib', 'slipway', 'slipway.db')), 'the database was kept');
    assert.notEqual((await ssh('apps:list')).exitCode, 0, 'nothing answers after --uninstall');

    // No --admin-key: the admins are in the kept database.
    const out = await timed(t, 'reinstall over the kept data', () => install(installFlags));
    assert.ok(out.includes('=====> Slipway is running\n'), out);
    await answering();
    assert.deepEqual(await snapshot(), before1);

    // The kept repository, token and build cache: a push with the old token deploys.
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('hello after the upgrade from slipway', 'hello again from slipway'));
    await commitAll('after reinstall');
    const r = await timed(t, 'push over HTTP after reinstall', () => git(['push', `http://x:${token}@127.0.0.1:${HTTP_PORT}/${APP}.git`, 'main'], wd));
    assert.equal(r.exitCode, 0, r.exitCode === 0 ? '' : `${r.stderr}\nthe service's log:\n${(await serviceLog()).stdout}`);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('again'), ROUTE_MS), 'hello again from slipway\n');
    assert.equal(((await json(`releases ${APP}`)) as unknown[]).length, 4);
  });

  test('doctor over SSH passes every check against the real engine, registry and cluster', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const r = await timed(t, 'doctor', () => ssh('doctor'));
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    // The dependencies, then the server's background rounds (each ok while its last round did not fail).
    const rounds = ['tls-sync', 'gc', 'rights', 'warm-sweep', 'sync-poll', 'db-heartbeat', 'db-backups', 'db-logins', 'self-backup', 'previews', 'audit', 'sleep', 'cron-audit'].map((n) => `round ${n}`);
    assert.deepEqual(lines.map((l) => l.split(/\s{2,}/)[1]), ['docker', 'pack', 'builder', 'registry', 'cluster', 'ingress', 'dashboard site', 'disk', 'ssh crypto', 'https', 'database backups', ...rounds], r.stdout);
    for (const l of lines) assert.match(l, /^ok {4}/, r.stdout);
    assert.match(r.stdout, /cluster +API https:\/\/127\.0\.0\.1:6443, \d+\/\d+ nodes Ready \(v1\.34\.\d+\), ingress class \S+/);
    // Plain HTTP, but on a name no public DNS answers for (the testbed's domain): said, not failed.
    assert.match(r.stdout, /https +the dashboard and API are served over plain HTTP at http:\/\/slipway\.slipway\.test, and slipway\.slipway\.test is a local name no public DNS answers for/);
  });

  test('the machine and its data are lost: install.sh --restore latest --from-s3 brings back the app, its releases, keys and token from the backup\'s copy in the bucket, deployed again from its images without a build', { timeout: INSTALL_MS + 5 * 60_000 }, async (t) => {
    const s3 = needTestbed(t, [...NEEDS, ...S3_NEEDS]);
    if (!s3) return;
    const rootfs = (await machine(['dir', MACHINE])).stdout.trim();
    // Backups with the key of the upgrade's test (the reinstall wrote the settings anew), each
    // copied to a folder of the testbed's bucket of this run's own; its credential and authority
    // are the server's (0600, the slipway user's), as install.sh --backup-s3 places them.
    const { recipient } = await writeKeyFile(join(dir, 'restore.key'));
    const folder = `install-${randomBytes(4).toString('hex')}`;
    const s3Url = `${s3.SLIPWAY_TEST_S3_ENDPOINT!}/${s3.SLIPWAY_TEST_S3_BUCKET!}/${folder}`;
    t.after(() => rmSync(join(s3.SLIPWAY_TEST_S3_CREDENTIALS!, '..', 'data', s3.SLIPWAY_TEST_S3_BUCKET!, folder), { recursive: true, force: true }));
    copyFileSync(s3.SLIPWAY_TEST_S3_CREDENTIALS!, join(rootfs, 'etc', 'slipway', 'backup-s3-credentials'));
    copyFileSync(s3.SLIPWAY_TEST_S3_CA!, join(rootfs, 'etc', 'slipway', 'backup-s3-ca.pem'));
    ok(await inside(['chown', 'slipway:slipway', '/etc/slipway/backup-s3-credentials']), 'the credential is the server\'s');
    ok(await inside(['chmod', '0600', '/etc/slipway/backup-s3-credentials']), 'the credential is the server\'s only');
    const envFile = join(rootfs, 'etc', 'slipway', 'slipway.env');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}SLIPWAY_BACKUP_KEY=${recipient}\nSLIPWAY_BACKUP_S3_URL=${s3Url}\nSLIPWAY_BACKUP_S3_CREDENTIALS=/etc/slipway/backup-s3-credentials\nSLIPWAY_BACKUP_S3_CA=/etc/slipway/backup-s3-ca.pem\n`);
    ok(await inside(['systemctl', 'restart', 'slipway.service']), 'restart with the backup key and the bucket');
    await answering();
    const made = await ssh('backup:create --json');
    ok(made, 'backup:create');
    const record = JSON.parse(made.stdout) as { name: string; verified: boolean; copy: { ok: boolean; url: string; error: string | null } };
    assert.deepEqual([record.verified, record.copy.ok, record.copy.error, record.copy.url], [true, true, null, `${s3Url}/${record.name}`]);
    const before = await snapshot();
    // The whole machine is lost, its backup folder with it: the key, kept by the admin, and the
    // bucket's credential are all that is left.
    ok(await inside(['bash', '/srv/slipway/install.sh', '--uninstall']), 'install.sh --uninstall');
    ok(await inside(['rm', '-rf', '/var/lib/slipway']), 'the data directory and its backups are lost');
    // The cluster lost what this server ran there too.
    const kube = new KubeClient(tb!.KUBECONFIG!);
    await kube.remove('v1', 'Namespace', `slipway-${APP}`);
    await eventually(`the namespace slipway-${APP} to go`, async () => (await kube.read('v1', 'Namespace', `slipway-${APP}`)) === undefined, 3 * 60_000, 1000);
    copyFileSync(join(dir, 'restore.key'), join(rootfs, 'root', 'backup.key'));
    copyFileSync(s3.SLIPWAY_TEST_S3_CREDENTIALS!, join(rootfs, 'root', 's3.credentials'));
    copyFileSync(s3.SLIPWAY_TEST_S3_CA!, join(rootfs, 'root', 's3-ca.pem'));

    // No --builder this time: the old server's comes back from its settings.
    const withoutBuilder = installFlags.filter((f, i, all) => f !== '--builder' && all[i - 1] !== '--builder');
    const r = await timed(t, 'install.sh --restore (install, restore, re-deploy)', () => inside(['env', `SLIPWAY_INSTALL_INGRESS=${tb!.SLIPWAY_TEST_INGRESS!}`, 'SLIPWAY_INSTALL_REPORT_WAIT_S=120',
      'bash', '/srv/slipway/install.sh', ...withoutBuilder, '--restore', 'latest', '--from-s3', '--key', '/root/backup.key',
      '--backup-s3', s3Url, '--backup-s3-credentials', '/root/s3.credentials', '--backup-s3-ca', '/root/s3-ca.pem'], INSTALL_MS));
    ok(r, 'install.sh --restore');
    t.diagnostic(r.stdout.slice(r.stdout.indexOf('-----> Restore from')).split('\n').filter((l) => /Restore|Restored|Images|Apps restored|answer/.test(l)).join(' | '));
    assert.ok(r.stdout.includes(`-----> Restore from latest in ${s3Url}`), r.stdout);
    assert.match(r.stdout, /Restored 1 apps \(4 releases\) from a backup of /);
    assert.ok(r.stdout.indexOf('-----> Restore from') < r.stdout.indexOf('listening on'), 'restored before the first start');
    assert.match(r.stdout, new RegExp(`^ {7}${APP} +answers at http://${APP}\\.${DOMAIN.replace(/\./g, '\\.')} \\(200\\)$`, 'm'));
    assert.ok(r.stdout.includes('=====> Slipway is running\n'), r.stdout);
    // The old server's builder, backup key (its public recipient) and kept releases, which no flag set, are kept.
    assert.ok(r.stdout.includes('settings of the restored server kept: SLIPWAY_BUILDER SLIPWAY_BACKUP_KEY SLIPWAY_KEEP_RELEASES'), r.stdout);
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^SLIPWAY_BUILDER=${tb!.SLIPWAY_BUILDER!.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.ok(r.stdout.includes(`-----> Builder image ${tb!.SLIPWAY_BUILDER!}\n`), 'the builder step pulls the restored server\'s builder');
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^# From the restored backup \\(/var/lib/slipway/restored-settings\\.json\\):\nSLIPWAY_BACKUP_KEY=${recipient}\nSLIPWAY_KEEP_RELEASES=10\n`, 'm'));
    // The same admin key answers; the same apps, keys, token names, releases and builds.
    assert.deepEqual(await snapshot(), before);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('again'), ROUTE_MS), 'hello again from slipway\n');
    assert.equal((await inside(['stat', '-c', '%a %U', '/var/lib/slipway'])).stdout.trim(), '700 slipway');
    // The bucket is this server's too: its settings, and its own copy of the credential.
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^SLIPWAY_BACKUP_S3_URL=${s3Url.replace(/[.]/g, '\\.')}\nSLIPWAY_BACKUP_S3_CREDENTIALS=/etc/slipway/backup-s3-credentials\nSLIPWAY_BACKUP_S3_CA=/etc/slipway/backup-s3-ca\\.pem\n`, 'm'));
    assert.equal((await inside(['stat', '-c', '%a %U', '/etc/slipway/backup-s3-credentials'])).stdout.trim(), '600 slipway');
    assert.equal(readdirSync(join(rootfs, 'var', 'lib')).filter((f) => f.startsWith('.slipway-download-')).length, 0, 'the download is gone');
    // Deployed from the restored image: no build was made.
    assert.equal(((await json(`builds ${APP}`)) as unknown[]).length, (before.builds as unknown[]).length);
    // The token made before the loss pushes to the restored server (a fetch proves it without a build).
    const fetched = await git(['ls-remote', `http://x:${token}@127.0.0.1:${HTTP_PORT}/${APP}.git`, 'refs/heads/main'], wd);
    assert.equal(fetched.exitCode, 0, fetched.stderr);
    assert.equal(fetched.stdout.split('\t')[0], (await git(['rev-parse', 'HEAD'], wd)).stdout.trim());
    // rollback on the restored server: the release before runs again from its restored image.
    const back = await ssh(`rollback ${APP}`);
    ok(back, 'rollback after the restore');
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APP}.${DOMAIN}`, (b) => b.includes('after the upgrade'), ROUTE_MS), 'hello after the upgrade from slipway\n');
    const releases = (await json(`releases ${APP}`)) as { version: number; description: string }[];
    assert.match(releases.find((x) => x.version === 5)?.description ?? JSON.stringify(releases), /^Rollback to v3/);
    assert.equal(((await json(`builds ${APP}`)) as unknown[]).length, (before.builds as unknown[]).length, 'no build for the rollback either');
    // The restored server backs up to the bucket in its turn.
    const again = await ssh('backup:create --json');
    ok(again, 'backup:create on the restored server');
    const next = JSON.parse(again.stdout) as { name: string; copy: { ok: boolean; error: string | null } };
    assert.deepEqual([next.copy.ok, next.copy.error], [true, null]);
    assert.notEqual(next.name, record.name);
  });
});
