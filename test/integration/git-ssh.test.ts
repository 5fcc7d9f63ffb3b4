import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { gitEnv, makeKey, newApp, remoteLines, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';

async function refOf(s: TestServer, app: string, ref = 'refs/heads/main'): Promise<string> {
  const r = await s.git(['--git-dir', join(s.dir, 'data/repos', `${app}.git`), 'rev-parse', '--verify', '--quiet', ref]);
  return r.stdout.trim();
}

// Each test makes its own app (its releases start at v1) and pushes what it needs itself.
describe('git over SSH into the push pipeline', () => {
  let s: TestServer;
  let dev: TestKey;
  /** A new app and a work repo with one commit, not pushed yet. */
  const appAndRepo = async (prefix: string) => ({ app: await newApp(s, prefix), wd: await s.workRepo({ 'index.js': 'console.log("hi")\n' }) });
  /** A new app whose first push went through: v1 runs. */
  const deployedApp = async (prefix: string) => {
    const a = await appAndRepo(prefix);
    const push = await s.git(['push', s.sshRemote(a.app), 'main'], { cwd: a.wd });
    assert.equal(push.exitCode, 0, push.stderr);
    return a;
  };
  before(async () => {
    s = await startTestServer({ SLIPWAY_MAX_PUSH_MB: '2' });
    dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
  });
  after(() => s.close());

  test('a push to main builds, releases, deploys and prints the URL', async () => {
    const { app, wd } = await appAndRepo('push');
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    const sha = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    assert.ok(lines.includes(`-----> Deploying ${app} (${sha.slice(0, 7)}) from main`), lines.join('\n'));
    assert.ok(lines.includes(`-----> Building ${app} (${sha.slice(0, 7)}) with heroku/builder:24`));
    assert.ok(lines.includes('       fake build: detected a fake app'));
    assert.ok(lines.includes('-----> Releasing v1'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.ok(at > 0);
    assert.equal(lines[at + 1], `       http://${app}.apps.test`);
    assert.equal(await refOf(s, app), sha);
    const rel = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number; status: string; commit: string }[];
    assert.deepEqual(rel.map((x) => [x.version, x.status, x.commit]), [[1, 'succeeded', sha]]);
    assert.equal(s.deployer.rollout.deployed.at(-1)?.image, `registry.test/${app}@sha256:${sha.padEnd(64, '0').slice(0, 64)}`);
    // The build saw the pushed tree, extracted from git's quarantine.
    assert.equal(s.builder.builds.at(-1)?.commit, sha);
  });

  test('the build gets config as environment, not arguments', async () => {
    const { app, wd } = await deployedApp('buildenv');
    // --no-restart: only stored, so the push below makes release v2 (config:set would release it).
    assert.equal((await s.ssh(s.admin, `config:set ${app} SECRET=hunter2 --no-restart`)).exitCode, 0);
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(s.builder.builds.at(-1)?.env.SECRET, 'hunter2');
    assert.ok(!r.stderr.includes('hunter2'));
    assert.ok(remoteLines(r.stderr).includes('-----> Releasing v2'));
  });

  test('a push to another branch is rejected, naming the deploy branch; refs unchanged', async () => {
    const { app, wd } = await appAndRepo('branch');
    const r = await s.git(['push', s.sshRemote(app), 'main:feature'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => l.startsWith(' !     Pushed to refs/heads/feature, but only main (or master) deploys')), r.stderr);
    assert.equal(await refOf(s, app, 'refs/heads/feature'), '');
  });

  test('a failing build rejects the push with the reason; the ref stays', async (t) => {
    const { app, wd } = await deployedApp('buildfail');
    const before = await refOf(s, app);
    useControls(t, s, { buildFailure: 'No buildpack detected this app (no package.json, Procfile or index.html).' });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'three'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     No buildpack detected this app (no package.json, Procfile or index.html).'), r.stderr);
    assert.match(r.stderr, /pre-receive hook declined/);
    assert.equal(await refOf(s, app), before);
  });

  test('a failing rollout rejects the push and records a failed release', async (t) => {
    const { app, wd } = await deployedApp('rolloutfail');
    const before = await refOf(s, app);
    useControls(t, s, { deployFailure: 'web: CrashLoopBackOff' });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     web: CrashLoopBackOff'));
    assert.equal(await refOf(s, app), before);
    const rel = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number; status: string }[];
    assert.deepEqual(rel.map((x) => [x.version, x.status]), [[2, 'failed'], [1, 'succeeded']]);
  });

  test('clone works for admins and granted keys only', async () => {
    const { app, wd } = await deployedApp('clone');
    const other = await newApp(s, 'other');
    const dest = join(s.dir, `${app}-clone1`);
    const r = await s.git(['clone', '-q', s.sshRemote(app), dest]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await s.git(['rev-parse', 'HEAD'], { cwd: dest })).stdout, await refOf(s, app));
    const denied = await s.git(['clone', '-q', s.sshRemote(app), join(s.dir, `${app}-clone2`)], { key: dev });
    assert.notEqual(denied.exitCode, 0);
    assert.match(denied.stderr, /does not exist, or your key has no access/);
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd, key: dev });
    assert.notEqual(push.exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} dev`)).exitCode, 0);
    assert.equal((await s.git(['clone', '-q', s.sshRemote(app), join(s.dir, `${app}-clone3`)], { key: dev })).exitCode, 0);
    await s.git(['commit', '-q', '--allow-empty', '-m', 'by dev'], { cwd: wd });
    const ok = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd, key: dev });
    assert.equal(ok.exitCode, 0, ok.stderr);
    const otherPush = await s.git(['push', s.sshRemote(other), 'main'], { cwd: wd, key: dev });
    assert.notEqual(otherPush.exitCode, 0, 'a grant is per app');
  });

  test('a clone many times the SSH window arrives intact', async () => {
    // git's output is relayed through one reused buffer, and reading pauses whenever the client's
    // window is shut: 12 MB of incompressible data (six 2 MB windows) must still arrive byte for
    // byte, which git checks (the pack's checksum, every object's hash) as it clones.
    const app = await newApp(s, 'bigclone');
    const blob = randomBytes(12 * 1024 * 1024);
    const wd = await s.workRepo({ 'blob.bin': blob });
    // Put straight into the app's repo: this suite's pushes are capped at 2 MB.
    const fetched = await s.git(['--git-dir', join(s.dir, 'data/repos', `${app}.git`), 'fetch', '-q', wd, 'main:main']);
    assert.equal(fetched.exitCode, 0, fetched.stderr);
    const dest = join(s.dir, `${app}-clone`);
    const r = await s.git(['clone', '-q', s.sshRemote(app), dest]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await s.git(['rev-parse', 'HEAD'], { cwd: dest })).stdout, await refOf(s, app));
    assert.ok(readFileSync(join(dest, 'blob.bin')).equals(blob), 'the cloned file is the pushed one');
  });

  test('git verbs are allow-listed and take only an app repository', async () => {
    const app = await newApp(s, 'verbs');
    for (const cmd of ["git-upload-pack '/etc'", `git-upload-pack '../${app}.git'`, `git-upload-pack '${app}.git' --extra`, 'git-upload-pack', `git-upload-archive '${app}.git'`, "git-receive-pack '/srv/x/../../etc'"]) {
      const r = await s.ssh(s.admin, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.match(r.stderr, /^ ! {5}/, cmd);
    }
  });

  test('a second push while one runs is turned away at once, naming apps:unlock', async (t) => {
    const { app, wd } = await appAndRepo('locked');
    let release!: () => void;
    const started = new Promise<void>((r) => useControls(t, s, { buildGate: new Promise<void>((g) => { release = g; }), onBuildStart: () => r() }));
    // Registered before the asserts: a failing one must not leave the first push held.
    t.after(() => release());
    const first = s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    await started;
    const wd2 = await s.workRepo({ 'x.txt': 'other history' });
    const second = await s.git(['push', '--force', s.sshRemote(app), 'main'], { cwd: wd2 });
    release();
    assert.notEqual(second.exitCode, 0);
    assert.ok(remoteLines(second.stderr).some((l) => new RegExp(`Another deploy of ${app} is in progress .* apps:unlock ${app}`).test(l)), second.stderr);
    assert.equal((await first).exitCode, 0);
  });

  test('a client that disconnects mid-build aborts the pipeline and frees the lock', async (t) => {
    const { app, wd } = await deployedApp('disconnect');
    let started!: () => void;
    let aborted!: () => void;
    let settled!: () => void;
    const events = {
      started: new Promise<void>((r) => { started = r; }),
      aborted: new Promise<void>((r) => { aborted = r; }),
      settled: new Promise<void>((r) => { settled = r; }),
    };
    useControls(t, s, { buildGate: new Promise<void>(() => {}), onBuildStart: () => started(), onBuildAborted: () => aborted(), onBuildSettled: () => settled() });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'abandoned'], { cwd: wd });
    const sha = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    // Its own process group, killed whole, as Ctrl-C in a terminal would (git and its ssh).
    const child = execa('git', ['push', s.sshRemote(app), 'main'], { cwd: wd, env: gitEnv(join(s.dir, 'home'), s.admin), reject: false, detached: true });
    await events.started;
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    await events.aborted;
    // The pipeline has handled the aborted build: the lock must be free now, not eventually.
    await events.settled;
    s.controls.buildGate = undefined;
    assert.equal(s.slipway.services.store.apps.get(app)?.lock, null);
    assert.notEqual(await refOf(s, app), sha);
    const again = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(again.exitCode, 0, again.stderr);
  });

  test('apps:unlock stops a stuck deploy', async (t) => {
    const { app, wd } = await appAndRepo('unlock');
    const started = new Promise<void>((r) => useControls(t, s, { buildGate: new Promise<void>(() => {}), onBuildStart: () => r() }));
    const push = s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    await started;
    const u = await s.ssh(s.admin, `apps:unlock ${app}`);
    assert.equal(u.stdout, `Unlocked ${app}.`);
    const r = await push;
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => l.includes('The push was cancelled')), r.stderr);
  });

  test('a push over the size limit is refused and writes nothing', async () => {
    const big = await newApp(s, 'big');
    const bigwd = await s.workRepo({ 'blob.bin': randomBytes(3 * 1024 * 1024) });
    const r = await s.git(['push', s.sshRemote(big), 'main'], { cwd: bigwd });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /remote: fatal: pack exceeds maximum allowed size/);
    assert.equal(await refOf(s, big), '');
    assert.equal(s.builder.builds.filter((b) => b.app === big).length, 0);
  });
});
