// Issue 40, part 2, on the testbed's real pieces (pack, the registry, Kubernetes with its
// kube-controller-manager and metrics-server): `ps:autoscale APP web --max 3 --cpu 50` makes a
// HorizontalPodAutoscaler of the serving set of web instances; a bounded CPU load through the
// ingress (a few requests at a time to an endpoint that burns CPU, in pods limited to 100m each)
// grows web to its max within two minutes, a config change deploys a new set that takes the
// autoscaler over at the count it had (the old set, kept warm, is outside it), and once the load
// stops web comes back to its min (the scale-down window is SLIPWAY_AUTOSCALE_SCALE_DOWN_S, 15 s
// here, instead of Kubernetes' 5 minutes); a rollback moves the autoscaler back to the warm set. Throughout, no set of web instances is asked for or
// runs more than the max, and the app's pods stay within its quota. Each change of count the
// autoscaler makes reaches the server as an event (the `Autoscaled web from 1 to 3 instances`
// line of the log drains, issue 39), through its watch of the autoscalers. Then a worker with its
// own autoscaler grows to its max when it burns its CPU (BURN set), with no web traffic. One push
// for the whole file.
//
// Outside CI a missing testbed piece skips the test, saying why; in CI it fails it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Deployment, V1Pod, V1ResourceQuota, V2HorizontalPodAutoscaler } from '../../server/kube/types.ts';
import { LABEL } from '../../server/kube/labels.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import type { InstanceEvent } from '../../server/deploy/instance-events.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_TEST_METRICS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APPS = { app: `autoscale-${randomBytes(3).toString('hex')}` } as const;
const APP = APPS.app;
const NS = `slipway-${APP}`;
const HOST = `${APP}.${BASE_DOMAIN}`;
const MAX = 3;
const PUSH_MS = 10 * 60_000;
const GROW_MS = 120_000;
const SHRINK_MS = 150_000;
/** Requests at once: each pod burns its 100m with two, so three pods are kept busy by six. */
const WORKERS = 6;

/** The web process: `/burn` keeps its CPU busy for 50 ms per request; anything else says hello (and GREETING). */
const SERVER_JS = `const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/burn')) {
    const end = Date.now() + 50;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + 1);
    res.end('burned ' + Math.round(x % 10) + '\\n');
    return;
  }
  res.end('hello from slipway' + (process.env.GREETING ? ' ' + process.env.GREETING : '') + '\\n');
});
server.listen(Number(process.env.PORT || 8080));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** The worker process: with BURN set it keeps its CPU busy (up to its 100m limit); without, it idles. */
const WORKER_JS = `if (process.env.BURN) {
  const tick = () => {
    const end = Date.now() + 50;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + 1);
    setImmediate(tick);
  };
  tick();
} else setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => process.exit(0));
`;
/** The worker's autoscaler's max. */
const WORKER_MAX = 2;

describe('autoscaling web on CPU, on a real cluster', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  const ssh = (command: string) => s!.ssh(s!.admin, command);

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240', SLIPWAY_AUTOSCALE_SCALE_DOWN_S: '15' }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(() => destroyApps(s, builder, APPS));

  test('web grows to its max under load and back after; a deploy keeps it autoscaled; max and quota hold', { timeout: PUSH_MS + GROW_MS + SHRINK_MS + 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const started = Date.now();
    // Small limits, stored before the push: three instances burn at most 0.3 of a core, and the
    // request equals the limit so a busy node still gives each its share.
    assert.equal((await ssh(`resource:limit ${APP} --process web --cpu 100m`)).exitCode, 0);
    assert.equal((await ssh(`resource:reserve ${APP} --process web --cpu 100m`)).exitCode, 0);
    for (const cmd of ['limit', 'reserve']) assert.equal((await ssh(`resource:${cmd} ${APP} --process worker --cpu 100m`)).exitCode, 0);
    const dir = fixtureCopy('node-app');
    writeFileSync(join(dir, 'server.js'), SERVER_JS);
    writeFileSync(join(dir, 'worker.js'), WORKER_JS);
    writeFileSync(join(dir, 'Procfile'), 'web: node server.js\nworker: node worker.js\n');
    await s.commitAll(dir, 'an app that burns CPU on /burn, and a worker that burns it with BURN set');
    await deployApp(s, APP, dir);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, HOST, (b) => b.startsWith('hello from slipway'), 90_000);
    t.diagnostic(`pushed and serving after ${Date.now() - started} ms`);

    // Past the quota (10 pods by default; web at 6 counts 12 with a rollout's second set; the worker runs none yet): one sentence, nothing written.
    const over = await ssh(`ps:autoscale ${APP} web --max 6 --cpu 50`);
    assert.equal(over.exitCode, 1);
    assert.match(over.stderr, new RegExp(`^ !     ${APP} at web=1\\.\\.6 worker=0 needs 12 pods \\(counting an autoscaled type at its max, .*\\), above its quota of 10 pods \\(resource:quota ${APP}\\); scale down, lower an autoscaled type's --max or lower its limits\\.$`));
    assert.equal((await ssh(`ps:autoscale ${APP} --json`)).stdout.trim(), '[]');

    const on = await ssh(`ps:autoscale ${APP} web --max ${MAX} --cpu 50`);
    assert.equal(on.exitCode, 0, on.stderr);
    assert.match(on.stdout, /Autoscaling .*\.\.\. done, web: 1 to 3 instances, aiming at CPU at 50 % of their limits\./);
    const hpa = await kube.read<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', NS);
    assert.equal(hpa?.spec?.scaleTargetRef.name, 'web-v1');
    assert.deepEqual([hpa?.spec?.minReplicas, hpa?.spec?.maxReplicas], [1, MAX]);
    assert.equal(String(hpa?.spec?.metrics?.[0]?.resource?.target.averageValue), '50m', '50 % of the 100m limit');
    assert.equal(hpa?.spec?.behavior?.scaleDown?.stabilizationWindowSeconds, 15);
    const refused = await ssh(`ps:scale ${APP} web=2`);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, new RegExp(`web is autoscaled from 1 to 3 instances; ps:autoscale ${APP} web --min N --max N changes its bounds, ps:autoscale:off ${APP} web gives its count back to ps:scale\\.`));

    // The autoscaler's changes of count as the server hears them (what its drain lines say).
    const scaled: InstanceEvent[] = [];
    const collector = s.slipway.services.deployer?.collector;
    assert.ok(collector, 'the Kubernetes deployer reports instance events');
    const unlisten = collector.instanceEvents((e) => {
      if (e.app === APP && e.kind === 'autoscaled') scaled.push(e);
    });

    // What the cluster asks for and runs, every second, for the whole test.
    const seen = { replicas: 0, pods: 0, quotaPods: 0, quotaHard: Infinity, overQuota: [] as string[] };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [sets, pods, quota] = await Promise.all([
          kube.list<V1Deployment>('apps/v1', 'Deployment', NS, { labelSelector: `${LABEL.process}=web` }),
          kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `${LABEL.process}=web` }),
          kube.read<V1ResourceQuota>('v1', 'ResourceQuota', 'slipway-quota', NS),
        ]).catch(() => [[], [], undefined] as const);
        for (const d of sets) seen.replicas = Math.max(seen.replicas, d.spec?.replicas ?? 0);
        const perSet = new Map<string, number>();
        for (const p of pods.filter((p) => !p.metadata?.deletionTimestamp)) {
          const r = p.metadata?.labels?.[LABEL.release] ?? '';
          perSet.set(r, (perSet.get(r) ?? 0) + 1);
        }
        seen.pods = Math.max(seen.pods, ...perSet.values(), 0);
        const used = Number(quota?.status?.used?.pods ?? 0);
        const hard = Number(quota?.status?.hard?.pods ?? Infinity);
        seen.quotaPods = Math.max(seen.quotaPods, used);
        seen.quotaHard = Math.min(seen.quotaHard, hard);
        if (used > hard) seen.overQuota.push(`${used} of ${hard}`);
        await sleep(1000);
      }
    })();

    try {
      // The load: WORKERS requests at a time to /burn through the ingress, each waiting for its answer.
      let loading = true;
      let answers = 0;
      const load = Promise.all(Array.from({ length: WORKERS }, async () => {
        while (loading) {
          const r = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, HOST, 10_000, '/burn').catch(() => undefined);
          if (r?.status === 200) answers++;
        }
      }));
      let warmCount: number | undefined;
      const readyAt = async (set: string, n: number) => {
        const d = await kube.read<V1Deployment>('apps/v1', 'Deployment', set, NS);
        return d?.spec?.replicas === n && d.status?.readyReplicas === n ? true : undefined;
      };
      try {
        const loadStart = Date.now();
        await eventually(() => `web-v1 to run ${MAX} ready instances under load`, () => readyAt('web-v1', MAX), GROW_MS, 1000);
        t.diagnostic(`grew from 1 to ${MAX} in ${Date.now() - loadStart} ms (${answers} answers)`);
        const ps = await ssh(`ps ${APP}`);
        assert.match(ps.stdout, /autoscaled 1 to 3: \d running, \d wanted; CPU (\d+ %|\?) \(aim 50 %\)/, ps.stdout);

        // A deploy under load: the new set starts at the count the serving one had and takes the autoscaler over.
        const deployStart = Date.now();
        const cfg = await ssh(`config:set ${APP} GREETING=again`);
        assert.equal(cfg.exitCode, 0, cfg.stderr + cfg.stdout);
        t.diagnostic(`config:set deployed v2 under load in ${Date.now() - deployStart} ms`);
        const moved = await kube.read<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', NS);
        assert.equal(moved?.spec?.scaleTargetRef.name, 'web-v2', 'the autoscaler counts the set that serves');
        const v2 = await kube.read<V1Deployment>('apps/v1', 'Deployment', 'web-v2', NS);
        assert.ok((v2?.spec?.replicas ?? 0) >= 2, `the new set started near the count under load, not at the min (${v2?.spec?.replicas})`);
        warmCount = (await kube.read<V1Deployment>('apps/v1', 'Deployment', 'web-v1', NS))?.spec?.replicas;
        assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, HOST, (b) => b.includes('again'), 30_000), 'hello from slipway again\n');
      } finally {
        loading = false;
        await load;
      }
      const stopAt = Date.now();
      assert.ok(warmCount !== undefined && warmCount >= 2, `web-v1 stays warm at its count (${warmCount})`);
      await eventually(() => 'web-v2 to come back to 1 instance after the load', () => readyAt('web-v2', 1), SHRINK_MS, 1000);
      t.diagnostic(`came back to 1 in ${Date.now() - stopAt} ms after the load stopped`);
      const warm = await kube.read<V1Deployment>('apps/v1', 'Deployment', 'web-v1', NS);
      assert.equal(warm?.spec?.replicas, warmCount, 'the warm set is outside the autoscaler: its count did not follow web-v2 down');
    } finally {
      watching = false;
      await watcher;
    }
    const counts = scaled.map((e) => e.what.match(/^from (\d+) to (\d+) instances?/)?.slice(1).map(Number));
    t.diagnostic(`the autoscaler's changes as events: ${scaled.map((e) => e.what).join('; ')}`);
    assert.ok(counts.some((c) => c && c[0]! < c[1]!), `a change up was an event: ${scaled.map((e) => e.what).join('; ')}`);
    await eventually(() => 'the change back to 1 to reach the server as an event', async () => (scaled.some((e) => /to 1 instance\b/.test(e.what)) ? true : undefined), 20_000, 500);
    unlisten();
    for (const c of counts) assert.ok(c && c[0] !== c[1] && c.every((n) => n >= 1 && n <= MAX), `each event is a change within 1..${MAX}: ${scaled.map((e) => e.what).join('; ')}`);
    assert.ok(scaled.every((e) => e.process === 'web' && /\(cpu \d+m? per instance, target 50m\)$/.test(e.what)), scaled.map((e) => e.what).join('; '));
    t.diagnostic(`most asked for of one set: ${seen.replicas}; most pods of one set: ${seen.pods}; quota pods used at most ${seen.quotaPods} of ${seen.quotaHard}`);
    assert.ok(seen.replicas <= MAX, `no set was asked for more than ${MAX} (${seen.replicas})`);
    assert.ok(seen.pods <= MAX, `no set ran more than ${MAX} pods (${seen.pods})`);
    assert.deepEqual(seen.overQuota, [], 'the quota held');

    // A rollback within the warm window only moves the traffic back to web-v1, at the count it kept,
    // and the autoscaler with it.
    const back = await ssh(`rollback ${APP}`);
    assert.equal(back.exitCode, 0, back.stderr + back.stdout);
    assert.equal((await kube.read<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', NS))?.spec?.scaleTargetRef.name, 'web-v1', 'a rollback moves the autoscaler back');
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, HOST, (b) => b.startsWith('hello'), 30_000), 'hello from slipway\n');

    // Off: the count is ps:scale's again, the autoscaler goes.
    const off = await ssh(`ps:autoscale:off ${APP} web`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.match(off.stdout, /web stays at [1-3] \(ps:scale/);
    assert.equal(await kube.read('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', NS), undefined);
    t.diagnostic(`the whole test took ${Date.now() - started} ms`);
  });

  test('a worker grows to its max on its own CPU use: an autoscaler of the worker Deployment, with no web traffic', { timeout: GROW_MS + 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // web back at 1 (it stayed at the count its autoscaler left): the quota's memory holds web's
    // rollout and the worker at its max.
    const web = await ssh(`ps:scale ${APP} web=1`);
    assert.equal(web.exitCode, 0, web.stderr);
    const on = await ssh(`ps:autoscale ${APP} worker --max ${WORKER_MAX} --cpu 50`);
    assert.equal(on.exitCode, 0, on.stderr);
    assert.match(on.stdout, new RegExp(`worker: 1 to ${WORKER_MAX} instances, aiming at CPU at 50 % of their limits\\.`));
    const hpa = await kube.read<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', 'worker', NS);
    const target = hpa?.spec?.scaleTargetRef.name;
    assert.ok(target && await kube.read<V1Deployment>('apps/v1', 'Deployment', target, NS), `the autoscaler counts the worker's Deployment (${target})`);
    assert.deepEqual([hpa?.spec?.minReplicas, hpa?.spec?.maxReplicas], [1, WORKER_MAX]);
    // The worker ran none (a type other than web starts at 0, as on Heroku): its autoscaler's min starts one.
    const ready = (n: number) => async () => {
      const d = await kube.read<V1Deployment>('apps/v1', 'Deployment', target!, NS);
      return d?.spec?.replicas === n && d.status?.readyReplicas === n ? true : undefined;
    };
    await eventually(() => `${target} to run its min of 1 instance`, ready(1), 90_000, 1000);
    // BURN set: the worker's one instance uses its whole 100m, twice the 50m aimed at.
    const burn = await ssh(`config:set ${APP} BURN=1`);
    assert.equal(burn.exitCode, 0, burn.stderr + burn.stdout);
    const burnStart = Date.now();
    await eventually(() => `${target} to run ${WORKER_MAX} ready instances while it burns`, ready(WORKER_MAX), GROW_MS, 1000);
    t.diagnostic(`the worker grew from 1 to ${WORKER_MAX} in ${Date.now() - burnStart} ms`);
    // web's autoscaler is off since the test before: the one autoscaled line is the worker's.
    assert.match((await ssh(`ps ${APP}`)).stdout, new RegExp(`=== worker[^]*autoscaled 1 to ${WORKER_MAX}: \\d running`));
    const off = await ssh(`ps:autoscale:off ${APP} worker`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.equal(await kube.read('autoscaling/v2', 'HorizontalPodAutoscaler', 'worker', NS), undefined);
  });
});
