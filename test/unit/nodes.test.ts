// The cluster's nodes: what `nodes` counts from the cluster's objects, which pods a drain evicts,
// and the commands (nodes, nodes:drain, nodes:uncordon, nodes:join-command) run in process over a
// fake at Slipway's own ClusterNodes interface: their refusals change nothing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispatch } from '../../server/commands/registry.ts';
import type { CommandContext } from '../../server/commands/types.ts';
import { loadConfig } from '../../server/config.ts';
import type { ClusterNodes, DrainResult } from '../../server/deploy/deployer.ts';
import type { V1Namespace, V1Node, V1Pod } from '../../server/kube/types.ts';
import { appNamespaces, drainPlan, drainRefusal, isNodeName, nodeSummaries, podRequests, type NodeSummary } from '../../server/deploy/nodes.ts';
import { KubeNodes, schedulablePatch } from '../../server/deploy/kube-nodes.ts';
import type { KubeClient } from '../../server/kube/client.ts';
import { makeOutput } from '../../server/output/output.ts';
import { lineTranscript, type Transcript } from '../../server/output/transcript.ts';
import { ForbiddenError, UsageError, UserError } from '../../server/errors.ts';
import { joinLine } from '../../server/ops/admin/nodes.ts';
import { openStore } from '../../server/store/index.ts';
import { AuditLog } from '../../server/ops/audit/recorder.ts';

const node = (name: string, opts: { ready?: boolean; unschedulable?: boolean; labels?: Record<string, string> } = {}): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
  spec: opts.unschedulable ? { unschedulable: true } : {},
  status: { allocatable: { cpu: '2', memory: '4026532Ki', pods: '110' }, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
});

const pod = (namespace: string, name: string, nodeName: string, opts: { cpu?: string; memory?: string; owner?: string; phase?: string; mirror?: boolean; init?: { cpu: string } } = {}): V1Pod => ({
  metadata: {
    namespace, name,
    ...(opts.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: opts.owner, name: `${name}-owner`, uid: 'u', controller: true }] } : {}),
    ...(opts.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}),
  },
  spec: {
    nodeName,
    containers: [{ name: 'c', resources: { requests: { ...(opts.cpu ? { cpu: opts.cpu } : {}), ...(opts.memory ? { memory: opts.memory } : {}) } } }],
    ...(opts.init ? { initContainers: [{ name: 'i', resources: { requests: opts.init } }] } : {}),
  },
  status: { phase: opts.phase ?? 'Running' },
});

const appNs = (app: string): V1Namespace => ({ metadata: { name: `slipway-${app}`, labels: { 'app.kubernetes.io/managed-by': 'slipway', 'app.kubernetes.io/instance': app } } });

test("nodes counts each node's requests (unfinished pods, init containers as the scheduler does), its app pods and build pods", () => {
  const apps = appNamespaces([appNs('shop'), appNs('blog'), { metadata: { name: 'slipway', labels: {} } }, { metadata: { name: 'slipway-builds', labels: { 'app.kubernetes.io/managed-by': 'slipway', 'app.kubernetes.io/instance': 'builds' } } }]);
  assert.deepEqual([...apps].sort(), ['slipway-blog', 'slipway-shop'], 'the builds namespace is not an app');
  const nodes = [node('b', { unschedulable: true, labels: { 'slipway.dev/builds': 'true' } }), node('a', { labels: { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' } })];
  const pods = [
    pod('slipway-shop', 'web-1', 'a', { cpu: '250m', memory: '128Mi' }),
    pod('slipway-shop', 'web-2', 'b', { cpu: '250m', memory: '128Mi' }),
    pod('slipway-blog', 'worker-1', 'a', { cpu: '0.5', init: { cpu: '1' } }),
    pod('slipway-blog', 'old', 'a', { cpu: '1', phase: 'Succeeded' }),
    pod('slipway-builds', 'build-1', 'b', { cpu: '1', memory: '1Gi' }),
    pod('kube-system', 'coredns', 'a', { cpu: '100m', memory: '70Mi' }),
  ];
  assert.deepEqual(podRequests(pods[2]!), { cpuMillicores: 1000, memoryBytes: 0 }, 'an init container asking more than the containers together counts');
  const [a, b] = nodeSummaries(nodes, pods, apps);
  assert.deepEqual(a, {
    name: 'a', roles: ['control-plane', 'master'], ready: true, schedulable: true, builds: false,
    allocatable: { cpuMillicores: 2000, memoryBytes: 4026532 * 1024 },
    requested: { cpuMillicores: 250 + 1000 + 100, memoryBytes: (128 + 70) * 2 ** 20 },
    appPods: 2, buildPods: 0,
  });
  assert.equal(b!.schedulable, false);
  assert.equal(b!.builds, true);
  assert.deepEqual(b!.roles, []);
  assert.equal(b!.appPods, 1);
  assert.equal(b!.buildPods, 1);
  assert.deepEqual(b!.requested, { cpuMillicores: 1250, memoryBytes: 128 * 2 ** 20 + 2 ** 30 });
});

test('a drain evicts what a controller replaces and spare build pods; leaves static, DaemonSet and ended pods, and one-off pods unless forced', () => {
  const pods = [
    pod('slipway-shop', 'web-v3-x', 'a', { owner: 'ReplicaSet' }),
    pod('slipway-shop', 'cron-y', 'a', { owner: 'Job' }),
    pod('kube-system', 'svclb-1', 'a', { owner: 'DaemonSet' }),
    pod('kube-system', 'kube-apiserver-a', 'a', { mirror: true, owner: 'Node' }),
    pod('slipway-shop', 'run-bcdfg', 'a'),
    pod('slipway-shop', 'done', 'a', { owner: 'ReplicaSet', phase: 'Failed' }),
  ];
  // A spare build pod (no app yet) is evicted even unforced: its server starts another; a build is a one-off.
  const spare = pod('slipway-builds', 'build-spare', 'a');
  const building = pod('slipway-builds', 'build-busy', 'a');
  building.metadata!.labels = { 'slipway/app': 'shop' };
  assert.deepEqual(drainPlan([spare, building], { force: false }), {
    evict: [{ namespace: 'slipway-builds', name: 'build-spare' }],
    skip: [{ pod: { namespace: 'slipway-builds', name: 'build-busy' }, reason: drainPlan([building], { force: false }).skip[0]!.reason }],
  });
  const plan = drainPlan(pods, { force: false });
  assert.deepEqual(plan.evict.map((p) => p.name), ['web-v3-x', 'cron-y']);
  assert.deepEqual(plan.skip.map((s) => s.pod.name), ['svclb-1', 'kube-apiserver-a', 'run-bcdfg', 'done']);
  assert.match(plan.skip[2]!.reason, /--force evicts it/);
  assert.deepEqual(drainPlan(pods, { force: true }).evict.map((p) => p.name), ['web-v3-x', 'cron-y', 'run-bcdfg']);
});

test('draining is refused when no other node is Ready and schedulable', () => {
  const s = (name: string, ready: boolean, schedulable: boolean): NodeSummary => ({ name, roles: [], ready, schedulable, builds: false, allocatable: { cpuMillicores: 0, memoryBytes: 0 }, requested: { cpuMillicores: 0, memoryBytes: 0 }, appPods: 0, buildPods: 0 });
  assert.match(drainRefusal([s('a', true, true)], 'a') ?? '', /^a is the only node new pods can be scheduled on.*--force/);
  assert.ok(drainRefusal([s('a', true, true), s('b', false, true), s('c', true, false)], 'a'), 'a NotReady or cordoned node takes nothing');
  assert.equal(drainRefusal([s('a', true, true), s('b', true, true)], 'a'), undefined);
});

test('node names are DNS subdomains; cordon and uncordon apply spec.unschedulable only', () => {
  for (const ok of ['node-1', 'ip-10-0-0-1.ec2.internal', 'a']) assert.ok(isNodeName(ok), ok);
  for (const bad of ['', 'Node', '-a', 'a_b', 'a;rm', '../x', 'a'.repeat(254)]) assert.ok(!isNodeName(bad), bad);
  assert.deepEqual(schedulablePatch('n1', false), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { unschedulable: true } });
  assert.deepEqual(schedulablePatch('n1', true).spec, { unschedulable: false });
});

/** ClusterNodes over a list in memory, recording what it was asked to change. */
class FakeNodes implements ClusterNodes {
  changed: string[] = [];
  list: NodeSummary[];
  constructor(list: NodeSummary[]) {
    this.list = list;
  }
  async nodes(): Promise<NodeSummary[]> {
    return this.list;
  }
  async drain(name: string, opts: { force: boolean; transcript: Transcript }): Promise<DrainResult> {
    this.changed.push(`drain ${name}${opts.force ? ' --force' : ''}`);
    opts.transcript.detail(`Cordoned ${name}: no new pods are scheduled on it`);
    opts.transcript.detail('Evicted slipway-shop/web-v3-x');
    return { node: name, evicted: ['slipway-shop/web-v3-x'], skipped: [], failed: name === 'stuck' ? [{ pod: 'slipway-shop/web-v3-y', reason: 'Cannot evict pod as it would violate the pod\'s disruption budget.' }] : [] };
  }
  async uncordon(name: string): Promise<void> {
    this.changed.push(`uncordon ${name}`);
  }
}

const summary = (name: string, over: Partial<NodeSummary> = {}): NodeSummary => ({
  name, roles: ['control-plane', 'master'], ready: true, schedulable: true, builds: false,
  allocatable: { cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }, requested: { cpuMillicores: 500, memoryBytes: 2 ** 30 }, appPods: 3, buildPods: 0, ...over,
});

/** Runs one command line in process as `admin` (or not) against the fake nodes; its output, exit code and error. */
async function command(t: TestContext, cluster: FakeNodes | undefined, words: string[], opts: { admin?: boolean; env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-nodes-'));
  // A real store: the dispatcher records each command in its audit log.
  const store = openStore(join(dir, 'slipway.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const out: string[] = [];
  const ctx = {
    identity: { name: 'alice', admin: opts.admin ?? true, via: 'ssh' },
    out: makeOutput((s) => out.push(s), { color: false }),
    services: { config: loadConfig({ SLIPWAY_DATA_DIR: dir, SLIPWAY_HOST: 'paas.example.com', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com', SLIPWAY_K3S_TOKEN_FILE: join(dir, 'node-token'), ...opts.env }), store, audit: new AuditLog(store), deployer: cluster ? { nodes: cluster } : undefined },
    stdin: async () => '',
    drained: async () => {},
    signal: new AbortController().signal,
  } as unknown as CommandContext;
  let error: unknown;
  let code: number | undefined;
  try {
    code = await dispatch(ctx, words);
  } catch (err) {
    error = err;
  }
  return { text: out.join(''), error, code, dir };
}

test('nodes lists each node in a table, and as JSON with --json; only for admins', async (t) => {
  const cluster = new FakeNodes([summary('a'), summary('b', { roles: [], ready: false, schedulable: false, builds: true, appPods: 0, buildPods: 2 })]);
  const r = await command(t, cluster, ['nodes']);
  assert.equal(r.error, undefined);
  const rows = r.text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  assert.deepEqual(rows[0], ['NAME', 'ROLES', 'STATUS', 'CPU REQUESTED', 'MEMORY REQUESTED', 'APP PODS', 'BUILD PODS']);
  assert.deepEqual(rows[1], ['a', 'control-plane,master', 'Ready', '500m/2 (25%)', '1Gi/4Gi (25%)', '3', '0']);
  assert.deepEqual(rows[2], ['b', 'builds', 'NotReady,SchedulingDisabled', '500m/2 (25%)', '1Gi/4Gi (25%)', '0', '2']);
  const json = await command(t, cluster, ['nodes', '--json']);
  assert.deepEqual(JSON.parse(json.text), cluster.list);
  const denied = await command(t, cluster, ['nodes'], { admin: false });
  assert.ok(denied.error instanceof ForbiddenError);
  assert.equal(denied.text, '');
});

test('nodes:drain drains a node another node can take over from, printing its steps', async (t) => {
  const cluster = new FakeNodes([summary('a'), summary('b')]);
  const r = await command(t, cluster, ['nodes:drain', 'a']);
  assert.equal(r.error, undefined);
  assert.deepEqual(cluster.changed, ['drain a']);
  assert.deepEqual(r.text.trimEnd().split('\n'), [
    '-----> Draining a',
    '       Cordoned a: no new pods are scheduled on it',
    '       Evicted slipway-shop/web-v3-x',
    'Drained a: 1 pod evicted; it takes no new pods until nodes:uncordon a.',
  ]);
  const json = await command(t, new FakeNodes([summary('a'), summary('b')]), ['nodes:drain', 'a', '--json']);
  assert.deepEqual(JSON.parse(json.text), { node: 'a', evicted: ['slipway-shop/web-v3-x'], skipped: [], failed: [] }, 'with --json the steps are not printed before the document');
});

test('nodes:drain says which pods could not be evicted, and fails', async (t) => {
  const cluster = new FakeNodes([summary('stuck'), summary('b')]);
  const r = await command(t, cluster, ['nodes:drain', 'stuck']);
  assert.ok(r.error instanceof UserError);
  assert.equal((r.error as Error).message, "1 pod could not be evicted from stuck: slipway-shop/web-v3-y (Cannot evict pod as it would violate the pod's disruption budget.); stuck stays cordoned (nodes:uncordon stuck takes it back).");
});

test('nodes:drain refuses the only schedulable node without --force, an unknown node and a bad name, changing nothing', async (t) => {
  const only = new FakeNodes([summary('a'), summary('b', { schedulable: false })]);
  const refused = await command(t, only, ['nodes:drain', 'a']);
  assert.ok(refused.error instanceof UserError);
  assert.equal((refused.error as Error).message, 'a is the only node new pods can be scheduled on, so nothing evicted from it could run anywhere else; add a node first (nodes:join-command), or give --force to drain it anyway.');
  assert.equal(refused.text, '');
  assert.deepEqual(only.changed, []);
  const forced = await command(t, only, ['nodes:drain', 'a', '--force']);
  assert.equal(forced.error, undefined);
  assert.deepEqual(only.changed, ['drain a --force']);

  const cluster = new FakeNodes([summary('a'), summary('b')]);
  const unknown = await command(t, cluster, ['nodes:drain', 'c']);
  assert.equal((unknown.error as Error).message, 'There is no node c in the cluster (it has a, b); nothing was changed.');
  const bad = await command(t, cluster, ['nodes:uncordon', 'a;reboot']);
  assert.equal((bad.error as Error).message, '"a;reboot" is not a node name; `nodes` lists them.');
  const unknownUncordon = await command(t, cluster, ['nodes:uncordon', 'c']);
  assert.ok(unknownUncordon.error instanceof UserError);
  assert.deepEqual(cluster.changed, []);
  // Usage: one node, declared options only.
  assert.ok((await command(t, cluster, ['nodes:drain'])).error instanceof UsageError);
  assert.ok((await command(t, cluster, ['nodes:drain', 'a', 'b'])).error instanceof UsageError);
  assert.ok((await command(t, cluster, ['nodes:drain', 'a', '--now'])).error instanceof UsageError);
  assert.ok((await command(t, cluster, ['nodes:uncordon', 'a', '--force'])).error instanceof UsageError);
  assert.ok((await command(t, cluster, ['nodes:drain', 'a'], { admin: false })).error instanceof ForbiddenError);
  assert.deepEqual(cluster.changed, []);
  const none = await command(t, undefined, ['nodes']);
  assert.match((none.error as Error).message, /no Kubernetes cluster configured/);
});

test('nodes:uncordon lets pods back, and says when the node was not cordoned', async (t) => {
  const cluster = new FakeNodes([summary('a', { schedulable: false }), summary('b')]);
  const r = await command(t, cluster, ['nodes:uncordon', 'a']);
  assert.equal(r.text, 'Uncordoned a: new pods may be scheduled on it again.\n');
  const again = await command(t, cluster, ['nodes:uncordon', 'b']);
  assert.equal(again.text, 'b was not cordoned; new pods may be scheduled on it.\n');
  assert.deepEqual(cluster.changed, ['uncordon a', 'uncordon b']);
});

test("nodes:join-command prints install.sh's --join line with k3s's token; no token file is one sentence", async (t) => {
  const missing = await command(t, undefined, ['nodes:join-command']);
  assert.ok(missing.error instanceof UserError);
  assert.match((missing.error as Error).message, /^This server is not a k3s server \(there is no \/.*\/node-token, SLIPWAY_K3S_TOKEN_FILE\)/);
  assert.equal(missing.text, '');

  const dir = mkdtempSync(join(tmpdir(), 'slipway-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node-token');
  const token = `K10${'0a'.repeat(32)}::server:${'f3'.repeat(16)}`;
  writeFileSync(file, `${token}\n`);
  const r = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file } });
  assert.equal(r.error, undefined);
  assert.equal(r.text, `curl -fsSL https://slipway.example.com/install.sh | sudo bash -s -- --join https://paas.example.com:6443 --token ${token}\n`);
  const json = await command(t, undefined, ['nodes:join-command', '--json'], { env: { SLIPWAY_K3S_TOKEN_FILE: file } });
  assert.deepEqual(JSON.parse(json.text), { command: r.text.trimEnd(), installer: 'https://slipway.example.com/install.sh', installerSha256: INSTALLER_SHA256, server: 'https://paas.example.com:6443', builds: 'pack' });

  // Nothing a shell would read ever reaches the line.
  writeFileSync(file, 'K10abc::server:$(reboot)\n');
  const shell = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file } });
  assert.ok(shell.error instanceof UserError);
  assert.equal(shell.text, '');
  // k3s's short form (no CA hash) is not printed: the agent would trust whatever CA port 6443 shows
  // it, so anyone on the way could pose as the cluster and take the token.
  writeFileSync(file, `${'f3'.repeat(16)}\n`);
  const short = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file } });
  assert.ok(short.error instanceof UserError);
  assert.equal((short.error as Error).message, `${file} (SLIPWAY_K3S_TOKEN_FILE) does not hold a k3s node token in its secure form K10<CA hash>::…, with which a joining node checks that it reaches this cluster before it sends the token.`);
  assert.equal(short.text, '');
  writeFileSync(file, `${token}\n`);
  const host = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file, SLIPWAY_HOST: 'x;reboot' } });
  assert.ok(host.error instanceof UserError);
  assert.equal(host.text, '');
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o000);
    const unreadable = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file } });
    assert.match((unreadable.error as Error).message, /may not read k3s's node token/);
  }
  assert.ok((await command(t, undefined, ['nodes:join-command'], { admin: false, env: { SLIPWAY_K3S_TOKEN_FILE: file } })).error instanceof ForbiddenError);
});

/** The SHA-256 of the install.sh in this checkout: what the HTTP port serves. */
const INSTALLER_SHA256 = createHash('sha256').update(readFileSync(join(import.meta.dirname, '..', '..', 'install.sh'))).digest('hex');

test('over a plain-http dashboard address, the join line downloads install.sh to a file, checks its SHA-256 and runs it only then', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'node-token');
  const token = `K10${'0a'.repeat(32)}::server:${'f3'.repeat(16)}`;
  writeFileSync(file, `${token}\n`);
  for (const [env, installer] of [
    [{ SLIPWAY_DASHBOARD_URL: 'http://slipway.example.com' }, 'http://slipway.example.com/install.sh'],
    // No SLIPWAY_DASHBOARD_URL: the HTTP port on SLIPWAY_HOST, plain http.
    [{ SLIPWAY_DASHBOARD_URL: '', SLIPWAY_HTTP_PORT: '8080' }, 'http://paas.example.com:8080/install.sh'],
  ] as const) {
    const r = await command(t, undefined, ['nodes:join-command'], { env: { SLIPWAY_K3S_TOKEN_FILE: file, ...env } });
    assert.equal(r.error, undefined);
    assert.equal(r.text, `f=$(mktemp) && curl -fsSL ${installer} -o "$f" && echo "${INSTALLER_SHA256}  $f" | sha256sum -c --quiet && sudo bash "$f" --join https://paas.example.com:6443 --token ${token}\n`);
    const json = await command(t, undefined, ['nodes:join-command', '--json'], { env: { SLIPWAY_K3S_TOKEN_FILE: file, ...env } });
    assert.deepEqual(JSON.parse(json.text), { command: r.text.trimEnd(), installer, installerSha256: INSTALLER_SHA256, server: 'https://paas.example.com:6443', builds: 'pack' });
  }
  // The line's parts, put together: https pipes to bash, anything else checks first.
  assert.equal(joinLine('https://a.example/install.sh', 'ab'.repeat(32), 'https://a.example:6443', token), `curl -fsSL https://a.example/install.sh | sudo bash -s -- --join https://a.example:6443 --token ${token}`);
  assert.match(joinLine('http://a.example/install.sh', 'ab'.repeat(32), 'https://a.example:6443', token), new RegExp(`^f=\\$\\(mktemp\\) && curl -fsSL http://a\\.example/install\\.sh -o "\\$f" && echo "${'ab'.repeat(32)}  \\$f" \\| sha256sum -c --quiet && sudo bash "\\$f" --join`));
});

/**
 * The parts of KubeClient a drain uses, over pods in memory: an eviction is refused (429) while
 * `blocked` says so for the pod, and an evicted pod is gone `stopsAfter` listings later.
 */
class FakeKube {
  applied: unknown[] = [];
  evictions: string[] = [];
  pods: V1Pod[];
  blocked: (name: string, attempt: number) => boolean;
  stopsAfter: number;
  #leaving = new Map<string, number>();
  constructor(pods: V1Pod[], opts: { blocked?: (name: string, attempt: number) => boolean; stopsAfter?: number } = {}) {
    this.pods = pods;
    this.blocked = opts.blocked ?? (() => false);
    this.stopsAfter = opts.stopsAfter ?? 1;
  }
  async apply<T>(obj: T): Promise<T> {
    this.applied.push(obj);
    return obj;
  }
  async list<T>(_apiVersion: string, kind: string, _ns: string | undefined, opts: { fieldSelector?: string } = {}): Promise<T[]> {
    assert.equal(kind, 'Pod');
    const node = /^spec\.nodeName=(.+)$/.exec(opts.fieldSelector ?? '')?.[1];
    for (const [name, left] of this.#leaving) {
      if (left <= 0) this.pods = this.pods.filter((p) => p.metadata?.name !== name);
      else this.#leaving.set(name, left - 1);
    }
    return this.pods.filter((p) => p.spec?.nodeName === node) as T[];
  }
  async evict(_namespace: string, pod: string): Promise<{ result: 'evicted' | 'gone' } | { result: 'blocked'; reason: string }> {
    const attempt = this.evictions.filter((e) => e === pod).length;
    this.evictions.push(pod);
    if (this.blocked(pod, attempt)) return { result: 'blocked', reason: "Cannot evict pod as it would violate the pod's disruption budget." };
    if (!this.#leaving.has(pod)) this.#leaving.set(pod, this.stopsAfter);
    return { result: 'evicted' };
  }
}

async function drainWith(kube: FakeKube, timeoutMs: number, force = false) {
  const lines: string[] = [];
  const nodes = new KubeNodes(kube as unknown as KubeClient, { retryMs: 20, pollMs: 5 });
  const result = await nodes.drain('a', { force, timeoutMs, transcript: lineTranscript((l) => lines.push(l)), signal: new AbortController().signal });
  return { result, lines };
}

test('a drain cordons, evicts every evictable pod, asks again while a budget refuses, and waits until they are gone', async () => {
  const kube = new FakeKube([
    pod('slipway-shop', 'web-v3-x', 'a', { owner: 'ReplicaSet' }),
    pod('slipway-shop', 'web-v3-y', 'a', { owner: 'ReplicaSet' }),
    pod('kube-system', 'svclb-1', 'a', { owner: 'DaemonSet' }),
    pod('slipway-shop', 'elsewhere', 'b', { owner: 'ReplicaSet' }),
  ], { blocked: (name, attempt) => name === 'web-v3-y' && attempt < 2, stopsAfter: 2 });
  const { result, lines } = await drainWith(kube, 10_000);
  assert.deepEqual(kube.applied, [schedulablePatch('a', false)], 'cordoned first, and only that');
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.evicted.sort(), ['slipway-shop/web-v3-x', 'slipway-shop/web-v3-y']);
  assert.deepEqual(result.skipped, [{ pod: 'kube-system/svclb-1', reason: 'DaemonSet svclb-1-owner runs it on every node' }]);
  assert.deepEqual(kube.evictions.filter((e) => e === 'web-v3-y').length, 3, 'refused twice, granted the third time');
  assert.ok(!kube.evictions.includes('elsewhere') && !kube.evictions.includes('svclb-1'));
  assert.deepEqual(lines.slice(0, 3), [
    '       Cordoned a: no new pods are scheduled on it',
    '       Leaving kube-system/svclb-1: DaemonSet svclb-1-owner runs it on every node',
    '       Evicting 2 pods from a',
  ]);
  assert.ok(lines.includes("       Waiting to evict slipway-shop/web-v3-y: Cannot evict pod as it would violate the pod's disruption budget."), lines.join('\n'));
  assert.equal(lines.filter((l) => l.startsWith('       Evicted ')).length, 2);
});

test('a drain gives up on a pod its budget keeps refusing at the deadline, and says why; the node stays cordoned', async () => {
  const kube = new FakeKube([pod('slipway-shop', 'web-v3-x', 'a', { owner: 'ReplicaSet' }), pod('slipway-shop', 'worker-z', 'a', { owner: 'ReplicaSet' })], { blocked: (name) => name === 'web-v3-x', stopsAfter: 0 });
  // worker-z is gone at the first look, so a loaded machine cannot spend the deadline before it.
  const started = Date.now();
  const { result } = await drainWith(kube, 1000);
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(result.failed, [{ pod: 'slipway-shop/web-v3-x', reason: "Cannot evict pod as it would violate the pod's disruption budget." }]);
  assert.deepEqual(result.evicted, ['slipway-shop/worker-z']);
  assert.ok(kube.evictions.filter((e) => e === 'web-v3-x').length >= 2, 'asked again before the deadline');
  assert.deepEqual(kube.applied, [schedulablePatch('a', false)], 'never uncordoned by itself');
});

test('a drain reports evicted pods that do not stop before the deadline; a node with nothing to evict is done at once', async () => {
  const kube = new FakeKube([pod('slipway-shop', 'slow', 'a', { owner: 'ReplicaSet' })], { stopsAfter: 1_000_000 });
  const { result } = await drainWith(kube, 100);
  assert.deepEqual(result.failed, [{ pod: 'slipway-shop/slow', reason: 'evicted, but still stopping after 0 s' }]);
  const empty = await drainWith(new FakeKube([pod('slipway-shop', 'run-bcdfg', 'a')]), 100);
  assert.deepEqual(empty.result, { node: 'a', evicted: [], skipped: [{ pod: 'slipway-shop/run-bcdfg', reason: 'no controller would start it again elsewhere (a one-off or release pod ends by its deadline); --force evicts it' }], failed: [] });
  assert.ok(empty.lines.includes('       No pods to evict from a'));
  const forced = await drainWith(new FakeKube([pod('slipway-shop', 'run-bcdfg', 'a')]), 1000, true);
  assert.deepEqual(forced.result.evicted, ['slipway-shop/run-bcdfg']);
});
