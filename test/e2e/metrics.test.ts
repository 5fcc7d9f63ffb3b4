// CPU and memory per process on the testbed's real cluster: the metrics API is metrics-server
// (testbed/parts/66-metrics.sh, as k3s ships it). A small app (test/fixtures/node-app) is pushed,
// and GET /api/v1/apps/APP/metrics, its follow=1 stream and ps:metrics show its web pod with
// numbers once metrics-server has measured it (it scrapes every 15 s; a new pod shows up after
// one or two scrapes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, makeToken, readEvents } from '../support/api-client.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_TEST_METRICS'] as const;
const APPS = { app: `metrics-${randomBytes(3).toString('hex')}` };
const PUSH_MS = 10 * 60_000;
/** Two scrapes at metrics-server's 15 s resolution, and the pod's first stats from the kubelet. */
const MEASURED_MS = 120_000;

interface Metrics { at: string; processes: { type: string; pods: { name: string; cpuMillicores: number; memoryBytes: number }[] }[] }

describe('metrics on the testbed: the metrics API through Slipway', { timeout: PUSH_MS + 3 * MEASURED_MS }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let token: string;
  const app = APPS.app;

  before(async () => {
    const up = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_METRICS_INTERVAL_S: '1' }, { buildTimeoutMs: PUSH_MS });
    if (!up) return;
    ({ server: s, builder } = up);
    token = await makeToken(s, s.admin, 'e2e-metrics', 'read');
  });
  after(() => destroyApps(s, builder, APPS));

  test('a deployed app\'s web pod shows up with its CPU and memory, in the API, its stream and ps:metrics', { timeout: PUSH_MS + MEASURED_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    await deployApp(s, app, wd);
    const pods = JSON.parse((await s.ssh(s.admin, `ps ${app} --json`)).stdout) as { type: string; instances: { name: string }[] }[];
    const pod = pods.find((p) => p.type === 'web')!.instances[0]!.name;

    const started = Date.now();
    let last = 'nothing yet';
    const m = await eventually(() => `metrics for ${pod}; last: ${last}`, async () => {
      const r = await api(s!, 'GET', `/apps/${app}/metrics`, { token });
      last = `${r.status} ${r.text.slice(0, 300)}`;
      assert.equal(r.status, 200, r.text);
      const body = r.json as Metrics;
      return body.processes.find((p) => p.type === 'web')?.pods.some((p) => p.name === pod) ? body : undefined;
    }, MEASURED_MS, 2000);
    t.diagnostic(`metrics for the new pod after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.deepEqual(m.processes.map((p) => p.type), ['web']);
    const web = m.processes[0]!.pods.find((p) => p.name === pod)!;
    t.diagnostic(`${pod}: ${web.cpuMillicores}m CPU, ${(web.memoryBytes / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(Number.isInteger(web.cpuMillicores) && web.cpuMillicores >= 0, JSON.stringify(web));
    // A running Node process: several MiB of working set, and below the container's 256Mi limit.
    assert.ok(web.memoryBytes > 4 * 2 ** 20 && web.memoryBytes < 256 * 2 ** 20, JSON.stringify(web));
    assert.ok(Math.abs(Date.parse(m.at) - Date.now()) < 60_000);

    const stream = await readEvents(s, `/apps/${app}/metrics?follow=1`, token, (_e, all) => all.length >= 2);
    assert.equal(stream.status, 200);
    assert.deepEqual(stream.events.map((e) => e.event), ['metrics', 'metrics']);
    for (const e of stream.events) assert.ok((JSON.parse(e.data) as Metrics).processes[0]!.pods.some((p) => p.name === pod), e.data);

    const text = await s.ssh(s.admin, `ps:metrics ${app}`);
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, /^TYPE\s+POD\s+CPU\s+MEMORY\n/);
    assert.match(text.stdout, new RegExp(`^web\\s+${pod}\\s+\\d+m\\s+\\d+Mi$`, 'm'));
  });
});
