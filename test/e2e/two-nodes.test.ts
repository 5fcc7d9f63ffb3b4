// e2e: alone (drains and labels the second node, where other files' pods run, and asserts placement and zero failed requests under load)
// Two nodes (the testbed's first node and slipway-node2; the testbed's default, SLIPWAY_TESTBED_NODES=2): ps:scale web=2
// places one instance on each node; nodes:drain of the second node under 50 req/s through the
// ingress fails no request and leaves both instances on the first node; nodes:uncordon takes it
// back; with the second node labelled slipway.dev/builds=true, cluster builds run their pods there
// and the app they deploy runs on the first node. Tests run in order and share one app
// (test/fixtures/node-app).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterBuilder, clusterBuildSettings } from '../../server/cluster-build/builder.ts';
import { BUILD_NAMESPACE, ownedSelector } from '../../server/cluster-build/pod.ts';
import { loadConfig } from '../../server/config.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { kubeDeployer } from '../../server/backends.ts';
import { BUILDS_NODE_LABEL } from '../../server/kube/labels.ts';
import type { V1Node, V1Pod } from '../../server/kube/types.ts';
import { schedulablePatch } from '../../server/deploy/kube-nodes.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { deployApp, startOnTestbed } from '../support/on-testbed.ts';
import { clusterEnv, fixtureCopy, needTwoNodes, registryAuthEnv, testbedEnv } from '../support/testbed.ts';
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
/** The field manager this test labels the build node with, as an admin's kubectl would. */
const LABEL_MANAGER = 'slipway-test-build-node';
const BUILT = `two-b-${randomBytes(3).toString('hex')}`;

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
    if (node2) await kube.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: node2 } }, LABEL_MANAGER);
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

  test('with slipway-node2 labelled slipway.dev/builds=true, a cluster build runs its pod there and the app it deploys runs on the other node', { timeout: PUSH_MS + ROLLOUT_MS }, async (t) => {
    const tb = needTwoNodes(t, [...NEEDS, 'SLIPWAY_BUILD_REGISTRY']);
    if (!tb || !s) return;
    await kube.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: node2, labels: { [BUILDS_NODE_LABEL]: 'true' } } }, LABEL_MANAGER);
    const env = {
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, KUBECONFIG: tb.KUBECONFIG!, ...registryAuthEnv(),
      
      ...clusterEnv(),
      SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: String(ROLLOUT_MS / 1000),
      SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_BUILD_CPU: '500m', SLIPWAY_BUILD_TIMEOUT_S: String(PUSH_MS / 1000),
      DOCKER_HOST: 'unix:///nonexistent/docker.sock', SLIPWAY_PACK: '/nonexistent/pack',
    };
    const config = loadConfig({ ...env, SLIPWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'slipway-two-owner-')) });
    const builder = new ClusterBuilder(kube, clusterBuildSettings(config));
    const cs = await startTestServer(env, { builder, deployer: kubeDeployer(config) });
    try {
      assert.equal((await cs.ssh(cs.admin, `apps:create ${BUILT}`)).exitCode, 0);
      const wd = fixtureCopy('node-app');
      await cs.commitAll(wd, 'built on the build node');
      // Every build pod of this server's, spare or building, as it is scheduled.
      const placed = new Map<string, string>();
      let pushing = true;
      const watch = (async () => {
        while (pushing) {
          for (const p of await kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(builder.settings.owner) })) {
            if (p.spec?.nodeName) placed.set(p.metadata!.name!, p.spec.nodeName);
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      try {
        await deployApp(cs, BUILT, wd);
      } finally {
        pushing = false;
        await watch;
      }
      assert.ok(placed.size >= 1, 'a build pod was seen');
      assert.deepEqual([...new Set(placed.values())], [node2], `build pods ran on ${node2} only: ${JSON.stringify([...placed])}`);
      const web = await kube.list<V1Pod>('v1', 'Pod', `slipway-${BUILT}`, { labelSelector: 'app.kubernetes.io/component=web' });
      assert.ok(web.length >= 1);
      for (const p of web) assert.notEqual(p.spec?.nodeName, node2, 'the app prefers a node that is not the build node');
      await waitForBody(ingress, `${BUILT}.${BASE_DOMAIN}`, (b) => b.length > 0, 30_000);
    } finally {
      await cs.ssh(cs.admin, `apps:destroy ${BUILT} --confirm ${BUILT}`);
      await builder.purgeCache(BUILT);
      await cs.close();
      await kube.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: node2 } }, LABEL_MANAGER);
    }
  });
});
