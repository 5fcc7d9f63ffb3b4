// The Heroku day-2 commands (ps, ps:scale, ps:restart, releases:info, rollback, logs, domains,
// config:set rolling out) over the real SSH server, with the fake deployer at Slipway's own
// Deployer interface; test/e2e/kube.test.ts runs them against a real Kubernetes API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/harness.ts';

interface ReleaseRow { version: number; status: string; description: string; image: string }

describe('day-2 commands over SSH', () => {
  let s: TestServer;
  let wd: string;
  const releases = async (): Promise<ReleaseRow[]> => JSON.parse((await s.ssh(s.admin, 'releases myapp --json')).stdout) as ReleaseRow[];
  before(async () => {
    s = await startTestServer();
    for (const app of ['myapp', 'other']) assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
    wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  });
  after(() => s.close());

  test('before the first deploy: ps, ps:scale and rollback say to push first; config:set only stores', async () => {
    const scale = await s.ssh(s.admin, 'ps:scale myapp web=2');
    assert.equal(scale.exitCode, 1);
    assert.equal(scale.stderr, ' !     myapp has not been deployed yet; push it first (git push paas main).');
    assert.equal((await s.ssh(s.admin, 'rollback myapp')).exitCode, 1);
    const ps = await s.ssh(s.admin, 'ps myapp');
    assert.equal(ps.stdout, 'myapp runs no processes; push it first (git push paas main).');
    assert.equal((await s.ssh(s.admin, 'config:set myapp GREETING=hello')).exitCode, 0);
    assert.deepEqual(await releases(), []);
  });

  test('config:set on a deployed app rolls out a new release with the same image and the new config', async () => {
    assert.equal((await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd })).exitCode, 0);
    const r = await s.ssh(s.admin, 'config:set myapp GREETING="hi there" SECRET=hunter2');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Releasing v2 \(Set GREETING, SECRET config vars\)\n {7}web: 1\/1 ready\nSetting GREETING, SECRET for myapp\.\.\. done$/);
    assert.ok(!r.stdout.includes('hunter2'));
    const [v2, v1] = await releases();
    assert.deepEqual([v2!.version, v2!.status, v2!.description, v2!.image], [2, 'succeeded', 'Set GREETING, SECRET config vars', v1!.image]);
    const deployed = s.deployer.deployed.at(-1)!;
    assert.deepEqual([deployed.version, deployed.config], [2, { GREETING: 'hi there', SECRET: 'hunter2' }]);
  });

  test('config:set --no-restart only stores; config:unset releases', async () => {
    const before = s.deployer.deployed.length;
    assert.equal((await s.ssh(s.admin, 'config:set myapp LATER=1 --no-restart')).exitCode, 0);
    assert.equal(s.deployer.deployed.length, before);
    assert.equal((await releases())[0]!.version, 2);
    const unset = await s.ssh(s.admin, 'config:unset myapp LATER');
    assert.equal(unset.exitCode, 0, unset.stderr);
    assert.equal((await releases())[0]!.description, 'Remove LATER config vars');
    assert.ok(!('LATER' in s.deployer.deployed.at(-1)!.config));
  });

  test('a config change whose rollout fails records a failed release and takes the change back', async () => {
    s.controls.deployFailure = 'v4 did not become ready: web instance web-1 is CrashLoopBackOff (exit code 1); v3 is running again.';
    const r = await s.ssh(s.admin, 'config:set myapp GREETING=broken');
    s.controls.deployFailure = undefined;
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, ' !     v4 did not become ready: web instance web-1 is CrashLoopBackOff (exit code 1); v3 is running again.');
    assert.deepEqual((await releases()).slice(0, 2).map((x) => [x.version, x.status]), [[4, 'failed'], [3, 'succeeded']]);
    assert.equal((await s.ssh(s.admin, 'config:get myapp GREETING')).stdout, 'hi there');
    // The failure released the deploy lock.
    assert.doesNotMatch((await s.ssh(s.admin, 'apps:info myapp')).stdout, /Locked:\s+config/);
  });

  test('ps shows desired and ready instances; ps:scale stores the formation and applies it without a release', async () => {
    const ps = await s.ssh(s.admin, 'ps myapp');
    assert.match(ps.stdout, /^=== web: 1\/1 ready\nweb-fake-1  v3  Running  ready  restarts 0/);
    const bad = await s.ssh(s.admin, 'ps:scale myapp web=2 clock=1');
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.stderr, ' !     There is no "clock" process type; this app has web.');
    assert.equal(s.deployer.deployed.at(-1)!.formation.web, undefined, 'nothing applied on bad input');
    const r = await s.ssh(s.admin, 'ps:scale myapp web=2');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Scaling myapp\.\.\. done, now running web at 2\.$/);
    assert.deepEqual([s.deployer.deployed.at(-1)!.version, s.deployer.deployed.at(-1)!.formation], [3, { web: 2 }]);
    assert.equal((await releases())[0]!.version, 4, 'scaling makes no release');
    assert.match((await s.ssh(s.admin, 'ps myapp')).stdout, /=== web: 2\/2 ready/);
    const usage = await s.ssh(s.admin, 'ps:scale myapp');
    assert.equal(usage.exitCode, 2);
  });

  test('a failed scale puts the stored formation back', async () => {
    s.controls.deployFailure = 'v3 did not become ready: after 300 s, web instance web-2 is Pending (Insufficient cpu); v3 is running again.';
    const r = await s.ssh(s.admin, 'ps:scale myapp web=5');
    s.controls.deployFailure = undefined;
    assert.equal(r.exitCode, 1);
    assert.match((await s.ssh(s.admin, 'ps myapp')).stdout, /=== web: 2\/2 ready/);
    // The next deploy still runs 2, as stored.
    assert.equal((await s.ssh(s.admin, 'domains:add myapp www.example.com')).exitCode, 0);
    assert.equal(s.deployer.deployed.at(-1)!.formation.web, 2);
  });

  test('ps:restart restarts all or one process type, refusing unknown types', async () => {
    const r = await s.ssh(s.admin, 'ps:restart myapp web');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Restarting web of myapp\.\.\. done$/);
    assert.deepEqual(s.deployer.restarted.at(-1), { app: 'myapp', process: 'web' });
    assert.equal((await s.ssh(s.admin, 'ps:restart myapp')).exitCode, 0);
    assert.deepEqual(s.deployer.restarted.at(-1), { app: 'myapp' });
    const bad = await s.ssh(s.admin, 'ps:restart myapp clock');
    assert.equal(bad.stderr, ' !     There is no "clock" process type; this app has web.');
  });

  test('releases:info shows a release with config var names, never values', async () => {
    const r = await s.ssh(s.admin, 'releases:info myapp v2');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /=== Release v2\nDescription:\s+Set GREETING, SECRET config vars\nStatus:\s+succeeded/);
    assert.match(r.stdout, /Config vars:\s+GREETING, SECRET/);
    assert.ok(!r.stdout.includes('hunter2'));
    assert.ok(!(await s.ssh(s.admin, 'releases:info myapp 2 --json')).stdout.includes('hunter2'));
    assert.equal((await s.ssh(s.admin, 'releases:info myapp v99')).stderr, ' !     myapp has no release v99; see releases myapp.');
    assert.equal((await s.ssh(s.admin, 'releases:info myapp latest')).stderr, ' !     "latest" is not a release version (for example v3).');
  });

  test('rollback runs an earlier release image and config as a new release, and restores that config', async () => {
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    assert.equal((await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd })).exitCode, 0);
    const [v5, v4, v3] = await releases();
    assert.deepEqual([v5!.version, v4!.status, v3!.status], [5, 'failed', 'succeeded']);
    assert.notEqual(v5!.image, v3!.image);
    assert.equal((await s.ssh(s.admin, 'rollback myapp v5')).stderr, ' !     v5 is what myapp runs already.');
    const builds = s.builder.builds.length;
    // Default: the newest release before the current one that deployed (v4 failed: skipped).
    const r = await s.ssh(s.admin, 'rollback myapp');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Releasing v6 \(Rollback to v3\)/);
    assert.match(r.stdout, /Rolling back myapp to v3\.\.\. done, v6$/);
    assert.equal(s.builder.builds.length, builds, 'no rebuild');
    const v6 = (await releases())[0]!;
    assert.deepEqual([v6.version, v6.status, v6.image], [6, 'succeeded', v3!.image]);
    assert.deepEqual(s.deployer.deployed.at(-1)!.config, { GREETING: 'hi there', SECRET: 'hunter2' });
    const v1 = await s.ssh(s.admin, 'rollback myapp v1');
    assert.equal(v1.exitCode, 0, v1.stderr);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'config myapp --json')).stdout), { GREETING: 'hello' }, 'v1 ran with GREETING=hello only');
  });

  test('domains: add, list, collide, reserved, remove; the deployer gets them default first', async () => {
    const list = await s.ssh(s.admin, 'domains myapp');
    assert.equal(list.stdout, '=== myapp Default Domain\nmyapp.apps.test\n\n=== myapp Custom Domains\nwww.example.com');
    const again = await s.ssh(s.admin, 'domains:add myapp WWW.example.com');
    assert.equal(again.stderr, ' !     www.example.com is already a domain of myapp.');
    const taken = await s.ssh(s.admin, 'domains:add other www.example.com');
    assert.equal(taken.exitCode, 1);
    assert.equal(taken.stderr, ' !     www.example.com is already taken by another app.');
    const reserved = await s.ssh(s.admin, 'domains:add myapp other.apps.test');
    assert.equal(reserved.stderr, " !     other.apps.test is reserved: names directly under apps.test are the apps' default domains.");
    assert.equal((await s.ssh(s.admin, 'domains:add myapp api.example.com')).exitCode, 0);
    assert.deepEqual(s.deployer.deployed.at(-1)!.domains, ['myapp.apps.test', 'www.example.com', 'api.example.com']);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'domains myapp --json')).stdout), { default: 'myapp.apps.test', custom: ['www.example.com', 'api.example.com'] });
    assert.equal((await s.ssh(s.admin, 'domains:remove myapp myapp.apps.test')).stderr, " !     myapp.apps.test is myapp's default domain; it cannot be removed.");
    assert.equal((await s.ssh(s.admin, 'domains:remove other www.example.com')).stderr, ' !     "www.example.com" is not a domain of other.');
    assert.equal((await s.ssh(s.admin, 'domains:remove myapp www.example.com')).exitCode, 0);
    assert.deepEqual(s.deployer.deployed.at(-1)!.domains, ['myapp.apps.test', 'api.example.com']);
    // Not deployed: only stored, and now free for the other app.
    assert.equal((await s.ssh(s.admin, 'domains:add other www.example.com')).exitCode, 0);
  });

  test('logs takes -t, -p TYPE and -n LINES', async () => {
    const r = await s.ssh(s.admin, 'logs myapp -t -p web -n 5');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '2000-01-01T00:00:00Z app[web.fake]: myapp log (lines=5, follow=true)');
    assert.match((await s.ssh(s.admin, 'logs myapp')).stdout, /lines=100, follow=false/);
    assert.equal((await s.ssh(s.admin, 'logs myapp -n 0')).stderr, ' !     "0" is not a number of lines (1-10000).');
    assert.equal((await s.ssh(s.admin, 'logs myapp -p clock')).stderr, ' !     There is no "clock" process type; this app has web.');
    assert.equal((await s.ssh(s.admin, 'logs myapp -x')).exitCode, 2);
  });
});
