// Issue 36: reads come from a watch-fed cache of the cluster. A real Slipway on the testbed talks
// to the Kubernetes API through a counting proxy (test/support/kube-proxy.ts): a hundred reads of
// the apps list and of `ps` send no request to the API, and the apps list shows a scale and a pod
// crash within 2 s of the API server knowing them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { LABEL } from '../../server/kube/labels.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { run } from '../../server/exec.ts';
import type { V1Deployment, V1Pod } from '../../server/kube/types.ts';
import type { TestServer } from '../support/harness.ts';
import { uniqueAppName } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { deployApp, destroyApps, startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';
import { startKubeProxy, type KubeProxy } from '../support/kube-proxy.ts';
import type { PackBuilder } from '../../server/build/pack.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const APPS = { app: uniqueAppName('cache') };
const APP = APPS.app;
const NS = `slipway-${APP}`;
/** How far behind the API server the apps list may be (the goal). */
const BEHIND_MS = 2000;

interface Summary { name: string; processes: { running: number; desired: number } }

describe('reads from the watch cache', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let proxy: KubeProxy | undefined;
  let kube: KubeClient;
  let token = '';

  const summary = async (): Promise<Summary> => {
    const r = await api(s!, 'GET', '/apps', { token });
    assert.equal(r.status, 200, r.text);
    const mine = (r.json as Summary[]).find((a) => a.name === APP);
    assert.ok(mine, `${APP} is listed`);
    return mine;
  };
  /** Polls the API server (directly) and Slipway's apps list until both show `running`; the lag between them. */
  const lagUntil = async (running: number, what: string): Promise<number> => {
    let direct: number | undefined;
    let listed: number | undefined;
    const t0 = performance.now();
    while (performance.now() - t0 < 120_000 && listed === undefined) {
      if (direct === undefined) {
        const ds = await kube.list<V1Deployment>('apps/v1', 'Deployment', NS);
        const ready = ds.filter((d) => d.metadata?.labels?.[LABEL.warm] !== 'true').reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0);
        if (ready === running) direct = performance.now();
      }
      if ((await summary()).processes.running === running) listed = performance.now();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(listed !== undefined, `the apps list shows ${running} running after ${what}`);
    return direct === undefined ? 0 : listed - direct;
  };

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    // The server under test reaches the API through the counting proxy; the test itself directly.
    proxy = await startKubeProxy(tb.KUBECONFIG!, join(tmpdir(), `${APP}.kubeconfig`));
    const started = await startOnTestbed({ ...tb, KUBECONFIG: proxy.kubeconfig }, { SLIPWAY_BASE_DOMAIN: 'cache.test' }, { buildTimeoutMs: 10 * 60_000 });
    s = started.server;
    builder = started.builder;
    assert.equal((await s.ssh(s.admin, `apps:create ${APP}`)).exitCode, 0);
    token = await makeToken(s, s.admin, 'e2e-cache', 'admin');
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'cache');
    await deployApp(s, APP, wd);
  });

  test('the local CLI reads through the cache too, and exits when its command is done', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const tb = testbedEnv(NEEDS)!;
    // On the server's data dir, as an admin on the VM runs it; its reads start watches of their own.
    const r = await run(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'slipway.ts'), 'ps', APP], {
      env: { ...process.env, ...tb, SLIPWAY_DATA_DIR: s!.slipway.services.config.dataDir, SLIPWAY_BASE_DOMAIN: 'cache.test' },
      timeoutMs: 60_000,
    });
    assert.equal(r.stopped, undefined, `slipway ps did not exit by itself: ${r.stderr}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /web/);
  });

  after(async () => {
    await destroyApps(s, builder, APPS);
    await proxy?.close();
  });

  test('a hundred reads of the apps list and ps send no request to the Kubernetes API', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    // The first read fills the caches (one list and one watch per kind).
    await eventually('the app to run', async () => (await summary()).processes.running === 1, 60_000);
    const before = proxy!.nonWatch();
    for (let i = 0; i < 50; i++) {
      await summary();
      const ps = await api(s!, 'GET', `/apps/${APP}/processes`, { token });
      assert.equal(ps.status, 200, ps.text);
    }
    const sent = proxy!.nonWatch() - before;
    const kinds = [...proxy!.counts()].map(([k, n]) => `${k}: ${n}`).join(', ');
    // Background rounds (TLS sync, garbage collection) may ask now and then; reads never do.
    assert.ok(sent <= 3, `100 reads sent ${sent} requests to the API (all so far: ${kinds})`);
    assert.ok([...proxy!.counts().keys()].some((k) => k === 'WATCH deployments'), `the deployments are watched (${kinds})`);
  });

  test('the apps list shows a scale at once and a pod crash within 2 s of the API server', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const scaled = await s!.ssh(s!.admin, `ps:scale ${APP} web=2`);
    assert.equal(scaled.exitCode, 0, scaled.stderr);
    assert.equal((await summary()).processes.desired, 2, 'the same client sees its own scale at once');
    const upLag = await lagUntil(2, 'the scale');
    assert.ok(upLag <= BEHIND_MS, `the apps list showed the second instance ${upLag.toFixed(0)} ms after the API server`);
    // A crash: the web process ends (SIGTERM to the container's first process); its container
    // restarts, and until it is ready again the app has one instance running.
    const pods = (await kube.list<V1Pod>('v1', 'Pod', NS)).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
    const victim = pods[0]!;
    const downLag = lagUntil(1, 'the crash');
    // The container's first process, and whatever it runs (a shell that waits for node ends with it).
    let said = '';
    const code = await kube.exec(NS, victim.metadata!.name!, victim.spec!.containers[0]!.name, ['sh', '-c', 'kill -TERM 1; kill -TERM -1'], {
      stdin: Readable.from([]), stdout: async (b) => { said += b.toString(); }, stderr: async (b) => { said += b.toString(); },
    }, AbortSignal.timeout(30_000)).catch((err: unknown) => `exec failed: ${String(err)}`);
    process.stderr.write(`watch cache: killed the web process of ${victim.metadata!.name!}: ${String(code)} ${said.trim()}\n`);
    const lag = await downLag;
    assert.ok(lag <= BEHIND_MS, `the apps list showed the crash ${lag.toFixed(0)} ms after the API server`);
    const back = await lagUntil(2, 'the restart');
    process.stderr.write(`watch cache: the apps list behind the API server by ${upLag.toFixed(0)} ms (scale), ${lag.toFixed(0)} ms (crash), ${back.toFixed(0)} ms (restart)\n`);
    assert.ok(back <= BEHIND_MS, `the apps list showed the restarted instance ${back.toFixed(0)} ms after the API server`);
  });
});
