// Quotas and caps (issue 16, items 4 and 8) over the real SSH server with the real OpenSSH and
// git clients, the fake builder, deployer and registry at Slipway's own interfaces: each refusal
// is one sentence naming the limit, and nothing is stored or deployed. test/e2e/quota.test.ts
// runs the quota objects against a real cluster with real pods.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, remoteLines, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { FakeRegistry } from '../support/fakes.ts';

interface ReleaseRow { version: number; status: string; description: string; configPrunedAt: string | null }

describe('quotas and caps over SSH', () => {
  let s: TestServer;
  let dev: TestKey;
  const registry = new FakeRegistry();
  const ssh = (command: string, key?: TestKey) => s.ssh(key ?? s.admin, command);
  const releases = async (app: string): Promise<ReleaseRow[]> => JSON.parse((await ssh(`releases ${app} --json`)).stdout) as ReleaseRow[];
  const deploys = (app: string) => s.deployer.rollout.deployed.filter((d) => d.app === app);
  /** A new app the dev key may use, pushed once: v1 runs. */
  const deployedApp = async (prefix: string) => {
    const app = await newApp(s, prefix);
    assert.equal((await ssh(`access:grant ${app} dev`)).exitCode, 0);
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    return { app, wd };
  };
  /** Asserts a command failed with exactly this one sentence. */
  const refused = async (command: string, sentence: string, key?: TestKey) => {
    const r = await ssh(command, key);
    assert.equal(r.exitCode, 1, `${command}: ${r.stdout}`);
    assert.equal(r.stderr, ` !     ${sentence}`, command);
  };

  before(async () => {
    s = await startTestServer({
      SLIPWAY_APP_MAX_RUNS: '2', SLIPWAY_MAX_TOKENS_PER_KEY: '3', SLIPWAY_MAX_IMAGE_MB: '2', SLIPWAY_KEEP_RELEASES: '2', SLIPWAY_APP_MAX_PROCESS_TYPES: '5',
    }, { registry });
    s.builder.registry = registry;
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, 'keys:add dev', dev.pub)).exitCode, 0);
  });
  after(() => s.close());

  test('run:detached beyond SLIPWAY_APP_MAX_RUNS is refused in one sentence and starts nothing', async () => {
    const { app } = await deployedApp('runs');
    for (let i = 0; i < 2; i++) assert.equal((await ssh(`run:detached ${app} sleep 100`, dev)).exitCode, 0);
    await refused(`run:detached ${app} sleep 100`, `${app} already runs 2 one-off pods, the most it may run at once (SLIPWAY_APP_MAX_RUNS=2); wait for one to finish (logs ${app} -p run shows them).`, dev);
    assert.equal(s.deployer.oneOff.detached.filter((d) => d.app === app).length, 2);
    // An attached `run` is a one-off pod too.
    await refused(`run ${app} echo hi`, `${app} already runs 2 one-off pods, the most it may run at once (SLIPWAY_APP_MAX_RUNS=2); wait for one to finish (logs ${app} -p run shows them).`, dev);
    assert.equal(s.deployer.oneOff.runs.filter((r) => r.app === app).length, 0);
    // Every release carries the app's bounds to the deployer, which puts them in the namespace.
    assert.deepEqual(deploys(app).at(-1)!.quota, {
      quota: { pods: 10, memory: '2Gi', cpu: '4', ephemeralStorage: '10Gi' }, runs: 2, storage: { volumes: 10, size: '20Gi' },
      container: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' }, ephemeralStorage: { limit: '1Gi', request: '64Mi' } },
    });
  });

  test('a push with more process types than SLIPWAY_APP_MAX_PROCESS_TYPES is rejected before anything deploys', async (t) => {
    const { app, wd } = await deployedApp('types');
    useControls(t, s, { processes: Array.from({ length: 6 }, (_, i) => ({ type: i === 0 ? 'web' : `w${i}`, command: ['x'], args: [], default: i === 0 })) });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'many types'], { cwd: wd });
    const before = deploys(app).length;
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     This release declares 6 process types, more than the 5 an app may have (SLIPWAY_APP_MAX_PROCESS_TYPES); nothing was deployed.'), r.stderr);
    assert.equal(deploys(app).length, before, 'nothing was deployed');
    assert.deepEqual((await releases(app)).map((x) => x.version), [1], 'no release was recorded');
  });

  test('ps:scale beyond the pod quota is refused in one sentence; the formation stays; an admin raises the quota', async () => {
    const { app } = await deployedApp('scale');
    const before = deploys(app).length;
    await refused(`ps:scale ${app} web=20`, `${app} at web=20 needs 40 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 10 pods (resource:quota ${app}); scale down or lower its limits.`, dev);
    assert.equal(deploys(app).length, before, 'nothing was applied');
    assert.doesNotMatch((await ssh(`ps ${app}`)).stdout, /web: 20/);
    await refused(`ps:scale ${app} web=500`, `${app} at web=500 needs 1000 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 10 pods (resource:quota ${app}); scale down or lower its limits.`, dev);
    // The quota is the admin's: a deployer sees it but cannot change it.
    const shown = await ssh(`resource:quota ${app}`, dev);
    assert.equal(shown.exitCode, 0, shown.stderr);
    assert.match(shown.stdout, /Pods:\s+10 \(default, SLIPWAY_APP_MAX_PODS\)/);
    await refused(`resource:quota ${app} --pods 50`, "Only admins may change an app's quota; resource:quota APP without options shows it.", dev);
    await refused(`resource:quota ${app} --pods lots`, '"lots" is not a number of pods; give a whole number from 1 to 500.');
    const set = await ssh(`resource:quota ${app} --pods 40 --memory 16Gi --cpu 32`);
    assert.equal(set.exitCode, 0, set.stderr);
    // The scratch disk of its pods together follows the pod quota (SLIPWAY_APP_MAX_EPHEMERAL_STORAGE unset).
    assert.deepEqual(deploys(app).at(-1)!.quota!.quota, { pods: 40, memory: '16Gi', cpu: '32', ephemeralStorage: '40Gi' });
    assert.match((await ssh(`resource:quota ${app}`, dev)).stdout, /Pods:\s+40 \(set by admin\)/);
    assert.equal((await ssh(`ps:scale ${app} web=20`, dev)).exitCode, 0);
    // Nor may the quota drop below what the app runs now: that rollout could never finish.
    await refused(`resource:quota ${app} --pods 5`, `${app} at web=20 needs 40 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 5 pods (resource:quota ${app}); scale down or lower its limits.`);
    assert.deepEqual(deploys(app).at(-1)!.quota!.quota, { pods: 40, memory: '16Gi', cpu: '32', ephemeralStorage: '40Gi' });
  });

  test('a limit an admin set: a deployer may lower it, not raise or clear it; nothing is stored on a refusal', async () => {
    const { app } = await deployedApp('ceiling');
    assert.equal((await ssh(`resource:limit ${app} --memory 512Mi`)).exitCode, 0);
    const report = async () => (await ssh(`resource:report ${app} --json`, dev)).stdout;
    const was = await report();
    assert.match((await ssh(`resource:report ${app}`, dev)).stdout, /Every type: limits at most memory 512Mi, set by admin\./);
    await refused(`resource:limit ${app} --memory 1Gi`, 'An admin limited the memory of every process type to 512Mi; you may lower that limit but not raise it.', dev);
    // Not around it either, through a more specific setting.
    await refused(`resource:limit ${app} --process web --memory 1Gi`, 'An admin limited the memory of every process type to 512Mi; you may lower that limit but not raise it.', dev);
    await refused(`resource:limit-clear ${app}`, 'An admin set the limits of every process type (memory 512Mi); you may lower them but not clear them.', dev);
    assert.equal(await report(), was, 'nothing was stored');
    const lower = await ssh(`resource:limit ${app} --memory 256Mi`, dev);
    assert.equal(lower.exitCode, 0, lower.stderr);
    assert.equal(deploys(app).at(-1)!.resources!.web!.limits!.memory, '256Mi');
    // Back up to the admin's value is still within the ceiling.
    assert.equal((await ssh(`resource:limit ${app} --memory 512Mi`, dev)).exitCode, 0);
    await refused(`resource:limit ${app} --memory 513Mi`, 'An admin limited the memory of every process type to 512Mi; you may lower that limit but not raise it.', dev);
    // One-off pods run under the same limits as web.
    assert.deepEqual(deploys(app).at(-1)!.resources!.run, { limits: { memory: '512Mi' } });
    // The admin may move or clear it.
    assert.equal((await ssh(`resource:limit-clear ${app}`)).exitCode, 0);
    assert.equal((await ssh(`resource:limit ${app} --memory 1Gi`, dev)).exitCode, 0);
  });

  test('a reservation above the default container limit is refused in one sentence', async () => {
    const { app } = await deployedApp('reserve');
    await refused(`resource:reserve ${app} --memory 512Mi`, "web's memory reservation (512Mi) would be above its default limit (256Mi); lower the reservation or raise the limit.", dev);
  });

  test('tokens beyond SLIPWAY_MAX_TOKENS_PER_KEY are refused in one sentence; none is stored', async () => {
    const key = await makeKey(s.dir, 'tokener');
    assert.equal((await s.ssh(s.admin, 'keys:add tokener', key.pub)).exitCode, 0);
    for (const n of ['t1', 't2', 't3']) assert.equal((await ssh(`tokens:create ${n}`, key)).exitCode, 0);
    await refused('tokens:create t4', 'You have 3 tokens, the most one key may have (SLIPWAY_MAX_TOKENS_PER_KEY); revoke one first (tokens:revoke NAME).', key);
    assert.deepEqual((JSON.parse((await ssh('tokens:list --json', key)).stdout) as { name: string }[]).map((x) => x.name), ['t1', 't2', 't3']);
  });

  test('an image larger than SLIPWAY_MAX_IMAGE_MB fails the push in one sentence; nothing deploys and the image is deleted', async (t) => {
    const { app, wd } = await deployedApp('bigimage');
    registry.imageBytes = 5 * 2 ** 20;
    t.after(() => { registry.imageBytes = 1_000_000; });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'big'], { cwd: wd });
    const before = deploys(app).length;
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     The image is 5 MB, more than the 2 MB an app\'s image may be (SLIPWAY_MAX_IMAGE_MB); nothing was deployed.'), r.stderr);
    assert.equal(deploys(app).length, before);
    assert.deepEqual((await releases(app)).map((x) => x.version), [1]);
    const head = (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    assert.ok(!(await registry.tags(app)).some((x) => x.digest.startsWith(`sha256:${head.slice(0, 40)}`)), 'the refused image is gone');
  });

  test('config copies beyond SLIPWAY_KEEP_RELEASES are pruned, rows kept; a rollback to one says its config is gone', async () => {
    const { app } = await deployedApp('prune');
    for (const v of ['a', 'b', 'c']) assert.equal((await ssh(`config:set ${app} V=${v}`)).exitCode, 0);
    assert.equal((await ssh('gc')).exitCode, 0);
    const list = await releases(app);
    assert.deepEqual(list.map((x) => [x.version, x.configPrunedAt !== null]), [[4, false], [3, false], [2, true], [1, true]]);
    assert.match((await ssh(`releases:info ${app} v2`)).stdout, /Config vars:\s+\(pruned by garbage collection\)/);
    await refused(`rollback ${app} v2`, `v2's config is gone: garbage collection keeps the config of the last 2 releases (SLIPWAY_KEEP_RELEASES), so roll back to a newer release (see releases ${app}).`);
    assert.equal((await releases(app)).length, 4, 'no release was recorded');
    const back = await ssh(`rollback ${app}`);
    assert.equal(back.exitCode, 0, back.stderr);
    assert.equal(deploys(app).at(-1)!.config.V, 'b');
  });
});
