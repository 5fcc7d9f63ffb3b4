// Autoscaling as users drive it (issue 40, part 2), over the real SSH server and the HTTP API,
// with the fake deployer at Slipway's Deployer interface: ps:autoscale shows, sets and refuses
// (bad input, past the quota: one sentence, nothing written), ps shows the autoscaler, ps:scale
// says the type is autoscaled, deploys, rollbacks, ps:stop and ps:start carry the rule to the
// deployer, and ps:autoscale:off gives the count back to ps:scale at what the autoscaler runs.
// The HPA itself, the replicas handed over and the scaling under load are tested on a real
// cluster in test/e2e/autoscale.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { eventually } from '../support/eventually.ts';

describe('ps:autoscale, ps:autoscale:off, ps and ps:scale of an autoscaled type, over SSH and the API', { timeout: 120_000 }, () => {
  let s: TestServer;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;

  before(async () => {
    s = await startTestServer({ SLIPWAY_AUTOSCALE_SCALE_DOWN_S: '20' });
  });
  after(() => s.close());

  test('ps:autoscale stores a rule and rolls it out; ps shows it; ps:scale says it is autoscaled; a deploy and a rollback keep it', async () => {
    const { app } = await deployedApp(s, 'as-on');
    const none = await s.ssh(s.admin, `ps:autoscale ${app}`);
    assert.equal(none.stdout, `${app} has no autoscaled process type (ps:autoscale ${app} web --max 5 --cpu 70 makes one).`);
    assert.equal((await s.ssh(s.admin, `ps:autoscale ${app} --json`)).stdout, '[]');

    const on = await s.ssh(s.admin, `ps:autoscale ${app} web --min 2 --max 4 --cpu 70 --memory 80`);
    assert.equal(on.exitCode, 0, on.stderr);
    assert.match(on.stdout, /-----> Job \S+ \(ps:autoscale\)/);
    assert.match(on.stdout, new RegExp(`Autoscaling web of ${app} from 2 to 4 instances, aiming at CPU at 70 % and memory at 80 % of their limits\\.\\.\\.`));
    assert.match(on.stdout, new RegExp(`Autoscaling ${app}\\.\\.\\. done, web: 2 to 4 instances, aiming at CPU at 70 % and memory at 80 % of their limits\\.$`));
    assert.deepEqual(lastDeploy(app).autoscale, { web: { min: 2, max: 4, cpu: 70, memory: 80, scaleDownSeconds: 20 } });
    assert.equal(lastDeploy(app).formation.web, 2, 'the min');
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `ps:autoscale ${app} --json`)).stdout), [{ process: 'web', min: 2, max: 4, cpu: 70, memory: 80 }]);
    assert.equal((await s.ssh(s.admin, `ps:autoscale ${app}`)).stdout, 'web: 2 to 4 instances, aiming at CPU at 70 % and memory at 80 % of their limits');

    // The fake's instances have a 1-core and 512Mi limit: 0.245 cores is 25 %, 64 MiB 13 %.
    s.deployer.autoscale.use = 0.245;
    const ps = await s.ssh(s.admin, `ps ${app}`);
    assert.match(ps.stdout, /=== web: 2\/2 ready\nautoscaled 2 to 4: 2 running, 2 wanted; CPU 25 % \(aim 70 %\), memory 13 % \(aim 80 %\)\n/);
    const json = JSON.parse((await s.ssh(s.admin, `ps ${app} --json`)).stdout) as { type: string; autoscale?: unknown }[];
    assert.deepEqual(json[0]!.autoscale, { min: 2, max: 4, cpu: 70, memory: 80, current: 2, desired: 2, cpuNow: 25, memoryNow: 13 });
    s.deployer.autoscale.use = undefined;

    const scaled = await s.ssh(s.admin, `ps:scale ${app} web=3`);
    assert.equal(scaled.exitCode, 1);
    assert.equal(scaled.stderr, ` !     web is autoscaled from 2 to 4 instances; ps:autoscale ${app} web --min N --max N changes its bounds, ps:autoscale:off ${app} web gives its count back to ps:scale.`);

    assert.equal((await s.ssh(s.admin, `config:set ${app} A=1`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).autoscale?.web, { min: 2, max: 4, cpu: 70, memory: 80, scaleDownSeconds: 20 }, 'a deploy keeps it');
    assert.equal((await s.ssh(s.admin, `rollback ${app}`)).exitCode, 0);
    assert.deepEqual(Object.keys(lastDeploy(app).autoscale ?? {}), ['web'], 'a rollback keeps it');

    // Stopped, a type is outside its autoscaler (0 instances); started, back under it.
    assert.equal((await s.ssh(s.admin, `ps:stop ${app} web`)).exitCode, 0);
    assert.deepEqual([lastDeploy(app).formation.web, lastDeploy(app).autoscale], [0, undefined]);
    assert.ok(!(await s.ssh(s.admin, `ps ${app}`)).stdout.includes('autoscaled'));
    assert.equal((await s.ssh(s.admin, `ps:start ${app} web`)).exitCode, 0);
    assert.deepEqual([lastDeploy(app).formation.web, Object.keys(lastDeploy(app).autoscale ?? {})], [2, ['web']]);
  });

  test('ps:autoscale refuses bad input and a max past the quota with one sentence, writing nothing', async () => {
    const { app } = await deployedApp(s, 'as-bad');
    const deploys = s.deployer.rollout.deployed.length;
    const cases: [string, string, number][] = [
      ['web --max 5', "Give --cpu, --memory or both: the average use to aim at, in percent of each instance's limits (for example ps:autoscale APP web --max 5 --cpu 70).", 1],
      ['web --cpu 70', 'Give --max, the most instances of web (for example ps:autoscale APP web --max 5 --cpu 70).', 1],
      ['web --max 3 --min 4 --cpu 70', '--max (3) is below --min (4); the autoscaler keeps web between them.', 1],
      ['web --max 3 --cpu 0', '--cpu takes a whole number from 1 to 100 (percent of the CPU limit), not "0".', 1],
      ['web --max 3 --cpu 7o', '--cpu takes a whole number, not "7o".', 1],
      ['clock --max 3 --cpu 70', 'There is no "clock" process type; this app has web.', 1],
      ['--max 3 --cpu 70', 'Name the process type to autoscale (for example ps:autoscale APP web --max 5 --cpu 70).', 1],
      // 10 pods by default; 6 web instances count 12 with the second set of a rollout.
      ['web --max 6 --cpu 70', "APP at web=1..6 needs 12 pods (counting an autoscaled type at its max, a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 10 pods (resource:quota APP); scale down, lower an autoscaled type's --max or lower its limits.", 1],
    ];
    for (const [words, sentence, code] of cases) {
      const r = await s.ssh(s.admin, `ps:autoscale ${app} ${words}`);
      assert.equal(r.exitCode, code, words);
      assert.equal(r.stderr, ` !     ${sentence.replaceAll('APP', app)}`, words);
    }
    assert.equal((await s.ssh(s.admin, `ps:autoscale ${app} --json`)).stdout, '[]', 'nothing written');
    assert.equal(s.deployer.rollout.deployed.length, deploys, 'nothing rolled out');
    const off = await s.ssh(s.admin, `ps:autoscale:off ${app} web`);
    assert.equal(off.stderr, ` !     "web" of ${app} is not autoscaled (ps:autoscale ${app} lists those that are).`);
  });

  test('ps:autoscale:off keeps what the autoscaler runs, as the formation ps:scale sets again', async () => {
    const { app } = await deployedApp(s, 'as-off');
    assert.equal((await s.ssh(s.admin, `ps:autoscale ${app} web --min 3 --max 4 --cpu 60`)).exitCode, 0);
    const off = await s.ssh(s.admin, `ps:autoscale:off ${app} web`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.match(off.stdout, new RegExp(`Turning autoscaling of web off\\.\\.\\. done, web stays at 3 \\(ps:scale ${app} web=N changes it\\)\\.$`));
    assert.equal(lastDeploy(app).autoscale, undefined);
    assert.equal(lastDeploy(app).formation.web, 3);
    assert.equal((await s.ssh(s.admin, `ps:scale ${app} web=1`)).exitCode, 0);
    assert.equal(lastDeploy(app).formation.web, 1);
  });

  test('the API lists, sets (a job) and ends autoscaling; a read token may only list', async () => {
    const { app } = await deployedApp(s, 'as-api');
    const read = await makeToken(s, s.admin, 'as-read', 'read');
    const deploy = await makeToken(s, s.admin, 'as-deploy');
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/autoscale`, { token: read })).json, []);
    assert.equal((await api(s, 'PATCH', `/apps/${app}/autoscale/web`, { token: read, body: { max: 3, cpu: 50 } })).status, 403);
    const bad = await api(s, 'PATCH', `/apps/${app}/autoscale/web`, { token: deploy, body: { max: 3 } });
    assert.equal(bad.status, 422, bad.text);
    const set = await api(s, 'PATCH', `/apps/${app}/autoscale/web`, { token: deploy, body: { max: 3, cpu: 50 } });
    assert.equal(set.status, 202, set.text);
    await eventually('the rule to be rolled out', async () => lastDeploy(app).autoscale?.web?.max === 3);
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/autoscale`, { token: read })).json, [{ process: 'web', min: 1, max: 3, cpu: 50, memory: null }]);
    const processes = (await api(s, 'GET', `/apps/${app}/processes`, { token: read })).json as { autoscale?: { min: number; max: number } }[];
    assert.deepEqual([processes[0]!.autoscale?.min, processes[0]!.autoscale?.max], [1, 3]);
    const gone = await api(s, 'DELETE', `/apps/${app}/autoscale/web`, { token: deploy });
    assert.equal(gone.status, 202, gone.text);
    await eventually('autoscaling to end', async () => lastDeploy(app).autoscale === undefined);
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/autoscale`, { token: read })).json, []);
  });
});
