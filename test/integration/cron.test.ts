// The cron commands and routes over the real SSH and HTTP servers, with the fake deployer at
// Slipway's own Deployer interface: a push with app.json `cron` gives the release its tasks,
// cron lists them (text, --json and the API alike), cron:run starts one, cron:suspend is stored
// and rolled out and kept by later releases, a bad schedule refuses the push before anything is
// recorded, and a read token may list but not run. test/e2e/cron.test.ts runs them on a cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken, sshJson } from '../support/api-client.ts';
import type { CronEntry } from '../../server/shapes/cron.ts';
import { eventually } from '../support/eventually.ts';

const APP_JSON = {
  name: 'cron-app',
  cron: [
    { command: 'python manage.py clearsessions', schedule: '@daily', concurrency_policy: 'forbid' },
    { command: 'node tasks/report.js', schedule: '*/15 * * * *' },
  ],
};

describe('cron commands and routes', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;
  let wd: string;
  const tokens = { deploy: '', read: '' };
  const list = async () => (await sshJson(s, s.admin, `cron ${app}`)) as CronEntry[];
  const releases = async () => JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number }[];

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'cron');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    tokens.deploy = await makeToken(s, dev, 'dev-deploy');
    tokens.read = await makeToken(s, dev, 'dev-read', 'read');
    wd = await s.workRepo({ 'index.js': 'console.log("hi")\n', 'app.json': JSON.stringify(APP_JSON) });
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
  });
  after(() => s.close());

  test('a push gives the release its tasks; cron lists them with their next run, in text, --json and the API', async () => {
    const tasks = await list();
    assert.deepEqual(tasks.map((t) => [t.schedule, t.command, t.concurrencyPolicy, t.suspended, t.lastRun]), [
      ['@daily', 'python manage.py clearsessions', 'forbid', false, null],
      ['*/15 * * * *', 'node tasks/report.js', 'allow', false, null],
    ]);
    assert.match(tasks[0]!.nextRun ?? '', /^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    const deployed = s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
    assert.deepEqual(deployed.cron?.map((c) => c.id), tasks.map((t) => t.id));
    const text = await s.ssh(dev, `cron ${app}`);
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${tasks[1]!.id}\\s+\\*/15 \\* \\* \\* \\*\\s+node tasks/report\\.js\\s+active\\s+-\\s+\\d{4}-`));
    const viaApi = await api(s, 'GET', `/apps/${app}/cron`, { token: tokens.read });
    assert.equal(viaApi.status, 200, viaApi.text);
    assert.deepEqual((viaApi.json as CronEntry[]).map((t) => t.id), tasks.map((t) => t.id));
  });

  test('cron:run starts a task now and says how to follow it; a read token may not', async () => {
    const [task] = await list();
    const r = await s.ssh(dev, `cron:run ${app} ${task!.id}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `Started cron-${task!.id}-fake1\nFollow its output with: logs ${app} -p cron -t`);
    assert.deepEqual((await list())[0]!.lastRun?.result, 'succeeded');
    const unknown = await s.ssh(dev, `cron:run ${app} 0123456789`);
    assert.equal(unknown.exitCode, 1);
    assert.equal(unknown.stderr, ` !     ${app} has no scheduled task "0123456789"; \`cron ${app}\` lists them.`);
    const refused = await api(s, 'POST', `/apps/${app}/cron/${task!.id}/run`, { token: tokens.read });
    assert.equal(refused.status, 403, refused.text);
    const viaApi = await api(s, 'POST', `/apps/${app}/cron/${task!.id}/run`, { token: tokens.deploy });
    assert.equal(viaApi.status, 201, viaApi.text);
    assert.deepEqual(viaApi.json, { id: task!.id, job: `cron-${task!.id}-fake2`, logs: `logs ${app} -p cron -t` });
    assert.equal(s.deployer.cron.cronRuns.length, 2);
  });

  test('logs -p cron is accepted as the tasks\' process', async () => {
    const r = await s.ssh(dev, `logs ${app} -p cron`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /app\[cron\.fake\]/);
  });

  test('cron:suspend is stored, rolled out, and kept by a later release until cron:resume', async () => {
    const [task] = await list();
    const r = await s.ssh(dev, `cron:suspend ${app} ${task!.id}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Scheduled task ${task!.id} of ${app} is suspended\\.$`));
    assert.equal(s.deployer.rollout.deployed.findLast((d) => d.app === app)!.cron?.find((c) => c.id === task!.id)?.suspended, true);
    const [after] = await list();
    assert.deepEqual([after!.suspended, after!.nextRun], [true, null]);
    assert.equal((await s.ssh(dev, `config:set ${app} X=1`)).exitCode, 0);
    assert.equal(s.deployer.rollout.deployed.findLast((d) => d.app === app)!.cron?.find((c) => c.id === task!.id)?.suspended, true);
    const resumed = await api(s, 'POST', `/apps/${app}/cron/${task!.id}/resume`, { token: tokens.deploy });
    assert.equal(resumed.status, 202, resumed.text);
    // The job rolls out on its own, after the 202.
    await eventually('the resume to be rolled out', async () => s.deployer.rollout.deployed.findLast((d) => d.app === app)!.cron?.find((c) => c.id === task!.id)?.suspended === false);
    assert.equal((await list())[0]!.suspended, false);
  });

  test('a bad schedule refuses the push with one sentence naming the entry; no release is recorded', async () => {
    const before = await releases();
    const bad = { ...APP_JSON, cron: [APP_JSON.cron[0], { command: 'node tasks/report.js', schedule: '*/15 * * *' }] };
    const wd2 = await s.workRepo({ 'index.js': 'console.log("hi")\n', 'app.json': JSON.stringify(bad) });
    const push = await s.git(['push', '--force', s.sshRemote(app), 'main'], { cwd: wd2 });
    assert.notEqual(push.exitCode, 0);
    assert.match(push.stderr, /Push rejected: app\.json cron\[1\] \("node tasks\/report\.js"\): "\*\/15 \* \* \*" has 4 fields; a schedule is five \(minute hour day-of-month month day-of-week\) or a macro such as @daily\./);
    assert.deepEqual(await releases(), before);
    assert.equal((await list()).length, 2);
  });
});
