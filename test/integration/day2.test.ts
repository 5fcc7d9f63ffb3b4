// The Heroku day-2 commands (ps, ps:scale, ps:restart, releases:info, rollback, logs, domains,
// config:set rolling out) over the real SSH server, with the fake deployer at Slipway's own
// Deployer interface; test/e2e/kube.test.ts runs them against a real Kubernetes API.
// Each test makes its own app (so its releases start at v1) and pushes what it needs itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, newApp, startTestServer, useControls, type TestServer } from '../support/harness.ts';

interface ReleaseRow { version: number; status: string; description: string; image: string }

describe('day-2 commands over SSH', () => {
  let s: TestServer;
  const releases = async (app: string): Promise<ReleaseRow[]> => JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as ReleaseRow[];
  /** What the fake deployer was last asked to run for `app`. */
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  /** A new app, pushed once: v1 runs. */
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('before the first deploy: ps, ps:scale and rollback say to push first; config:set only stores', async () => {
    const app = await newApp(s, 'fresh');
    const scale = await s.ssh(s.admin, `ps:scale ${app} web=2`);
    assert.equal(scale.exitCode, 1);
    assert.equal(scale.stderr, ` !     ${app} has not been deployed yet; push it first (git push paas main).`);
    assert.equal((await s.ssh(s.admin, `rollback ${app}`)).exitCode, 1);
    const ps = await s.ssh(s.admin, `ps ${app}`);
    assert.equal(ps.stdout, `${app} runs no processes; push it first (git push paas main).`);
    assert.equal((await s.ssh(s.admin, `config:set ${app} GREETING=hello`)).exitCode, 0);
    assert.deepEqual(await releases(app), []);
  });

  test('config:set on a deployed app rolls out a new release with the same image and the new config', async () => {
    const { app } = await deployedApp(s, 'cfgset');
    const r = await s.ssh(s.admin, `config:set ${app} GREETING="hi there" SECRET=hunter2`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`-----> Releasing v2 \\(Set GREETING, SECRET config vars\\)\\n {7}web: 1/1 ready\\nSetting GREETING, SECRET for ${app}\\.\\.\\. done$`));
    assert.ok(!r.stdout.includes('hunter2'));
    const [v2, v1] = await releases(app);
    assert.deepEqual([v2!.version, v2!.status, v2!.description, v2!.image], [2, 'succeeded', 'Set GREETING, SECRET config vars', v1!.image]);
    const deployed = lastDeploy(app);
    assert.deepEqual([deployed.version, deployed.config], [2, { GREETING: 'hi there', SECRET: 'hunter2' }]);
  });

  test('config:set --no-restart only stores; config:unset releases', async () => {
    const { app } = await deployedApp(s, 'norestart');
    const before = s.deployer.rollout.deployed.length;
    assert.equal((await s.ssh(s.admin, `config:set ${app} LATER=1 --no-restart`)).exitCode, 0);
    assert.equal(s.deployer.rollout.deployed.length, before);
    assert.equal((await releases(app))[0]!.version, 1);
    const unset = await s.ssh(s.admin, `config:unset ${app} LATER`);
    assert.equal(unset.exitCode, 0, unset.stderr);
    assert.deepEqual((await releases(app)).map((x) => [x.version, x.description]).slice(0, 1), [[2, 'Remove LATER config vars']]);
    assert.ok(!('LATER' in lastDeploy(app).config));
  });

  test('a config change whose rollout fails records a failed release and takes the change back', async (t) => {
    const { app } = await deployedApp(s, 'cfgfail');
    assert.equal((await s.ssh(s.admin, `config:set ${app} GREETING="hi there"`)).exitCode, 0);
    useControls(t, s, { deployFailure: 'v3 did not become ready: web instance web-1 is CrashLoopBackOff (exit code 1); v2 is running again.' });
    const r = await s.ssh(s.admin, `config:set ${app} GREETING=broken`);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, ' !     v3 did not become ready: web instance web-1 is CrashLoopBackOff (exit code 1); v2 is running again.');
    assert.deepEqual((await releases(app)).slice(0, 2).map((x) => [x.version, x.status]), [[3, 'failed'], [2, 'succeeded']]);
    assert.equal((await s.ssh(s.admin, `config:get ${app} GREETING`)).stdout, 'hi there');
    // The failure released the deploy lock.
    assert.doesNotMatch((await s.ssh(s.admin, `apps:info ${app}`)).stdout, /Locked:\s+config/);
  });

  test('ps shows desired and ready instances; ps:scale stores the formation and applies it without a release', async () => {
    const { app } = await deployedApp(s, 'scale');
    const ps = await s.ssh(s.admin, `ps ${app}`);
    assert.match(ps.stdout, /^=== web: 1\/1 ready\nweb-fake-1  v1  Running  ready  restarts 0/);
    const bad = await s.ssh(s.admin, `ps:scale ${app} web=2 clock=1`);
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.stderr, ' !     There is no "clock" process type; this app has web.');
    assert.equal(lastDeploy(app).formation.web, undefined, 'nothing applied on bad input');
    const r = await s.ssh(s.admin, `ps:scale ${app} web=2`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Scaling ${app}\\.\\.\\. done, now running web at 2\\.$`));
    assert.deepEqual([lastDeploy(app).version, lastDeploy(app).formation], [1, { web: 2 }]);
    assert.equal((await releases(app))[0]!.version, 1, 'scaling makes no release');
    assert.match((await s.ssh(s.admin, `ps ${app}`)).stdout, /=== web: 2\/2 ready/);
    const usage = await s.ssh(s.admin, `ps:scale ${app}`);
    assert.equal(usage.exitCode, 2);
  });

  test('a failed scale puts the stored formation back', async (t) => {
    const { app } = await deployedApp(s, 'scalefail');
    assert.equal((await s.ssh(s.admin, `ps:scale ${app} web=2`)).exitCode, 0);
    useControls(t, s, { deployFailure: 'v1 did not become ready: after 300 s, web instance web-2 is Pending (Insufficient cpu); v1 is running again.' });
    const r = await s.ssh(s.admin, `ps:scale ${app} web=5`);
    // Back to deploying normally, to see what the next deploy runs.
    s.controls.deployFailure = undefined;
    assert.equal(r.exitCode, 1);
    assert.match((await s.ssh(s.admin, `ps ${app}`)).stdout, /=== web: 2\/2 ready/);
    // The next deploy still runs 2, as stored.
    assert.equal((await s.ssh(s.admin, `domains:add ${app} www.${app}.example.com`)).exitCode, 0);
    assert.equal(lastDeploy(app).formation.web, 2);
  });

  test('ps:restart restarts all or one process type, refusing unknown types', async () => {
    const { app } = await deployedApp(s, 'restart');
    const r = await s.ssh(s.admin, `ps:restart ${app} web`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Restarting web of ${app}\\.\\.\\. done$`));
    assert.deepEqual(s.deployer.rollout.restarted.at(-1), { app, process: 'web' });
    assert.equal((await s.ssh(s.admin, `ps:restart ${app}`)).exitCode, 0);
    assert.deepEqual(s.deployer.rollout.restarted.at(-1), { app });
    const bad = await s.ssh(s.admin, `ps:restart ${app} clock`);
    assert.equal(bad.stderr, ' !     There is no "clock" process type; this app has web.');
  });

  test('releases:info shows a release with config var names, never values', async () => {
    const { app } = await deployedApp(s, 'info');
    assert.equal((await s.ssh(s.admin, `config:set ${app} GREETING="hi there" SECRET=hunter2`)).exitCode, 0);
    const r = await s.ssh(s.admin, `releases:info ${app} v2`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /=== Release v2\nDescription:\s+Set GREETING, SECRET config vars\nStatus:\s+succeeded/);
    assert.match(r.stdout, /Config vars:\s+GREETING, SECRET/);
    assert.ok(!r.stdout.includes('hunter2'));
    assert.ok(!(await s.ssh(s.admin, `releases:info ${app} 2 --json`)).stdout.includes('hunter2'));
    assert.equal((await s.ssh(s.admin, `releases:info ${app} v99`)).stderr, ` !     ${app} has no release v99; see releases ${app}.`);
    assert.equal((await s.ssh(s.admin, `releases:info ${app} latest`)).stderr, ' !     "latest" is not a release version (for example v3).');
  });

  test('rollback runs an earlier release image and config as a new release, and restores that config', async (t) => {
    // v1 (GREETING=hello), v2 (config change), v3 (a config change whose rollout failed), v4 (a push).
    const app = await newApp(s, 'rollback');
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
    assert.equal((await s.ssh(s.admin, `config:set ${app} GREETING=hello`)).exitCode, 0);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `config:set ${app} GREETING="hi there" SECRET=hunter2`)).exitCode, 0);
    useControls(t, s, { deployFailure: 'v3 did not become ready; v2 is running again.' });
    const broken = await s.ssh(s.admin, `config:set ${app} GREETING=broken`);
    s.controls.deployFailure = undefined;
    assert.equal(broken.exitCode, 1, broken.stderr);
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);

    const [v4, v3, v2] = await releases(app);
    assert.deepEqual([v4!.version, v3!.status, v2!.status], [4, 'failed', 'succeeded']);
    assert.notEqual(v4!.image, v2!.image);
    assert.equal((await s.ssh(s.admin, `rollback ${app} v4`)).stderr, ` !     v4 is what ${app} runs already.`);
    const builds = s.builder.builds.length;
    // Default: the newest release before the current one that deployed (v3 failed: skipped).
    const r = await s.ssh(s.admin, `rollback ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Releasing v5 \(Rollback to v2\)/);
    assert.match(r.stdout, new RegExp(`Rolling back ${app} to v2\\.\\.\\. done, v5$`));
    assert.equal(s.builder.builds.length, builds, 'no rebuild');
    const v5 = (await releases(app))[0]!;
    assert.deepEqual([v5.version, v5.status, v5.image], [5, 'succeeded', v2!.image]);
    assert.deepEqual(lastDeploy(app).config, { GREETING: 'hi there', SECRET: 'hunter2' });
    const v1 = await s.ssh(s.admin, `rollback ${app} v1`);
    assert.equal(v1.exitCode, 0, v1.stderr);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), { GREETING: 'hello' }, 'v1 ran with GREETING=hello only');
  });

  test('domains: add, list, collide, reserved, remove; the deployer gets them default first', async () => {
    const { app } = await deployedApp(s, 'domains');
    const other = await newApp(s, 'other');
    assert.equal((await s.ssh(s.admin, `domains:add ${app} www.example.com`)).exitCode, 0);
    const list = await s.ssh(s.admin, `domains ${app}`);
    assert.equal(list.stdout, `=== ${app} Default Domain\n${app}.apps.test\n\n=== ${app} Custom Domains\nwww.example.com`);
    const again = await s.ssh(s.admin, `domains:add ${app} WWW.example.com`);
    assert.equal(again.stderr, ` !     www.example.com is already a domain of ${app}.`);
    const taken = await s.ssh(s.admin, `domains:add ${other} www.example.com`);
    assert.equal(taken.exitCode, 1);
    assert.equal(taken.stderr, ' !     www.example.com is already taken by another app.');
    const reserved = await s.ssh(s.admin, `domains:add ${app} ${other}.apps.test`);
    assert.equal(reserved.stderr, ` !     ${other}.apps.test is reserved: names directly under apps.test are the apps' default domains.`);
    assert.equal((await s.ssh(s.admin, `domains:add ${app} api.example.com`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).domains, [`${app}.apps.test`, 'www.example.com', 'api.example.com']);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `domains ${app} --json`)).stdout), { default: `${app}.apps.test`, custom: ['www.example.com', 'api.example.com'] });
    assert.equal((await s.ssh(s.admin, `domains:remove ${app} ${app}.apps.test`)).stderr, ` !     ${app}.apps.test is ${app}'s default domain; it cannot be removed.`);
    assert.equal((await s.ssh(s.admin, `domains:remove ${other} www.example.com`)).stderr, ` !     "www.example.com" is not a domain of ${other}.`);
    assert.equal((await s.ssh(s.admin, `domains:remove ${app} www.example.com`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).domains, [`${app}.apps.test`, 'api.example.com']);
    // Not deployed: only stored, and now free for the other app.
    assert.equal((await s.ssh(s.admin, `domains:add ${other} www.example.com`)).exitCode, 0);
  });

  test('logs takes -t, -p TYPE and -n LINES', async () => {
    const { app } = await deployedApp(s, 'logs');
    const r = await s.ssh(s.admin, `logs ${app} -t -p web -n 5`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `2000-01-01T00:00:00Z app[web.fake]: ${app} log (lines=5, follow=true)`);
    assert.match((await s.ssh(s.admin, `logs ${app}`)).stdout, /lines=100, follow=false/);
    assert.equal((await s.ssh(s.admin, `logs ${app} -n 0`)).stderr, ' !     "0" is not a number of lines (1-10000).');
    assert.equal((await s.ssh(s.admin, `logs ${app} -p clock`)).stderr, ' !     There is no "clock" process type; this app has web.');
    assert.equal((await s.ssh(s.admin, `logs ${app} -x`)).exitCode, 2);
  });
});
