import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { gitEnv, makeKey, remoteLines, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';

async function refOf(s: TestServer, app: string, ref = 'refs/heads/main'): Promise<string> {
  const r = await s.git(['--git-dir', join(s.dir, 'data/repos', `${app}.git`), 'rev-parse', '--verify', '--quiet', ref]);
  return r.stdout.trim();
}

describe('git over SSH into the push pipeline', () => {
  let s: TestServer;
  let dev: TestKey;
  let wd: string;
  before(async () => {
    s = await startTestServer({ SLIPWAY_MAX_PUSH_MB: '2' });
    dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
    for (const app of ['myapp', 'other', 'big']) assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
    wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  });
  after(() => s.close());

  test('a push to main builds, releases, deploys and prints the URL', async () => {
    const r = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    const sha = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    assert.ok(lines.includes(`-----> Deploying myapp (${sha.slice(0, 7)}) from main`), lines.join('\n'));
    assert.ok(lines.includes(`-----> Building myapp (${sha.slice(0, 7)}) with heroku/builder:24`));
    assert.ok(lines.includes('       fake build: detected a fake app'));
    assert.ok(lines.includes('-----> Releasing v1'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.ok(at > 0);
    assert.equal(lines[at + 1], '       http://myapp.apps.test');
    assert.equal(await refOf(s, 'myapp'), sha);
    const rel = JSON.parse((await s.ssh(s.admin, 'releases myapp --json')).stdout) as { version: number; status: string; commit: string }[];
    assert.deepEqual(rel.map((x) => [x.version, x.status, x.commit]), [[1, 'succeeded', sha]]);
    assert.equal(s.deployer.deployed.at(-1)?.image, `registry.test/myapp@sha256:${sha.padEnd(64, '0').slice(0, 64)}`);
    // The build saw the pushed tree, extracted from git's quarantine.
    assert.equal(s.builder.builds.at(-1)?.commit, sha);
  });

  test('the build gets config as environment, not arguments', async () => {
    // --no-restart: only stored, so the push below makes release v2 (config:set would release it).
    await s.ssh(s.admin, 'config:set myapp SECRET=hunter2 --no-restart');
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(s.builder.builds.at(-1)?.env.SECRET, 'hunter2');
    assert.ok(!r.stderr.includes('hunter2'));
    assert.ok(remoteLines(r.stderr).includes('-----> Releasing v2'));
  });

  test('a push to another branch is rejected, naming the deploy branch; refs unchanged', async () => {
    const r = await s.git(['push', s.sshRemote('myapp'), 'main:feature'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => l.startsWith(' !     Pushed to refs/heads/feature, but only main (or master) deploys')), r.stderr);
    assert.equal(await refOf(s, 'myapp', 'refs/heads/feature'), '');
  });

  test('a failing build rejects the push with the reason; the ref stays', async () => {
    const before = await refOf(s, 'myapp');
    s.controls.buildFailure = 'No buildpack detected this app (no package.json, Procfile or index.html).';
    await s.git(['commit', '-q', '--allow-empty', '-m', 'three'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    s.controls.buildFailure = undefined;
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     No buildpack detected this app (no package.json, Procfile or index.html).'), r.stderr);
    assert.match(r.stderr, /pre-receive hook declined/);
    assert.equal(await refOf(s, 'myapp'), before);
  });

  test('a failing rollout rejects the push and records a failed release', async () => {
    const before = await refOf(s, 'myapp');
    s.controls.deployFailure = 'web: CrashLoopBackOff';
    const r = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    s.controls.deployFailure = undefined;
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     web: CrashLoopBackOff'));
    assert.equal(await refOf(s, 'myapp'), before);
    const rel = JSON.parse((await s.ssh(s.admin, 'releases myapp --json')).stdout) as { version: number; status: string }[];
    assert.deepEqual(rel[0], { ...rel[0], version: 3, status: 'failed' });
  });

  test('clone works for admins and granted keys only', async () => {
    const dest = join(s.dir, 'clone1');
    const r = await s.git(['clone', '-q', s.sshRemote('myapp'), dest]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await s.git(['rev-parse', 'HEAD'], { cwd: dest })).stdout, await refOf(s, 'myapp'));
    const denied = await s.git(['clone', '-q', s.sshRemote('myapp'), join(s.dir, 'clone2')], { key: dev });
    assert.notEqual(denied.exitCode, 0);
    assert.match(denied.stderr, /does not exist, or your key has no access/);
    const push = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd, key: dev });
    assert.notEqual(push.exitCode, 0);
    await s.ssh(s.admin, 'access:grant myapp dev');
    assert.equal((await s.git(['clone', '-q', s.sshRemote('myapp'), join(s.dir, 'clone3')], { key: dev })).exitCode, 0);
    await s.git(['commit', '-q', '--allow-empty', '-m', 'by dev'], { cwd: wd });
    const ok = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd, key: dev });
    assert.equal(ok.exitCode, 0, ok.stderr);
    const other = await s.git(['push', s.sshRemote('other'), 'main'], { cwd: wd, key: dev });
    assert.notEqual(other.exitCode, 0, 'a grant is per app');
  });

  test('git verbs are allow-listed and take only an app repository', async () => {
    for (const cmd of ["git-upload-pack '/etc'", "git-upload-pack '../myapp.git'", "git-upload-pack 'myapp.git' --extra", 'git-upload-pack', "git-upload-archive 'myapp.git'", "git-receive-pack '/srv/x/../../etc'"]) {
      const r = await s.ssh(s.admin, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.match(r.stderr, /^ ! {5}/, cmd);
    }
  });

  test('a second push while one runs is turned away at once, naming apps:unlock', async () => {
    let release!: () => void;
    s.controls.buildGate = new Promise<void>((r) => { release = r; });
    const started = new Promise<void>((r) => { s.controls.onBuildStart = () => r(); });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'slow'], { cwd: wd });
    const first = s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    await started;
    const wd2 = await s.workRepo({ 'x.txt': 'other history' });
    const second = await s.git(['push', '--force', s.sshRemote('myapp'), 'main'], { cwd: wd2 });
    assert.notEqual(second.exitCode, 0);
    assert.ok(remoteLines(second.stderr).some((l) => /Another deploy of myapp is in progress .* apps:unlock myapp/.test(l)), second.stderr);
    release();
    s.controls.buildGate = undefined;
    s.controls.onBuildStart = undefined;
    assert.equal((await first).exitCode, 0);
  });

  test('a client that disconnects mid-build aborts the pipeline and frees the lock', async () => {
    s.controls.buildGate = new Promise<void>(() => {});
    const started = new Promise<void>((r) => { s.controls.onBuildStart = () => r(); });
    const aborted = new Promise<void>((r) => { s.controls.onBuildAborted = () => r(); });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'abandoned'], { cwd: wd });
    const sha = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    // Its own process group, killed whole, as Ctrl-C in a terminal would (git and its ssh).
    const child = execa('git', ['push', s.sshRemote('myapp'), 'main'], { cwd: wd, env: gitEnv(join(s.dir, 'home'), s.admin), reject: false, detached: true });
    await started;
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    await aborted;
    s.controls.buildGate = undefined;
    s.controls.onBuildStart = undefined;
    s.controls.onBuildAborted = undefined;
    for (let i = 0; i < 50 && s.slipway.services.store.apps.get('myapp')?.lock; i++) await sleep(100);
    assert.equal(s.slipway.services.store.apps.get('myapp')?.lock, null);
    assert.notEqual(await refOf(s, 'myapp'), sha);
    const again = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    assert.equal(again.exitCode, 0, again.stderr);
  });

  test('apps:unlock stops a stuck deploy', async () => {
    s.controls.buildGate = new Promise<void>(() => {});
    const started = new Promise<void>((r) => { s.controls.onBuildStart = () => r(); });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'stuck'], { cwd: wd });
    const push = s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    await started;
    const u = await s.ssh(s.admin, 'apps:unlock myapp');
    assert.equal(u.stdout, 'Unlocked myapp.');
    const r = await push;
    s.controls.buildGate = undefined;
    s.controls.onBuildStart = undefined;
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => l.includes('The push was cancelled')), r.stderr);
  });

  test('a push over the size limit is refused and writes nothing', async () => {
    const bigwd = await s.workRepo({ 'blob.bin': randomBytes(3 * 1024 * 1024) }, 'bigwork');
    const r = await s.git(['push', s.sshRemote('big'), 'main'], { cwd: bigwd });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /remote: fatal: pack exceeds maximum allowed size/);
    assert.equal(await refOf(s, 'big'), '');
    assert.equal(s.builder.builds.filter((b) => b.app === 'big').length, 0);
  });
});
