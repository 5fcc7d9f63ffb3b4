// Canary releases as users drive them, over the real SSH server, with the fake deployer at
// Slipway's Deployer interface (its canary part answers samples with the counters a test sets):
// canary:set (show, bad input refused with nothing written, unset), a config change rolled out as
// a canary that passes its windows or is aborted by its verdict with the figures, and
// canary:promote / canary:abort by hand while it runs, a push option, and the same through the API.
// The split on a real cluster and ingress is test/e2e/canary.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deployedApp, newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';

describe('canary releases: canary:set, a deploy as a canary, canary:promote and canary:abort', { timeout: 120_000 }, () => {
  let s: TestServer;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  const healthy = () => {
    s.deployer.canary.traffic = { stable: { requests: 100, errors: 0, ms: 20 }, canary: { requests: 10, errors: 0, ms: 20 } };
  };

  before(async () => {
    s = await startTestServer({});
  });
  after(() => s.close());

  test('canary:set stores the steps, window and margin; canary shows them; bad input is one sentence and nothing is written; canary:unset removes it', async () => {
    const app = await newApp(s, 'cn-set');
    assert.equal((await s.ssh(s.admin, `canary ${app}`)).stdout, `${app} has no canary: a deploy moves all requests at once (canary:set ${app} 10,50,100 makes every later deploy a canary).`);
    const set = await s.ssh(s.admin, `canary:set ${app} 10,50 --step 30s --margin 5xx=2,p95=250ms`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(set.stdout, `Setting the canary of ${app}... done: 10 % → 50 % → 100 %, 30 s windows, margin 5xx 2 points, p95 250 ms, from its next deploy on.`);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout), { app, setting: { steps: [10, 50, 100], stepSeconds: 30, margin: { errorPoints: 2, p95Ms: 250 } }, running: null });
    for (const [args, message] of [
      ['50,10', '"50,10" is not a list of canary steps; give rising percentages of the requests, like 10,50,100.'],
      ['10 --step 2d', '"2d" is not a canary window; give a duration like 30s, 5m or 1h (from 1s to 24h).'],
      ['10 --margin 5xx', '"5xx" is not a canary margin; give 5xx=POINTS and/or p95=MILLISECONDS, like 5xx=1,p95=100ms.'],
    ] as const) {
      const r = await s.ssh(s.admin, `canary:set ${app} ${args}`);
      assert.equal(r.exitCode, 1, args);
      assert.equal(r.stderr, ` !     ${message}`);
    }
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout).setting.steps, [10, 50, 100], 'nothing written');
    assert.equal((await s.ssh(s.admin, `canary:unset ${app}`)).stdout, `Removing the canary of ${app}... done: later deploys move all requests at once.`);
    assert.equal(JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout).setting, null);
    assert.equal((await s.ssh(s.admin, `canary:promote ${app}`)).stderr, ` !     No canary of ${app} is running.`);
  });

  test('a config change is a canary: it steps 10 → 50 → 100 after each window and ends as a normal release', async () => {
    healthy();
    const { app } = await deployedApp(s, 'cn-pass');
    const before = lastDeploy(app).version;
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10,50,100 --step 1s`)).exitCode, 0);
    const calls = s.deployer.canary.calls.length;
    const r = await s.ssh(s.admin, `config:set ${app} COLOR=green`);
    assert.equal(r.exitCode, 0, r.stderr);
    const next = lastDeploy(app).version;
    assert.equal(next, before + 1);
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${app} v${next} 10`, `weigh ${app} 50`, `finish ${app}`]);
    assert.match(r.stdout, new RegExp(`-----> Canary: v${next} beside v${before} \\(10 % → 50 % → 100 %, 1 s windows, margin 5xx 1 point, p95 100 ms\\)`));
    assert.match(r.stdout, new RegExp(`v${next} takes 10 % of the requests \\(sticky by cookie\\) for 1 s`));
    assert.match(r.stdout, new RegExp(`Window at 50 %: v${next} 10 requests, 5xx 0\\.0 %, p95 \\d+ ms; v${before} 100 requests, 5xx 0\\.0 %, p95 \\d+ ms`));
    assert.match(r.stdout, new RegExp(`v${next} passed its canary: it takes all the requests`));
    const releases = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number; status: string }[];
    assert.equal(releases.find((x) => x.version === next)?.status, 'succeeded');
  });

  test('a canary worse than the stable set is aborted by its verdict: all traffic back in one write, the change fails with the figures, nothing new runs', async () => {
    const { app } = await deployedApp(s, 'cn-fail');
    const stable = lastDeploy(app).version;
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10,50 --step 1s`)).exitCode, 0);
    s.deployer.canary.traffic = { stable: { requests: 90, errors: 0, ms: 20 }, canary: { requests: 10, errors: 10, ms: 20 } };
    const calls = s.deployer.canary.calls.length;
    const r = await s.ssh(s.admin, `config:set ${app} ANSWER_STATUS=500`);
    healthy();
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`The canary of v${stable + 1} was aborted at 10 %: 5xx 100\\.0 % against 0\\.0 % on the stable set \\(margin 1 point\\)\\. Every request is back on v${stable}\\.`));
    assert.match(r.stdout, /Verdict at \S+: every request back on v\d+ \(written \d+ ms after the verdict, confirmed by the ingress \d+ ms after it\)/);
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${app} v${stable + 1} 10`, `abort ${app}`, `finish ${app}`]);
    assert.equal(lastDeploy(app).version, stable, 'the canary release is not what runs');
    const config = JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
    assert.equal(config.ANSWER_STATUS, undefined, 'the change was taken back');
  });

  test('canary:promote and canary:abort end a running canary by hand; canary and releases show it while it runs', async () => {
    healthy();
    const { app } = await deployedApp(s, 'cn-hand');
    const stable = lastDeploy(app).version;
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10,50 --step 1h`)).exitCode, 0);
    const running = async () => {
      for (;;) {
        const c = JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout) as { running: { weight: number; release: number } | null };
        if (c.running) return c.running;
        await sleep(50);
      }
    };
    const promoted = s.ssh(s.admin, `config:set ${app} A=1`);
    assert.deepEqual({ ...(await running()) }, { ...(await running()) });
    assert.equal((await running()).weight, 10);
    assert.match((await s.ssh(s.admin, `releases ${app}`)).stdout, new RegExp(`Canary: v${stable + 1} takes 10 % of the requests beside v${stable} \\(step 1 of 3, window ends`));
    const p = await s.ssh(s.admin, `canary:promote ${app}`);
    assert.equal(p.stdout, `Promoting the canary of ${app} (v${stable + 1}, at 10 %)... the deploy now moves all requests to it.`);
    const done = await promoted;
    assert.equal(done.exitCode, 0, done.stderr);
    assert.match(done.stdout, /Promoted by hand \(admin\) at 10 %/);
    assert.equal(lastDeploy(app).version, stable + 1);

    const aborted = s.ssh(s.admin, `config:set ${app} A=2`);
    await running();
    const a = await s.ssh(s.admin, `canary:abort ${app}`);
    assert.equal(a.stdout, `Aborting the canary of ${app} (v${stable + 2}, at 10 %)... every request goes back to v${stable + 1}.`);
    const failed = await aborted;
    assert.equal(failed.exitCode, 1);
    assert.match(failed.stderr, new RegExp(`The canary of v${stable + 2} was aborted by hand \\(admin\\) at 10 %; every request is back on v${stable + 1}\\.`));
    assert.equal(lastDeploy(app).version, stable + 1);
    assert.equal(JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout).running, null);
  });

  test('a rollback is a canary too: the earlier release beside the serving one at the first step, then all of it; an aborted one leaves the serving release', async () => {
    healthy();
    const { app } = await deployedApp(s, 'cn-back');
    const first = lastDeploy(app).version;
    assert.equal((await s.ssh(s.admin, `config:set ${app} B=1`)).exitCode, 0);
    const serving = lastDeploy(app).version;
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10 --step 1s`)).exitCode, 0);
    let calls = s.deployer.canary.calls.length;
    const back = await s.ssh(s.admin, `rollback ${app} v${first}`);
    assert.equal(back.exitCode, 0, back.stderr);
    assert.match(back.stdout, new RegExp(`Canary: v${serving + 1} beside v${serving} \\(10 % → 100 %, 1 s windows`));
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${app} v${serving + 1} 10`, `finish ${app}`]);
    assert.equal(lastDeploy(app).version, serving + 1);
    assert.equal((JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>).B, undefined, "the rollback's config runs");

    // The same rollback, worse than the stable set: aborted, and the release before it serves on.
    s.deployer.canary.traffic = { stable: { requests: 90, errors: 0, ms: 20 }, canary: { requests: 10, errors: 10, ms: 20 } };
    calls = s.deployer.canary.calls.length;
    const bad = await s.ssh(s.admin, `rollback ${app} v${serving}`);
    healthy();
    assert.equal(bad.exitCode, 1, bad.stdout);
    assert.match(bad.stderr, new RegExp(`The canary of v${serving + 2} was aborted at 10 %: 5xx 100\\.0 %`));
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${app} v${serving + 2} 10`, `abort ${app}`, `finish ${app}`]);
    assert.equal(lastDeploy(app).version, serving + 1, 'the aborted rollback does not run');
  });

  test('a push option runs one push as a canary (git push -o canary=10); canary=off deploys without one; an option Slipway does not know refuses the push', async () => {
    healthy();
    const { app, wd } = await deployedApp(s, 'cn-push');
    const stable = lastDeploy(app).version;
    await writeFile(join(wd, 'index.js'), 'console.log("two")\n');
    await s.commitAll(wd, 'two');
    // The push's steps, with the app's window and margin.
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 50 --step 1s`)).exitCode, 0);
    const calls = s.deployer.canary.calls.length;
    const pushed = await s.git(['push', '-o', 'canary=10', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    assert.match(pushed.stderr, new RegExp(`Canary: v${stable + 1} beside v${stable} \\(10 % → 100 %, 1 s windows`));
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${app} v${stable + 1} 10`, `finish ${app}`]);
    assert.equal(lastDeploy(app).version, stable + 1);

    await writeFile(join(wd, 'index.js'), 'console.log("three")\n');
    await s.commitAll(wd, 'three');
    const bad = await s.git(['push', '-o', 'ci.skip', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /Slipway knows two push options, canary=STEPS \(git push -o canary=10,50\) or canary=off, and detach \(git push -o detach: the push ends once its canary has started\); "ci\.skip" is neither, and nothing was deployed\./);
    const worse = await s.git(['push', '-o', 'canary=90,10', s.sshRemote(app), 'main'], { cwd: wd });
    assert.match(worse.stderr, /"90,10" is not a list of canary steps/);
    assert.equal(lastDeploy(app).version, stable + 1, 'nothing was deployed');

    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10 --step 1h`)).exitCode, 0);
    const off = await s.git(['push', '-o', 'canary=off', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(off.exitCode, 0, off.stderr);
    assert.doesNotMatch(off.stderr, /Canary:/);
    assert.equal(lastDeploy(app).version, stable + 2);
  });

  test('git push -o detach ends the push once its canary has started and the job carries on; with no canary to run it is refused with nothing deployed', async () => {
    healthy();
    const { app, wd } = await deployedApp(s, 'cn-detach');
    const stable = lastDeploy(app).version;
    await writeFile(join(wd, 'index.js'), 'console.log("detached")\n');
    await s.commitAll(wd, 'detached');
    const none = await s.git(['push', '-o', 'detach', s.sshRemote(app), 'main'], { cwd: wd });
    assert.notEqual(none.exitCode, 0);
    assert.match(none.stderr, new RegExp(`git push -o detach ends the push once its canary has started, and this deploy of ${app} runs none \\(canary:set ${app} 10,50,100, or -o canary=10\\); nothing was deployed\\.`));
    assert.equal(lastDeploy(app).version, stable);

    // An hour's window: the push could not wait for it.
    assert.equal((await s.ssh(s.admin, `canary:set ${app} 10 --step 1h`)).exitCode, 0);
    const pushed = await s.git(['push', '-o', 'detach', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    const detached = /Detached: the canary carries on as job ([0-9a-z]+); canary \S+ shows it, jobs:follow \1 follows it/.exec(pushed.stderr);
    assert.ok(detached, pushed.stderr);
    assert.match(pushed.stderr, new RegExp(`v${stable + 1} takes 10 % of the requests`));
    const running = JSON.parse((await s.ssh(s.admin, `canary ${app} --json`)).stdout) as { running: { release: number; weight: number } | null };
    assert.deepEqual([running.running?.release, running.running?.weight], [stable + 1, 10], 'the canary runs on after the push ended');
    assert.equal((await s.git(['ls-remote', s.sshRemote(app), 'refs/heads/main'], { cwd: wd })).stdout.split('\t')[0], (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim(), 'git took the push');
    assert.equal((await s.ssh(s.admin, `canary:promote ${app}`)).exitCode, 0);
    const followed = await s.ssh(s.admin, `jobs:output ${detached[1]} -t`);
    assert.equal(followed.exitCode, 0, followed.stdout + followed.stderr);
    assert.match(followed.stdout, /Promoted by hand \(admin\) at 10 %/);
    assert.equal(lastDeploy(app).version, stable + 1);

    // An app's first deploy has nothing serving to run a canary beside: the push waits for it.
    const first = await newApp(s, 'cn-detach-first');
    assert.equal((await s.ssh(s.admin, `canary:set ${first} 10 --step 1h`)).exitCode, 0);
    const firstPush = await s.git(['push', '-o', 'detach', s.sshRemote(first), 'main'], { cwd: wd });
    assert.equal(firstPush.exitCode, 0, firstPush.stderr);
    assert.match(firstPush.stderr, /Application deployed/);
    assert.match(firstPush.stderr, new RegExp(`Not detached: nothing of ${first} served before this deploy, so it ran no canary and the push waited for it`));
    assert.doesNotMatch(firstPush.stderr, /Detached:/);
    assert.equal(lastDeploy(first).version, 1);
  });

  test('the API: GET, PATCH and DELETE /apps/APP/canary, promote and abort refused with one sentence when none runs; a read token reads, cannot set', async () => {
    const app = await newApp(s, 'cn-api');
    const token = await makeToken(s, s.admin, 'cn-api');
    const read = await makeToken(s, s.admin, 'cn-api-read', 'read');
    const base = `/apps/${app}/canary`;
    assert.deepEqual((await api(s, 'GET', base, { token })).json, { app, setting: null, running: null });
    const set = await api(s, 'PATCH', base, { token, body: { steps: '5,25', step: '10s', margin: 'p95=50ms' } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json, { steps: [5, 25, 100], stepSeconds: 10, margin: { errorPoints: 1, p95Ms: 50 } });
    const bad = await api(s, 'PATCH', base, { token, body: { steps: '50,5' } });
    assert.equal(bad.status, 422);
    assert.equal(apiError(bad).message, '"50,5" is not a list of canary steps; give rising percentages of the requests, like 10,50,100.');
    assert.deepEqual(((await api(s, 'GET', base, { token: read })).json as { setting: { steps: number[] } }).setting.steps, [5, 25, 100], 'nothing written');
    assert.equal((await api(s, 'PATCH', base, { token: read, body: { steps: '10' } })).status, 403);
    const promote = await api(s, 'POST', `${base}/promote`, { token });
    assert.equal(promote.status, 422);
    assert.equal(apiError(promote).message, `No canary of ${app} is running.`);
    assert.deepEqual((await api(s, 'DELETE', base, { token })).json, { removed: true });
    assert.equal(((await api(s, 'GET', base, { token })).json as { setting: unknown }).setting, null);
  });
});
