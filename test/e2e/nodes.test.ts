// e2e: alone (cordons both nodes in turn and asserts the whole cluster's state: no build pods, every node schedulable)
// The cluster's nodes on the testbed's real pieces (pack, registry, its Kubernetes nodes: the host's
// and, by default, slipway-node2): nodes lists each node Ready with what it can hold; ps:scale web=2
// gives web a PodDisruptionBudget and both instances run spread by preference; back to one instance
// the budget goes; draining the only schedulable node (the second one cordoned by the test) is
// refused without --force and changes nothing; nodes:uncordon lets pods back onto a cordoned node.
// Tests run in order and share one app (test/fixtures/node-app).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Deployment, V1Node, V1PodDisruptionBudget, V1Service } from '../../server/kube/types.ts';
import { schedulablePatch } from '../../server/deploy/kube-nodes.ts';
import type { NodeSummary } from '../../server/deploy/nodes.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG'] as const;
const APP = `nodes-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;
const ROLLOUT_MS = 120_000;
/** The field manager this test cordons with (as an admin's kubectl would), apart from Slipway's. */
const TEST_MANAGER = 'slipway-test-cordon';

interface PsEntry { type: string; desired: number; ready: number; instances: { name: string; ready: boolean }[] }

describe('nodes: listing, budgets and spreading of scaled types, drain refusal, uncordon', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let node = '';
  /** The other node, when the testbed has two (SLIPWAY_NODE2_NAME). */
  let other = '';
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const budget = () => kube.read<V1PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget', 'web', NS);
  const unschedulable = async (name = node) => Boolean((await kube.read<V1Node>('v1', 'Node', name))?.spec?.unschedulable);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    other = process.env.SLIPWAY_NODE2_NAME ?? '';
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_ROLLOUT_TIMEOUT_S: String(ROLLOUT_MS / 1000) }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    // Never leave a testbed node cordoned, whatever failed.
    for (const n of [node, other]) if (n && await unschedulable(n)) await kube.apply(schedulablePatch(n, true), TEST_MANAGER);
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('nodes lists each node Ready, schedulable, with its allocatable CPU and memory, and the app pod on one of them', { timeout: PUSH_MS + ROLLOUT_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    await deployApp(s, APP, wd);
    const names = (await kube.list<V1Node>('v1', 'Node', undefined)).map((n) => n.metadata!.name!).sort();
    assert.equal(names.length, other ? 2 : 1, `the testbed has ${other ? 'two nodes' : 'one node'}, got ${names.join(', ')}`);
    node = names.find((n) => n !== other)!;

    const json = await ssh('nodes --json');
    assert.equal(json.exitCode, 0, json.stderr);
    const all = JSON.parse(json.stdout) as NodeSummary[];
    assert.deepEqual(all.map((n) => n.name).sort(), names);
    for (const listed of all) {
      assert.equal(listed.ready, true, `${listed.name} Ready`);
      assert.equal(listed.schedulable, true);
      assert.equal(listed.builds, false);
      assert.ok(listed.allocatable.cpuMillicores >= 1000, `allocatable CPU ${listed.allocatable.cpuMillicores}m`);
      assert.ok(listed.allocatable.memoryBytes >= 512 * 2 ** 20, `allocatable memory ${listed.allocatable.memoryBytes}`);
      assert.equal(listed.buildPods, 0);
    }
    // The app's one web instance, on one of the nodes, requests the namespace's defaults (50m,
    // 128Mi): counted in what that node has requested.
    const withApp = all.filter((n) => n.appPods >= 1);
    assert.ok(withApp.length >= 1, `app pods ${all.map((n) => `${n.name}: ${n.appPods}`).join(', ')}`);
    for (const listed of withApp) {
      assert.ok(listed.requested.cpuMillicores >= 50 && listed.requested.cpuMillicores <= listed.allocatable.cpuMillicores, `requested ${listed.requested.cpuMillicores}m`);
      assert.ok(listed.requested.memoryBytes >= 128 * 2 ** 20);
    }

    const text = await ssh('nodes');
    assert.equal(text.exitCode, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/ {2,}/), ['NAME', 'ROLES', 'STATUS', 'CPU REQUESTED', 'MEMORY REQUESTED', 'APP PODS', 'BUILD PODS']);
    assert.equal(lines.length, 1 + all.length);
    for (const listed of all) {
      const line = lines.find((l) => l.startsWith(`${listed.name} `));
      assert.match(line ?? '', new RegExp(`^${listed.name.replaceAll('.', '\\.')} +\\S+ +Ready +\\S+/\\S+ \\(\\d+%\\) +\\S+/\\S+ \\(\\d+%\\) +${listed.appPods} +0$`));
    }
  });

  test('ps:scale web=2 gives web a PodDisruptionBudget over the serving set, spread constraints, and two running instances; web=1 removes the budget', { timeout: 3 * ROLLOUT_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !node) return;
    assert.equal(await budget(), undefined, 'one instance: no budget');
    const up = await ssh(`ps:scale ${APP} web=2`);
    assert.equal(up.exitCode, 0, up.stdout + up.stderr);
    const pdb = await budget();
    assert.equal(pdb?.spec?.maxUnavailable, 1);
    // The serving set's pods: what the web Service selects.
    const service = await kube.read<V1Service>('v1', 'Service', 'web', NS);
    assert.deepEqual(pdb?.spec?.selector?.matchLabels, service?.spec?.selector);
    assert.deepEqual(Object.keys(pdb?.spec?.selector?.matchLabels ?? {}).sort(), ['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'slipway/release']);
    const [web] = await kube.list<V1Deployment>('apps/v1', 'Deployment', NS, { labelSelector: 'app.kubernetes.io/component=web' });
    assert.equal(web?.spec?.replicas, 2);
    const spread = web?.spec?.template?.spec?.topologySpreadConstraints;
    assert.deepEqual(JSON.parse(JSON.stringify(spread)), [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: web?.spec?.selector?.matchLabels } }]);
    // Both instances run (ScheduleAnyway: a preference, never a reason to stay Pending; with one
    // node both are on it; test/e2e/two-nodes.test.ts shows the spread over two).
    const ps = await eventually('two ready web instances', async () => {
      const list = JSON.parse((await ssh(`ps ${APP} --json`)).stdout) as PsEntry[];
      const w = list.find((p) => p.type === 'web');
      return w?.ready === 2 && w;
    }, ROLLOUT_MS, 1000);
    assert.equal(ps.instances.filter((i) => i.ready).length, 2);
    // The disruption controller counts them: one may be evicted at a time.
    await eventually('the budget to allow one disruption of two healthy instances', async () => {
      const b = await budget();
      return b?.status?.expectedPods === 2 && b.status.currentHealthy === 2 && b.status.disruptionsAllowed === 1;
    }, ROLLOUT_MS, 1000);

    const down = await ssh(`ps:scale ${APP} web=1`);
    assert.equal(down.exitCode, 0, down.stdout + down.stderr);
    assert.equal(await budget(), undefined, 'back to one instance: the budget is pruned');
  });

  test('nodes:drain of the only schedulable node is refused without --force and leaves it as it was; an unknown node is one sentence', async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !node) return;
    // With two nodes, the other one cordoned (as an admin's kubectl would) leaves this one the only
    // node new pods can be scheduled on.
    if (other) await kube.apply(schedulablePatch(other, false), TEST_MANAGER);
    try {
      await refusedDrain();
    } finally {
      if (other) await kube.apply(schedulablePatch(other, true), TEST_MANAGER);
    }
  });

  async function refusedDrain(): Promise<void> {
    const r = await ssh(`nodes:drain ${node}`);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${node.replaceAll('.', '\\.')} is the only node new pods can be scheduled on, so nothing evicted from it could run anywhere else; add a node first \\(nodes:join-command\\), or give --force to drain it anyway\\.`));
    assert.equal(r.stdout, '');
    assert.equal(await unschedulable(), false, 'not cordoned');
    const unknown = await ssh('nodes:drain no-such-node');
    assert.equal(unknown.exitCode, 1);
    const has = [node, other].filter(Boolean).sort().join(', ');
    assert.equal(unknown.stderr.trim().replace(/^!\s+/, ''), `There is no node no-such-node in the cluster (it has ${has}); nothing was changed.`);
  }

  test('nodes:uncordon lets new pods onto a node an admin cordoned', async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !node) return;
    await kube.apply(schedulablePatch(node, false), TEST_MANAGER);
    assert.equal(await unschedulable(), true);
    const listed = JSON.parse((await ssh('nodes --json')).stdout) as NodeSummary[];
    assert.equal(listed.find((n) => n.name === node)?.schedulable, false);
    assert.match((await ssh('nodes')).stdout, /Ready,SchedulingDisabled/);
    const r = await ssh(`nodes:uncordon ${node}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), `Uncordoned ${node}: new pods may be scheduled on it again.`);
    assert.equal(await unschedulable(), false);
    const again = await ssh(`nodes:uncordon ${node}`);
    assert.equal(again.stdout.trim(), `${node} was not cordoned; new pods may be scheduled on it.`);
  });
});
