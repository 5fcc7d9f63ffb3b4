// Issue 13 over the real SSH server and git push, with the fake deployer at the Deployer
// interface: the release phase's place in a push and its refusals, app.json health checks read
// from the pushed tree, checks:set, resource:limit/reserve/report, ps:stop/ps:start, and the
// release metadata the deployer is handed. test/e2e/day2.test.ts runs them on a real cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, remoteLines, startTestServer, useControls, type TestServer } from '../support/harness.ts';

const WEB_AND_RELEASE = [
  { type: 'web', command: ['web'], args: [], default: true },
  { type: 'release', command: ['release'], args: [], default: false },
];

describe('day-2 parity over SSH and git push', () => {
  let s: TestServer;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  const push = async (app: string, files: Record<string, string> = { 'index.js': 'console.log("hi")\n' }) => {
    const wd = await s.workRepo(files);
    return { wd, r: await s.git(['push', '-f', s.sshRemote(app), 'main'], { cwd: wd }) };
  };
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('a push with a release process runs it before the rollout; the deployer gets the commit and no release Deployment count', async (t) => {
    useControls(t, s, { processes: WEB_AND_RELEASE });
    const app = await newApp(s, 'relphase');
    const { r } = await push(app);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    const at = lines.indexOf('-----> Running release command');
    assert.ok(at > lines.indexOf('-----> Releasing v1'), lines.join('\n'));
    assert.equal(lines[at + 1], '       fake release command of v1');
    assert.ok(lines.indexOf('       web: 1/1 ready') > at, 'the rollout comes after the release command');
    assert.equal(s.deployer.oneOff.releasePhases.at(-1)!.app, app);
    assert.match(lastDeploy(app).commit ?? '', /^[0-9a-f]{40}$/);
  });

  test('a failing release command rejects the push and rolls nothing out; config:set is rejected and taken back', async (t) => {
    useControls(t, s, { processes: WEB_AND_RELEASE });
    const app = await newApp(s, 'relfail');
    assert.equal((await push(app)).r.exitCode, 0);
    const deploys = s.deployer.rollout.deployed.length;
    s.controls.releaseFailure = 'The release command failed (exit code 3); nothing was deployed; its last lines: boom.';
    const { r } = await push(app, { 'index.js': 'console.log("v2")\n' });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     The release command failed (exit code 3); nothing was deployed; its last lines: boom.'), r.stderr);
    assert.equal(s.deployer.rollout.deployed.length, deploys, 'nothing was rolled out');
    const set = await s.ssh(s.admin, `config:set ${app} A=1`);
    assert.equal(set.exitCode, 1);
    assert.match(set.stdout, /-----> Running release command/);
    assert.equal((await s.ssh(s.admin, `config:get ${app} A`)).exitCode, 1, 'the config change was taken back');
    const list = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number; status: string }[];
    assert.deepEqual(list.map((x) => [x.version, x.status]), [[3, 'failed'], [2, 'failed'], [1, 'succeeded']]);
    delete s.controls.releaseFailure;
    // rollback runs no release command unless asked to.
    assert.equal((await s.ssh(s.admin, `config:set ${app} B=1`)).exitCode, 0);
    const phases = s.deployer.oneOff.releasePhases.length;
    assert.equal((await s.ssh(s.admin, `rollback ${app} v1`)).exitCode, 0);
    assert.equal(s.deployer.oneOff.releasePhases.length, phases);
    const again = await s.ssh(s.admin, `rollback ${app} v4 --run-release`);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(s.deployer.oneOff.releasePhases.length, phases + 1);
  });

  test('app.json health checks are read from the pushed tree and stored with the release; checks:set overrides them', async () => {
    const app = await newApp(s, 'checks');
    const appJson = JSON.stringify({ healthchecks: { web: [{ type: 'readiness', path: '/healthz', attempts: 2 }] } });
    const { r } = await push(app, { 'index.js': '1\n', 'app.json': appJson });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(lastDeploy(app).checks, { web: [{ type: 'readiness', path: '/healthz', attempts: 2 }] });
    assert.match((await s.ssh(s.admin, `checks ${app}`)).stdout, /web +readiness, GET \/healthz, initialDelay 0s, timeout 1s, attempts 2, wait 2s/);
    const set = await s.ssh(s.admin, `checks:set ${app} web liveness /live --initial-delay 5`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /Setting the liveness check of web to GET \/live\.\.\. done$/);
    assert.deepEqual(lastDeploy(app).checks, { web: [{ type: 'readiness', path: '/healthz', attempts: 2 }, { type: 'liveness', path: '/live', initialDelay: 5 }] });
    const bad = await s.ssh(s.admin, `checks:set ${app} web tcp /`);
    assert.equal(bad.stderr, ' !     checks:set: the check type must be startup, liveness or readiness, not "tcp".');
    const badPath = await s.ssh(s.admin, `checks:set ${app} web readiness healthz`);
    assert.match(badPath.stderr, /^ ! {5}checks:set: the path must start with \//);
    assert.equal((await s.ssh(s.admin, `checks:unset ${app} web liveness`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).checks, { web: [{ type: 'readiness', path: '/healthz', attempts: 2 }] });
    // The checks survive a config change (a new release copies them).
    assert.equal((await s.ssh(s.admin, `config:set ${app} X=1`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).checks, { web: [{ type: 'readiness', path: '/healthz', attempts: 2 }] });
    const broken = await push(app, { 'index.js': '2\n', 'app.json': '{"healthchecks":{"web":[{"type":"http"}]}}' });
    assert.notEqual(broken.r.exitCode, 0);
    assert.ok(remoteLines(broken.r.stderr).includes(' !     Push rejected: app.json healthchecks.web[0]: the check type must be startup, liveness or readiness, not "http".'), broken.r.stderr);
  });

  test('resource:limit and resource:reserve reach the deployer and resource:report; bad quantities get one sentence', async () => {
    const app = await newApp(s, 'res');
    assert.equal((await push(app)).r.exitCode, 0);
    const lim = await s.ssh(s.admin, `resource:limit ${app} --memory 512Mi --cpu 1`);
    assert.equal(lim.exitCode, 0, lim.stderr);
    assert.match(lim.stdout, /Limiting memory 512Mi, cpu 1 for every process type of .*\.\.\. done$/);
    assert.equal((await s.ssh(s.admin, `resource:reserve ${app} --process web --memory 256Mi`)).exitCode, 0);
    // One-off pods (`run`) run under web's settings.
    const webRes = { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } };
    assert.deepEqual(lastDeploy(app).resources, { web: webRes, run: webRes });
    const report = await s.ssh(s.admin, `resource:report ${app} --json`);
    assert.deepEqual(JSON.parse(report.stdout), { defaults: { limits: { memory: '512Mi', cpu: '1' } }, processes: { web: { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } } }, warm: [] });
    for (const [cmd, err] of [
      [`resource:limit ${app} --memory 1GB`, '"1GB" is not a memory size; write it as Kubernetes does, for example 512Mi or 1Gi.'],
      [`resource:limit ${app} --cpu lots`, '"lots" is not a CPU amount; write cores (1, 0.5) or millicores (250m).'],
      [`resource:limit ${app}`, `Give --memory, --cpu or both (for example resource:limit ${app} --memory 512Mi --cpu 1).`],
      [`resource:limit ${app} --process nope --memory 1Gi`, 'There is no "nope" process type; this app has web.'],
      [`resource:reserve ${app} --memory 1Gi`, 'The memory reservation (1Gi) would be above its limit (512Mi); lower the reservation or raise the limit.'],
    ] as const) {
      const r = await s.ssh(s.admin, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, ` !     ${err}`, cmd);
    }
    // Clearing: one scope at a time, rolled out; clearing what is not set is one sentence.
    const clear = await s.ssh(s.admin, `resource:reserve-clear ${app} --process web`);
    assert.equal(clear.exitCode, 0, clear.stderr);
    assert.match(clear.stdout, /Clearing the reservations of web of .*\.\.\. done$/);
    assert.deepEqual(lastDeploy(app).resources, { web: { limits: { memory: '512Mi', cpu: '1' } }, run: { limits: { memory: '512Mi', cpu: '1' } } });
    assert.equal((await s.ssh(s.admin, `resource:limit-clear ${app}`)).exitCode, 0);
    assert.deepEqual(lastDeploy(app).resources, {});
    const again = await s.ssh(s.admin, `resource:limit-clear ${app}`);
    assert.equal(again.exitCode, 1);
    assert.equal(again.stderr, ` !     ${app} has no default limits (for every process type); per-type ones are cleared with --process TYPE.`);
    assert.equal((await s.ssh(s.admin, `resource:limit-clear ${app} --process web`)).stderr, ` !     ${app} has no limits set for web.`);
  });

  test('ps:stop runs 0 of every type keeping the formation; ps:start restores it', async () => {
    const app = await newApp(s, 'stop');
    assert.equal((await push(app)).r.exitCode, 0);
    assert.equal((await s.ssh(s.admin, `ps:scale ${app} web=3`)).exitCode, 0);
    const stop = await s.ssh(s.admin, `ps:stop ${app}`);
    assert.equal(stop.exitCode, 0, stop.stderr);
    assert.match(stop.stdout, /Stopping all processes of .*\.\.\. done$/);
    assert.deepEqual(lastDeploy(app).formation, { web: 0 });
    assert.match((await s.ssh(s.admin, `ps ${app}`)).stdout, new RegExp(`=== web: 0/0 ready\\nstopped \\(ps:start ${app} starts it again\\)`));
    assert.equal((await s.ssh(s.admin, `ps:stop ${app} nope`)).stderr, ' !     There is no "nope" process type; this app has web.');
    // Scaling a stopped type keeps it stopped, and says so.
    const scale = await s.ssh(s.admin, `ps:scale ${app} web=3`);
    assert.equal(scale.exitCode, 0, scale.stderr);
    assert.match(scale.stdout, new RegExp(`Scaling ${app}\\.\\.\\. done; web is stopped and runs at that count after ps:start ${app}\\.$`));
    assert.deepEqual(lastDeploy(app).formation, { web: 0 });
    const start = await s.ssh(s.admin, `ps:start ${app}`);
    assert.equal(start.exitCode, 0, start.stderr);
    assert.deepEqual(lastDeploy(app).formation, { web: 3 });
  });
});
