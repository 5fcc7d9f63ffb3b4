// The whole path a user takes, on the testbed's real pieces: `git push` over SSH (and HTTP) to an
// in-process Slipway, a real pack build with the offline builder into the testbed registry, the
// real Kubernetes deployer against the testbed control plane, pods run by the testbed node
// (kubelet + containerd), and the app answering through the ingress (Traefik, as k3s runs it) at
// `Host: APP.BASE_DOMAIN`. What is asserted is what a user sees: exit codes, `remote:` lines,
// command output and HTTP bodies. Waits are bounded polls, never timed assertions.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, loadDuring, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APP = `web-${suffix}`;
const PROCS = `procs-${suffix}`;
const HELLO = 'hello from slipway';
/** Long enough for a cold build (Node from the npm registry) and a first image pull on a busy machine. */
const PUSH_MS = 10 * 60_000;
/** How long the ingress may take to route to a release that was reported deployed. */
const ROUTE_MS = 30_000;

interface PsEntry { type: string; desired: number; ready: number; instances: { name: string; state: string; ready: boolean }[]; warm?: { release: number; until: string } }

describe('push to a URL: pack build, Kubernetes rollout, ingress', { timeout: 45 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let ingress: string;
  let wd: string;
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const body = async (app: string) => (await httpThroughIngress(ingress, host(app))).body;
  const ps = async (app: string): Promise<PsEntry[]> => {
    const r = await ssh(`ps ${app} --json`);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as PsEntry[];
  };
  const buildCount = async (app: string) => (JSON.parse((await ssh(`builds ${app} --json`)).stdout) as unknown[]).length;

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }));
    for (const app of [APP, PROCS]) assert.equal((await ssh(`apps:create ${app}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await Promise.all([APP, PROCS].map((app) => ssh(`apps:destroy ${app} --confirm ${app}`)));
    await s.close();
  });

  test('git push over SSH builds, deploys and the app answers at APP.BASE_DOMAIN through the ingress', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('node-app');
    const sha = await s.commitAll(wd, 'node app');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes(`-----> Building ${APP} (${sha.slice(0, 7)}) with ${tb!.SLIPWAY_BUILDER}`), lines.join('\n'));
    assert.ok(lines.includes('       web: 1/1 ready'), lines.join('\n'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.ok(at >= 0, lines.join('\n'));
    assert.equal(lines[at + 1], `       http://${host(APP)}`);
    assert.equal(await waitForBody(ingress, host(APP), (b) => b === `${HELLO}\n`, ROUTE_MS), `${HELLO}\n`);
    // Another host is not this app: the ingress routes by Host header.
    assert.equal((await httpThroughIngress(ingress, `nothing-${suffix}.${BASE_DOMAIN}`)).status, 404);
  });

  test('config:set changes what the app answers; rollback brings the old answer back without a build', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const builds = await buildCount(APP);
    const set = await ssh(`config:set ${APP} GREETING=bonjour`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /Setting GREETING for .*\.\.\. done/);
    assert.equal(await waitForBody(ingress, host(APP), (b) => b.includes('bonjour'), ROUTE_MS), `${HELLO} bonjour\n`);

    const back = await ssh(`rollback ${APP}`);
    assert.equal(back.exitCode, 0, back.stderr);
    assert.match(back.stdout, /Rolling back .* to v1\.\.\. done, v3/);
    assert.equal(await waitForBody(ingress, host(APP), (b) => !b.includes('bonjour'), ROUTE_MS), `${HELLO}\n`);
    assert.equal(await buildCount(APP), builds, 'a rollback builds nothing');
    assert.equal((await ssh(`config:get ${APP} GREETING`)).exitCode, 1, 'the rolled-back release runs without GREETING');
  });

  test('ps:scale web=2 runs two ready instances', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`ps:scale ${APP} web=2`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /now running web at 2/);
    const web = (await ps(APP)).find((p) => p.type === 'web')!;
    assert.equal(web.ready, 2, JSON.stringify(web));
    assert.equal(web.instances.filter((i) => i.ready && i.state === 'Running').length, 2, JSON.stringify(web));
    assert.match((await ssh(`ps ${APP}`)).stdout, /=== web: 2\/2 ready/);
    assert.equal(await body(APP), `${HELLO}\n`);
  });

  test('a Procfile worker runs when scaled; dropping it from the Procfile prunes it on the next push', { timeout: 2 * PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('node-app-procfile');
    await s.commitAll(dir, 'web and worker');
    const first = await s.git(['push', s.sshRemote(PROCS), 'main'], { cwd: dir });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.ok(remoteLines(first.stderr).includes('       Applied v1: web=1, worker=0'), first.stderr);
    assert.equal(await waitForBody(ingress, host(PROCS), (b) => b === `${HELLO}\n`, ROUTE_MS), `${HELLO}\n`);

    const scale = await ssh(`ps:scale ${PROCS} worker=1`);
    assert.equal(scale.exitCode, 0, scale.stderr);
    const worker = (await ps(PROCS)).find((p) => p.type === 'worker')!;
    assert.equal(worker.ready, 1, JSON.stringify(worker));
    const logs = await eventually('the worker to log', async () => {
      const l = await ssh(`logs ${PROCS} -p worker -n 20`);
      return l.exitCode === 0 && l.stdout.includes('worker started') && l.stdout;
    }, 60_000, 500);
    assert.match(logs, /worker started/);

    writeFileSync(join(dir, 'Procfile'), 'web: node server.js\n');
    await s.commitAll(dir, 'no worker');
    const second = await s.git(['push', s.sshRemote(PROCS), 'main'], { cwd: dir });
    assert.equal(second.exitCode, 0, second.stderr);
    assert.ok(remoteLines(second.stderr).includes('       Applied v2: web=1'), second.stderr);
    // v1's web instances stay warm beside v2's for an instant rollback; the worker is gone.
    assert.deepEqual((await ps(PROCS)).map((p) => [p.type, p.warm?.release ?? null]), [['web', null], ['web', 1]]);
    const gone = await ssh(`logs ${PROCS} -p worker -n 5`);
    assert.equal(gone.exitCode, 1);
    assert.equal(gone.stderr, ' !     There is no "worker" process type; this app has web.');
    const kube = new KubeClient(tb!.KUBECONFIG!);
    await eventually('the worker pod to be gone', async () =>
      (await kube.list<V1Pod>('v1', 'Pod', `slipway-${PROCS}`, { labelSelector: 'app.kubernetes.io/component=worker' })).length === 0, 60_000, 500);
    assert.equal(await body(PROCS), `${HELLO}\n`);
  });

  test('a release that crashes at start is rejected with the reason; the previous one keeps answering', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const server = join(wd, 'server.js');
    const good = readFileSync(server, 'utf8');
    // What a misconfigured app does: say why on stderr and exit.
    writeFileSync(server, "console.error('boom at start: DATABASE_URL is not set');\nprocess.exit(1);\n" + good);
    await s.commitAll(wd, 'crash at start');
    try {
      const load = loadDuring(ingress, host(APP), { ratePerSecond: 20 });
      const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
      const seen = await load.stop();
      const lines = remoteLines(r.stderr);
      assert.notEqual(r.exitCode, 0, r.stderr);
      assert.ok(lines.some((l) => l.startsWith('       Last log lines of web-')), lines.join('\n'));
      assert.ok(lines.some((l) => l.trim() === 'boom at start: DATABASE_URL is not set'), lines.join('\n'));
      const last = lines.filter((l) => l.startsWith(' !     ')).at(-1) ?? '';
      assert.match(last, /^ ! {5}v4 did not become ready: web instance \S+ is CrashLoopBackOff \(exit code 1\); v3 is running again\.$/);
      assert.ok(seen.sent > 0);
      assert.deepEqual({ failed: seen.failed, failures: seen.failures, bodies: [...seen.bodies] }, { failed: 0, failures: {}, bodies: [`${HELLO}\n`] },
        'the old release answered every request during the failed push');
      assert.equal(await body(APP), `${HELLO}\n`);
      const web = (await ps(APP)).find((p) => p.type === 'web')!;
      assert.equal(web.ready, 2, JSON.stringify(web));
    } finally {
      // Back to the working code for the next test.
      writeFileSync(server, good);
      await s.commitAll(wd, 'fixed');
    }
  });

  test('the same push over HTTP with an access token', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const created = await ssh('tokens:create e2e-deploy');
    assert.equal(created.exitCode, 0, created.stderr);
    const token = created.stdout.trim().split('\n').at(-1)!;
    assert.match(token, /^slw_/);
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('`hello from slipway', '`hello over http from slipway'));
    await s.commitAll(wd, 'new greeting');
    const r = await s.git(['push', s.httpRemote(APP, token), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes('       web: 2/2 ready'), lines.join('\n'));
    assert.equal(lines[lines.indexOf('=====> Application deployed:') + 1], `       http://${host(APP)}`);
    assert.equal(await waitForBody(ingress, host(APP), (b) => b.includes('over http'), ROUTE_MS), 'hello over http from slipway\n');
  });
});
