// Two nodes (the testbed's first node and slipway-node2; the testbed's default, SLIPWAY_TESTBED_NODES=2): ps:scale web=2
// places one instance on each node; nodes:drain of the second node under 50 req/s through the
// ingress fails no request and leaves both instances on the first node; nodes:uncordon takes it
// back. Tests run in order and share one app (test/fixtures/node-app).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../server/deploy/kube-client.ts';
import type { V1Node, V1Pod } from '../../server/deploy/kube-types.ts';
import { schedulablePatch } from '../../server/deploy/kube-nodes.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTwoNodes, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';
import { loadDuring, waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const APP = `two-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const BASE_DOMAIN = 'slipway.test';
const HOST = `${APP}.${BASE_DOMAIN}`;
const PUSH_MS = 10 * 60_000;
const ROLLOUT_MS = 180_000;
const TEST_MANAGER = 'slipway-test-cordon';

describe('two nodes: spread instances, drain one node under load with no failed request', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let ingress = '';
  let node2 = '';
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  /** The node of each running, ready web instance. */
  const webNodes = async () => (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'app.kubernetes.io/component=web' }))
    .filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.spec?.nodeName ?? '');

  before(async () => {
    const tb = testbedEnv([...NEEDS, 'SLIPWAY_NODE2_NAME']);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    node2 = tb.SLIPWAY_NODE2_NAME!;
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: String(ROLLOUT_MS / 1000) }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    if (node2 && (await kube.read<V1Node>('v1', 'Node', node2))?.spec?.unschedulable) await kube.apply(schedulablePatch(node2, true), TEST_MANAGER);
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('ps:scale web=2 runs one instance on each node', { timeout: PUSH_MS + ROLLOUT_MS }, async (t) => {
    if (!needTwoNodes(t, NEEDS) || !s) return;
    const nodes = (await kube.list<V1Node>('v1', 'Node', undefined)).map((n) => n.metadata!.name!);
    assert.equal(nodes.length, 2, `two nodes, got ${nodes.join(', ')}`);
    assert.ok(nodes.includes(node2));
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    await deployApp(s, APP, wd);
    const scaled = await ssh(`ps:scale ${APP} web=2`);
    assert.equal(scaled.exitCode, 0, scaled.stderr);
    await eventually('two ready web instances', async () => (await webNodes()).length === 2, ROLLOUT_MS, 500);
    assert.deepEqual((await webNodes()).sort(), [...nodes].sort(), 'one instance per node');
    await waitForBody(ingress, HOST, (b) => b.length > 0, 30_000);
  });

  test('nodes:drain of the second node under 50 req/s: no failed request, both instances on the first node; uncordon takes it back', { timeout: 2 * ROLLOUT_MS }, async (t) => {
    if (!needTwoNodes(t, NEEDS) || !s) return;
    const load = loadDuring(ingress, HOST, { ratePerSecond: 50, maxDurationMs: 3 * 60_000 });
    // A few seconds of load before and after, so a gap at either edge would show.
    await new Promise((r) => setTimeout(r, 3000));
    const drained = await ssh(`nodes:drain ${node2}`);
    assert.equal(drained.exitCode, 0, drained.stdout + drained.stderr);
    await eventually('both instances ready on the first node', async () => {
      const on = await webNodes();
      return on.length === 2 && !on.includes(node2);
    }, ROLLOUT_MS, 500);
    await new Promise((r) => setTimeout(r, 3000));
    const r = await load.stop();
    assert.ok(r.sent >= 200, `sent ${r.sent}`);
    assert.equal(r.failed, 0, `failed ${r.failed} of ${r.sent}: ${JSON.stringify(r.failures)}`);
    process.stderr.write(`two nodes: drain of ${node2} under 50 req/s: ${r.sent} requests, ${r.failed} failed, ${(r.durationMs / 1000).toFixed(1)} s\n`);
    const back = await ssh(`nodes:uncordon ${node2}`);
    assert.equal(back.exitCode, 0, back.stderr);
    assert.equal((await kube.read<V1Node>('v1', 'Node', node2))?.spec?.unschedulable ?? false, false);
  });
});
