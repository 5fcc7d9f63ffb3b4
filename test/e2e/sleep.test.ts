// Apps that sleep at zero, on the testbed (issue 40): the Node fixture, pushed once, with
// `ps:sleep --after 3` sleeps once Traefik's metrics count no request to it for 3 s: its web set
// has no pod, and its Service points at the waker. The first request through the ingress is held,
// not failed, and answered 200 by the woken instance; the wake is recorded (ps:sleep --json) and ps
// says asleep/awake. Sleep and wake go round a few times to measure wake-from-zero to the first
// answer (the issue's goal: p50 ≤ 3 s). A host of no sleeping app is a 404 at the waker, and
// `ps:sleep --after 0` wakes and keeps it awake. A preview sleeps by default
// (SLIPWAY_PREVIEW_SLEEP_AFTER, 3 s here) and wakes on its first request.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import type { TestServer } from '../support/harness.ts';
import { fixtureCopy, hostAddress, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { previewAppName } from '../../server/names.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_INGRESS_API'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { web: `sleepy-${suffix}` } as const;
const NS = `slipway-${APPS.web}`;
/** The preview of the branch `pv` (the last test). */
const PREVIEW = previewAppName(APPS.web, 'pv');
const PUSH_MS = 10 * 60_000;
/** Wakes measured (the first is the e2e's own check, the rest the bench's runs). */
const RUNS = 3;
/**
 * How long a held request may wait for its wake (SLIPWAY_WAKER_HOLD_S), and the client for its
 * answer: far above a wake's second or so, for a machine busy with the other files (a wake beside
 * the install file once took over 60 s). The bench's figures are the wake times measured.
 */
const HOLD_S = 180;
const WAKE_WAIT_MS = (HOLD_S + 20) * 1000;

/** The nearest-rank percentile of `xs`. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

describe('apps that sleep at zero on the testbed: idle by the ingress metrics, woken by a held request', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  const host = `${APPS.web}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const webPods = async () => (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'app.kubernetes.io/component=web' })).length;
  const state = async () => JSON.parse((await ssh(`ps:sleep ${APPS.web} --json`)).stdout) as { seconds: number; asleepSince: string | null; wakes: { trigger: string; readyMs: number | null; error: string | null }[] };
  /** Waits until the app sleeps with no web pod left; returns how long that took. */
  const asleep = async (): Promise<number> => {
    const t0 = Date.now();
    const round = () => s!.slipway.services.rounds?.list().find((r) => r.name === 'sleep');
    await eventually(() => `${APPS.web} to sleep with no web pod (the sleep round: ${round()?.runs} runs, last error ${round()?.lastError})`, async () => (await state()).asleepSince !== null && (await webPods()) === 0, 90_000, 250);
    return Date.now() - t0;
  };
  let deployedAt = 0;
  let dir = '';
  /**
   * The first request to a sleeping host through the ingress, held while it wakes; when it gets no
   * answer, the error says what the cluster and the server saw (the wakes recorded, the web pods
   * and the namespace's newest events), for a failure under load to be read afterwards.
   */
  const wakeRequest = async (h: string, ns: string, app: string) => {
    try {
      return await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, h, WAKE_WAIT_MS);
    } catch (err) {
      const pods = (await kube.list<V1Pod>('v1', 'Pod', ns, { labelSelector: 'app.kubernetes.io/component=web' })).map((p) => `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.conditions?.map((c) => `${c.type}=${c.status}`))} ${JSON.stringify(p.status?.containerStatuses?.map((c) => c.state))}`);
      const events = (await kube.list<{ lastTimestamp?: string; reason?: string; message?: string; involvedObject?: { name?: string } }>('v1', 'Event', ns)).slice(-15).map((e) => `${e.lastTimestamp} ${e.involvedObject?.name} ${e.reason}: ${e.message}`);
      const wakes = (await ssh(`ps:sleep ${app} --json`)).stdout;
      throw new Error(`${(err as Error).message}; wakes: ${wakes}; web pods: ${pods.join(' | ') || 'none'}; events: ${events.join(' | ')}`, { cause: err });
    }
  };

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, {
      SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_WAKER_ADDRESS: hostAddress(), SLIPWAY_WAKER_PORT: '0', SLIPWAY_SLEEP_ROUND_S: '1', SLIPWAY_WAKER_HOLD_S: String(HOLD_S),
      // Previews sleep by default; here after 3 s (the app itself never sleeps unless told).
      SLIPWAY_PREVIEW_SLEEP_AFTER: '3',
    }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(async () => {
    // The parent's destroy destroys its preview first; the preview's build cache goes here.
    await destroyApps(s, builder, APPS);
    await builder?.purgeCache(PREVIEW);
  });

  test('an idle app sleeps at zero pods, its first request is held and answered 200, and the wake is recorded', { timeout: PUSH_MS + 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    dir = fixtureCopy('node-app');
    await s.commitAll(dir, 'node app');
    await deployApp(s, APPS.web, dir);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('hello from slipway'), 60_000);
    deployedAt = Date.now();

    const set = await ssh(`ps:sleep ${APPS.web} --after 3`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /it now sleeps after 3s without a request \(set by ps:sleep\)\./);
    // Bad input: one sentence, nothing written.
    const bad = await ssh(`ps:sleep ${APPS.web} --after soon`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"soon" is not an idle time/);
    assert.equal((await state()).seconds, 3);

    t.diagnostic(`asleep ${await asleep()} ms after ps:sleep --after 3`);
    const ps = await ssh(`ps ${APPS.web}`);
    assert.match(ps.stdout, /web: asleep since \d\d:\d\d:\d\d UTC \(its next request wakes it/);

    const t0 = performance.now();
    const r = await wakeRequest(host, NS, APPS.web);
    const ms = performance.now() - t0;
    assert.deepEqual([r.status, r.body], [200, 'hello from slipway\n'], 'the held request is answered by the woken app');
    t.diagnostic(`wake from zero to the first answer: ${Math.round(ms)} ms`);
    const after1 = await state();
    assert.equal(after1.asleepSince, null);
    assert.equal(after1.wakes[0]?.trigger, 'request');
    assert.ok(after1.wakes[0]?.readyMs !== null && after1.wakes[0]!.readyMs! > 0 && after1.wakes[0]!.readyMs! <= ms, JSON.stringify(after1.wakes[0]));
    assert.ok(await webPods() >= 1);
    // Once awake the ingress goes straight to the instance again (the waker's slice is gone).
    assert.equal((await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host, 5000)).status, 200);
    t.diagnostic(`push to first sleep and wake: ${Date.now() - deployedAt} ms`);
  });

  test(`wake from zero to the first answer, ${RUNS - 1} more runs (the bench's figures)`, { timeout: 10 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !deployedAt) return;
    const wakes: number[] = [];
    for (let i = 1; i < RUNS; i++) {
      await asleep();
      const t0 = performance.now();
      const r = await wakeRequest(host, NS, APPS.web);
      wakes.push(performance.now() - t0);
      assert.equal(r.status, 200, r.body);
    }
    const recorded = (await state()).wakes.filter((w) => w.trigger === 'request').map((w) => w.readyMs!);
    t.diagnostic(`wake to first answer (ms): ${wakes.map(Math.round).join(', ')}; p50 ${Math.round(percentile(wakes, 50))}; recorded ready (ms): ${recorded.join(', ')}`);
    assert.equal(recorded.length, RUNS);
  });

  test('the waker answers no other host, and ps:sleep --after 0 wakes the app and keeps it awake', { timeout: 3 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !deployedAt) return;
    await asleep();
    const cfg = s.slipway.services.config;
    const other = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: cfg.wakerAddress, port: cfg.wakerPort, path: '/', headers: { host: `not-an-app.${BASE_DOMAIN}` }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(other.status, 404);
    assert.match(other.body, /No sleeping app answers at "not-an-app\.slipway\.test"\./);
    const off = await ssh(`ps:sleep ${APPS.web} --after 0`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.match(off.stdout, /it now sleeps never \(set by ps:sleep\); woke it\./);
    assert.equal((await state()).wakes[0]?.trigger, 'ps:wake');
    assert.equal((await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host, 5000)).status, 200);
    // Three rounds later it still runs.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await state()).asleepSince, null);
    assert.ok(await webPods() >= 1);
  });

  test('a preview sleeps by default (SLIPWAY_PREVIEW_SLEEP_AFTER) with no ps:sleep of its own, and its first request wakes it', { timeout: PUSH_MS + 3 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !deployedAt) return;
    assert.equal((await ssh(`previews:enable ${APPS.web}`)).exitCode, 0);
    const pushed = await s.git(['push', s.sshRemote(APPS.web), 'HEAD:refs/heads/pv'], { cwd: dir });
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    const previewHost = `${PREVIEW}.${BASE_DOMAIN}`;
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, previewHost, (b) => b.startsWith('hello from slipway'), 60_000);
    const previewState = async () => JSON.parse((await ssh(`ps:sleep ${PREVIEW} --json`)).stdout) as { seconds: number; asleepSince: string | null; wakes: { trigger: string }[] };
    assert.equal((await previewState()).seconds, 3, "the previews' default");
    const previewPods = async () => (await kube.list<V1Pod>('v1', 'Pod', `slipway-${PREVIEW}`, { labelSelector: 'app.kubernetes.io/component=web' })).length;
    const t0 = Date.now();
    await eventually(() => `the preview ${PREVIEW} to sleep with no web pod`, async () => (await previewState()).asleepSince !== null && (await previewPods()) === 0, 90_000, 250);
    t.diagnostic(`the preview slept ${Date.now() - t0} ms after it first answered`);
    const r = await wakeRequest(previewHost, `slipway-${PREVIEW}`, PREVIEW);
    assert.deepEqual([r.status, r.body], [200, 'hello from slipway\n'], "the held request is answered by the woken preview");
    assert.equal((await previewState()).wakes[0]?.trigger, 'request');
    // The parent, with no ps:sleep of its own, runs on.
    assert.ok(await webPods() >= 1);
  });
});
