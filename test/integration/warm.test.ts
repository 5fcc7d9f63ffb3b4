// Instant rollback as users drive it, over the real SSH server and the HTTP API, with the fake
// deployer at Slipway's Deployer interface: ps:warm (show, set, reset, 0 stops the warm set),
// ps and resource:report showing a warm set, and a rollback handing the deployer its target's
// instances (runsAs). The deployer's own side (Deployments web-vN, the Service selector) is
// tested against a real cluster in test/e2e.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';

describe('instant rollback: ps:warm, ps, resource:report, rollback', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
  // A window that ends long after the run: the server's warm sweep (every 10 s) stops a set whose
  // window has ended, and would take a past-dated one away between the set-up and the check.
  const UNTIL = '2099-12-03T12:05:07.000Z';

  before(async () => {
    s = await startTestServer({ SLIPWAY_WARM_ROLLBACK: '2m' });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
  });
  after(() => s.close());

  test('ps:warm shows the window and where it comes from, stores one, and default puts the server default back', async () => {
    const app = await newApp(s, 'wo-show');
    const shown = await s.ssh(s.admin, `ps:warm ${app}`);
    assert.equal(shown.exitCode, 0, shown.stderr);
    assert.equal(shown.stdout, `Warm window of ${app}: 2m (the server default, SLIPWAY_WARM_ROLLBACK).`);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `ps:warm ${app} --json`)).stdout), { seconds: 120, source: 'default' });

    const set = await s.ssh(s.admin, `ps:warm ${app} 90s`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(set.stdout, `Setting the warm window of ${app}... done, now 90s (set by ps:warm) from its next deploy on.`);
    assert.equal((await s.ssh(s.admin, `ps:warm ${app}`)).stdout, `Warm window of ${app}: 90s (set by ps:warm).`);
    assert.equal((await s.ssh(s.admin, `ps:warm ${app} 3600`)).exitCode, 0);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `ps:warm ${app} --json`)).stdout), { seconds: 3600, source: 'app' });

    const reset = await s.ssh(s.admin, `ps:warm ${app} default`);
    assert.equal(reset.stdout, `Setting the warm window of ${app}... done, now 2m (the server default, SLIPWAY_WARM_ROLLBACK) from its next deploy on.`);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `ps:warm ${app} --json`)).stdout), { seconds: 120, source: 'default' });
  });

  test('ps:warm refuses a bad window with one sentence and writes nothing; extra words are bad usage', async () => {
    const app = await newApp(s, 'wo-bad');
    assert.equal((await s.ssh(s.admin, `ps:warm ${app} 5m`)).exitCode, 0);
    for (const bad of ['soon', '2d', '1.5h', '25h', '1e3']) {
      const r = await s.ssh(s.admin, `ps:warm ${app} ${bad}`);
      assert.equal(r.exitCode, 1, bad);
      assert.equal(r.stderr, ` !     "${bad}" is not a warm window; give seconds (300) or a duration like 90s, 5m or 1h (at most 24h), 0 to turn it off, or default.`);
    }
    assert.equal((await s.ssh(s.admin, `ps:warm ${app} 5m 6m`)).exitCode, 2);
    assert.equal((await s.ssh(s.admin, `ps:warm ${app}`)).stdout, `Warm window of ${app}: 5m (set by ps:warm).`, 'nothing written');
  });

  test('ps:warm 0 stops the warm set at once as a job; the next deploys get 0', async () => {
    const { app } = await deployedApp(s, 'wo-off');
    s.deployer.warm.addWarm(app, 1, inAMinute(), 2);
    const r = await s.ssh(s.admin, `ps:warm ${app} 0`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Job \S+ \(ps:warm\)/);
    assert.match(r.stdout, new RegExp(`Turning warm rollback off for ${app}\\.\\.\\.`));
    assert.match(r.stdout, new RegExp(`Setting the warm window of ${app}\\.\\.\\. done, now off \\(set by ps:warm\\); stopped 1 warm set\\.$`));
    assert.deepEqual(s.deployer.warm.warmDrops.filter((d) => d.app === app).map((d) => d.all), [true]);
    assert.ok(!(await s.ssh(s.admin, `ps ${app}`)).stdout.includes('warm'), 'ps shows no warm set any more');
    assert.equal((await s.ssh(s.admin, `config:set ${app} A=1`)).exitCode, 0);
    assert.equal(lastDeploy(app).warmSeconds, 0);
  });

  test('a key granted the app may run ps:warm, as it may ps:scale; a key without the app may not', async () => {
    const app = await newApp(s, 'wo-access');
    const denied = await s.ssh(dev, `ps:warm ${app} 1m`);
    assert.equal(denied.exitCode, 1);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    const r = await s.ssh(dev, `ps:warm ${app} 1m`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((await s.ssh(dev, `ps:warm ${app}`)).stdout, `Warm window of ${app}: 1m (set by ps:warm).`);
  });

  test('ps shows a warm set as its own block after the serving types, and --json carries `warm`', async () => {
    const { app } = await deployedApp(s, 'wo-ps');
    s.deployer.warm.addWarm(app, 1, UNTIL, 2);
    const ps = await s.ssh(s.admin, `ps ${app}`);
    assert.equal(ps.exitCode, 0, ps.stderr);
    assert.match(ps.stdout, /^=== web: 1\/1 ready\nweb-fake-1 +v1 +Running +ready +restarts 0\s*\n\n=== web \(warm: v1, until 12:05:07 UTC; rollback to v1 only moves traffic\)\nweb-v1-fake-1 +v1 +Running +ready +restarts 0\s*\nweb-v1-fake-2 +v1/);
    const json = JSON.parse((await s.ssh(s.admin, `ps ${app} --json`)).stdout) as { type: string; stopped: boolean; warm?: unknown }[];
    assert.deepEqual(json.map((p) => [p.type, p.stopped, p.warm ?? null]), [['web', false, null], ['web', false, { release: 1, until: UNTIL }]]);
  });

  test('resource:report counts the warm instances and their memory limits', async () => {
    const { app } = await deployedApp(s, 'wo-res');
    assert.equal((await s.ssh(s.admin, `resource:report ${app}`)).stdout.includes('Warm'), false, 'no warm set, no line');
    s.deployer.warm.addWarm(app, 1, UNTIL, 2);
    const r = await s.ssh(s.admin, `resource:report ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Warm: 2 web instances of v1 until 12:05:07 UTC, limits memory 256Mi, cpu 500m each \\(512Mi of memory in all, counted in the quota; ps:warm ${app} 0 stops them\\)\\.`));
    const json = JSON.parse((await s.ssh(s.admin, `resource:report ${app} --json`)).stdout) as { warm: unknown[] };
    assert.deepEqual(json.warm, [{ type: 'web', release: 1, until: UNTIL, instances: 2, limits: { memory: '256Mi', cpu: '500m' }, memoryMiB: 512 }]);
  });

  test("a rollback hands the deployer the target's instances (runsAs) and the app's window", async () => {
    const { app, wd } = await deployedApp(s, 'wo-rollback');
    await s.git(['commit', '-q', '--allow-empty', '-m', 'two'], { cwd: wd });
    assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);
    assert.deepEqual([lastDeploy(app).version, lastDeploy(app).runsAs, lastDeploy(app).warmSeconds], [2, undefined, 120]);
    const r = await s.ssh(s.admin, `rollback ${app} v1`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual([lastDeploy(app).version, lastDeploy(app).runsAs], [3, 1]);
    const releases = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number; runsAs: number | null }[];
    assert.deepEqual(releases.map((x) => [x.version, x.runsAs]), [[3, 1], [2, null], [1, null]]);
  });

  test('the API: GET and PATCH /apps/APP/warm, 0 as a job, a bad window 422, read tokens may only look; processes and resources carry warm', async () => {
    const { app } = await deployedApp(s, 'wo-api');
    const token = await makeToken(s, s.admin, 'wo-api-deploy', 'deploy');
    const read = await makeToken(s, s.admin, 'wo-api-read', 'read');
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/warm`, { token: read })).json, { seconds: 120, source: 'default' });
    const set = await api(s, 'PATCH', `/apps/${app}/warm`, { token, body: { duration: '10m' } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json, { seconds: 600, source: 'app', dropped: 0 });
    assert.deepEqual((await api(s, 'PATCH', `/apps/${app}/warm`, { token, body: { duration: 45 } })).json, { seconds: 45, source: 'app', dropped: 0 });
    const bad = await api(s, 'PATCH', `/apps/${app}/warm`, { token, body: { duration: 'later' } });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(apiError(bad).message, '"later" is not a warm window; give seconds (300) or a duration like 90s, 5m or 1h (at most 24h), 0 to turn it off, or default.');
    assert.equal((await api(s, 'PATCH', `/apps/${app}/warm`, { token: read, body: { duration: '1m' } })).status, 403);
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/warm`, { token })).json, { seconds: 45, source: 'app' }, 'nothing written by the refused ones');

    s.deployer.warm.addWarm(app, 1, UNTIL);
    const procs = (await api(s, 'GET', `/apps/${app}/processes`, { token: read })).json as { warm?: unknown }[];
    assert.deepEqual(procs.map((p) => p.warm ?? null), [null, { release: 1, until: UNTIL }]);
    const res = (await api(s, 'GET', `/apps/${app}/resources`, { token: read })).json as { warm: { instances: number }[] };
    assert.deepEqual(res.warm.map((w) => w.instances), [1]);

    const off = await api(s, 'PATCH', `/apps/${app}/warm`, { token, body: { duration: 0 } });
    assert.equal(off.status, 202, off.text);
    const job = (off.json as { job: { id: string } }).job.id;
    for (let i = 0; i < 100 && s.deployer.warm.sets.some((w) => w.app === app); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(s.deployer.warm.warmDrops.filter((d) => d.app === app).map((d) => d.all), [true]);
    assert.ok(job);
  });
});
