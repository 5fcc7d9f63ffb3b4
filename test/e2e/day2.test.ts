// Issue 13's day-2 parity on the testbed's real pieces (pack, registry, Kubernetes node, Traefik):
// the release phase, release metadata in the environment (DYNO included), HTTP health checks from
// app.json, resource limits and OOMKilled, ps:stop/ps:start, config:set --encoded. One app (test/fixtures/day2-app) is pushed
// once and then changed with config:set, which runs the release phase too, so only the pushes
// that are the point of a test build anything. Tests run in order and share that app.
import { servingWebSet } from '../support/web-set.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Deployment, V1Pod } from '../../server/kube/types.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `day2-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const ONE = 'day2 answer one\n';
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 30_000;
/** The release command's deadline on this server: short, so the timeout case stays cheap. */
const RELEASE_TIMEOUT_S = 15;

interface PsEntry { type: string; desired: number; ready: number; instances: { name: string; release: number | null; state: string; ready: boolean; restarts: number }[] }

describe('day-2 parity: release phase, metadata, health checks, resources, ps:stop/start', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let kube: KubeClient;
  let ingress: string;
  let wd: string;
  let sha: string;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const get = (path = '/') => httpThroughIngress(ingress, host, 5000, path);
  const ps = async (): Promise<PsEntry[]> => JSON.parse((await ssh(`ps ${APP} --json`)).stdout) as PsEntry[];
  const lastError = (text: string) => text.split('\n').filter((l) => l.startsWith(' !     ')).at(-1) ?? '';
  const releaseStatus = async () => (JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as { version: number; status: string }[])[0]!;

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    kube = new KubeClient(tb.KUBECONFIG!);
    const env = { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_RELEASE_TIMEOUT_S: String(RELEASE_TIMEOUT_S) };
    ({ server: s } = await startOnTestbed(tb, env, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('a push runs the release command before the rollout, with the new image, config and metadata', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('day2-app');
    sha = await s.commitAll(wd, 'day2 app');
    const started = Date.now();
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    t.diagnostic(`first push took ${Date.now() - started} ms`);
    const at = lines.indexOf('-----> Running release command');
    assert.ok(at > 0, lines.join('\n'));
    assert.ok(lines.indexOf('-----> Releasing v1') < at, 'the release command runs inside the release stage');
    assert.ok(lines.slice(at).includes(`       release phase: v1 release ${sha.slice(0, 7)} release.1`), lines.join('\n'));
    // Before the rollout: the first `web: n/1 ready` line comes after the release command's output.
    assert.ok(lines.findIndex((l) => /^ {7}web: \d\/1 ready$/.test(l)) > at, lines.join('\n'));
    assert.ok(lines.includes('       Applied v1: web=1'), 'release is not a Deployment: ' + lines.join('\n'));
    assert.equal(await waitForBody(ingress, host, (b) => b === ONE, ROUTE_MS), ONE);
    const deployments = await kube.list<V1Deployment>('apps/v1', 'Deployment', NS);
    assert.deepEqual(deployments.map((d) => d.metadata?.name), ['web-v1']);
    assert.deepEqual(await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'app.kubernetes.io/component=release' }), [], 'the release pod is removed');
  });

  test('every process sees DYNO, SOURCE_VERSION, SLIPWAY_RELEASE, SLIPWAY_APP and SLIPWAY_PROCESS; config vars win', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.deepEqual(JSON.parse((await get('/env')).body), { DYNO: 'web.1', SOURCE_VERSION: sha, SLIPWAY_RELEASE: 'v1', SLIPWAY_APP: APP, SLIPWAY_PROCESS: 'web', PORT: '5000' });
    const set = await ssh(`config:set ${APP} SLIPWAY_PROCESS=mine`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /-----> Running release command\n {7}release phase: v2 mine /, 'config:set runs the release command too');
    const env = await eventually('v2 to answer /env', async () => {
      const b = (await get('/env')).body;
      return b.includes('"v2"') && b;
    }, ROUTE_MS, 500);
    assert.deepEqual(JSON.parse(env), { DYNO: 'web.1', SOURCE_VERSION: sha, SLIPWAY_RELEASE: 'v2', SLIPWAY_APP: APP, SLIPWAY_PROCESS: 'mine', PORT: '5000' });
  });

  test('a release command that fails rejects the push with its exit code and last lines; the old answer stays', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace("'day2 answer one'", "'day2 answer two'"));
    writeFileSync(join(wd, 'Procfile'), 'web: node server.js\nrelease: node release.js 3\n');
    await s.commitAll(wd, 'a migration that fails');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.notEqual(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes('-----> Running release command'), lines.join('\n'));
    assert.ok(lines.includes('       migration failed: exiting 3'), 'the output streams into the push: ' + lines.join('\n'));
    // Its stdout and stderr arrive as two streams: the error may come before the line printed first.
    assert.match(lines.filter((l) => l.startsWith(' !     ')).at(-1) ?? '', /^ ! {5}The release command failed \(exit code 3\); nothing was deployed; its last lines: (.* \| )?migration failed: exiting 3( \| [^|]*)?\.$/);
    assert.ok(!lines.some((l) => /^ {7}web: \d\/1 ready$/.test(l)), 'nothing was rolled out');
    const v3 = await releaseStatus();
    assert.deepEqual([v3.version, v3.status], [3, 'failed']);
    assert.equal((await get()).body, ONE);
    const web = (await ps()).find((p) => p.type === 'web')!;
    // An older release's pod may still be shutting down from the previous test's rollout; what
    // matters is that the one serving is v2's, untouched.
    const live = web.instances.filter((i) => i.state !== 'Terminating');
    assert.deepEqual(live.map((i) => [i.release, i.state, i.restarts]), [[2, 'Running', 0]], 'the v2 pod was never touched');
  });

  test('a config change whose release command runs past its deadline is rejected; the old release keeps serving', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`config:set ${APP} RELEASE_SLEEP=120`);
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(lastError(r.stderr), new RegExp(`^ ! {5}The release command did not finish within ${RELEASE_TIMEOUT_S} s \\(SLIPWAY_RELEASE_TIMEOUT_S\\) and was stopped; nothing was deployed`));
    assert.equal((await ssh(`config:get ${APP} RELEASE_SLEEP`)).exitCode, 1, 'the change was taken back');
    assert.equal((await get()).body, ONE);
  });

  test('an HTTP readiness check (app.json) answering 500 fails the rollout with the probe error; the old release keeps serving', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const checks = await ssh(`checks ${APP}`);
    assert.match(checks.stdout, /web +readiness, GET \/healthz, initialDelay 0s, timeout 1s, attempts 2, wait 1s/);
    const started = Date.now();
    const r = await ssh(`config:set ${APP} HEALTH_STATUS=500`);
    assert.equal(r.exitCode, 1, r.stdout);
    t.diagnostic(`failed readiness rollout took ${Date.now() - started} ms`);
    assert.match(lastError(r.stderr), /^ ! {5}v\d+ did not become ready: web instance \S+ failed its readiness check \(GET \/healthz\): Readiness probe failed: HTTP probe failed with statuscode: 500; v2 is running again\.$/);
    assert.equal((await get()).body, ONE);
  });

  test('resource:limit reaches the Deployment; memory past it shows OOMKilled in ps and in a failed release', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const bad = await ssh(`resource:limit ${APP} --memory 128MB`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^ ! {5}"128MB" is not a memory size; write it as Kubernetes does, for example 512Mi or 1Gi\.$/);
    const lim = await ssh(`resource:limit ${APP} --memory 96Mi --cpu 1`);
    assert.equal(lim.exitCode, 0, lim.stderr);
    const res = await ssh(`resource:reserve ${APP} --process web --memory 64Mi --cpu 100m`);
    assert.equal(res.exitCode, 0, res.stderr);
    const web = await servingWebSet(kube, NS);
    assert.deepEqual(JSON.parse(JSON.stringify(web?.spec?.template?.spec?.containers?.[0]?.resources)), { limits: { memory: '96Mi', cpu: '1' }, requests: { memory: '64Mi', cpu: '100m' } });
    assert.match((await ssh(`resource:report ${APP}`)).stdout, /web +memory 96Mi, cpu 1 +memory 64Mi, cpu 100m/);

    // A running instance that allocates past its limit is killed by the kernel and restarted.
    // The request is sent again every 10 s until ps shows the kill: right after the rollout above
    // the ingress may still send it to an instance of the release before, which has no limit.
    let asked = 0;
    const state = await eventually('ps to show the OOM kill', async () => {
      if (Date.now() - asked > 10_000) {
        asked = Date.now();
        void get('/oom?mb=300').catch(() => undefined);
      }
      const w = (await ps()).find((p) => p.type === 'web');
      return w?.instances.find((i) => /OOMKilled/.test(i.state))?.state;
    }, 90_000, 1000);
    assert.match(state, /OOMKilled/);
    assert.match((await ssh(`ps ${APP}`)).stdout, /OOMKilled/);

    // A release that allocates past it at start never becomes ready; the reason says why.
    const r = await ssh(`config:set ${APP} ALLOCATE_MB=300`);
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(lastError(r.stderr), /^ ! {5}v\d+ did not become ready: web instance \S+ is CrashLoopBackOff \(OOMKilled, exit code 137\); v\d+ is running again\.$/);
    assert.equal((await get()).body, ONE);
  });

  test('ps:stop scales to 0 keeping the formation; ps:start brings it back', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const stop = await ssh(`ps:stop ${APP}`);
    assert.equal(stop.exitCode, 0, stop.stderr);
    assert.match(stop.stdout, /Stopping all processes of .*\.\.\. done$/);
    const web = await servingWebSet(kube, NS);
    assert.equal(web?.spec?.replicas, 0);
    await eventually('the web pods to be gone', async () => (await ps())[0]?.instances.length === 0, 60_000, 500);
    assert.match((await ssh(`ps ${APP}`)).stdout, /=== web: 0\/0 ready\nstopped \(ps:start .* starts it again\)/);
    assert.notEqual((await get()).status, 200);
    const start = await ssh(`ps:start ${APP}`);
    assert.equal(start.exitCode, 0, start.stderr);
    assert.equal((await ps())[0]?.ready, 1);
    assert.equal(await waitForBody(ingress, host, (b) => b === ONE, ROUTE_MS), ONE);
  });

  test('config:set --encoded: a value with newlines and quotes reaches the app exactly; DYNO in web, run and the release phase', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const value = `first "line"\nit's the 'second' $HOME \\ =\n`;
    const r = await ssh(`config:set --encoded ${APP} MULTI=${Buffer.from(value).toString('base64')}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Running release command\n {7}release phase: v\d+ \S+ \S+ release\.1\n/, 'the release phase is release.1');
    const got = await eventually('the app to see MULTI', async () => {
      const res = await get('/env?var=MULTI');
      return res.status === 200 && res.body;
    }, ROUTE_MS, 500);
    assert.equal(got, value);
    assert.equal((await ssh(`config:get --encoded ${APP} MULTI`)).stdout, Buffer.from(value).toString('base64'));
    assert.equal(JSON.parse((await get('/env')).body).DYNO, 'web.1');
    const run = await ssh(`run ${APP} printenv DYNO`);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /^run\.\d+$/);
  });
});
