// Quotas and caps (issue 16, items 4 and 8) as pure functions: the objects each app namespace
// gets, the rule that refuses a formation its quota cannot hold, which limits one-off and release
// pods run under, admin ceilings, config pruning, the build log's bound and the token cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployableRelease, QuotaPlan } from '../../server/model.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { GUARD_KINDS, LIMIT_RANGE_NAME, ONE_OFF_QUOTA_NAME, QUOTA_NAME, quotaObjects, quotaRefusal, releaseDemand, runLimitRefusal } from '../../server/deploy/quota.ts';
import { RUN_PROCESS, releasePodObject, runPodObject } from '../../server/deploy/workload.ts';
import { mainType, resolveResources } from '../../server/ops/releases/release.ts';
import { planConfigPrune } from '../../server/gc/keep.ts';
import { rolloutState } from '../../server/deploy/rollout.ts';
import { BuildLog } from '../../server/build/build-log.ts';
import { loadConfig } from '../../server/config.ts';
import { openStore } from '../../server/store/index.ts';
import type { ResourceRow } from '../../server/store/resources.ts';

const plan: QuotaPlan = {
  quota: { pods: 10, memory: '2Gi', cpu: '4' },
  runs: 2,
  container: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' } },
};

const web = { type: 'web', command: ['web'], args: [], default: true };
const worker = { type: 'worker', command: ['worker'], args: [], default: false };
const releaseType = { type: 'release', command: ['migrate'], args: [], default: false };

const release = (over: Partial<DeployableRelease> = {}): DeployableRelease => ({
  app: 'myapp', version: 3, image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [web, worker, releaseType], config: {}, formation: {}, domains: ['myapp.apps.test'], quota: plan, ...over,
});

test('each app namespace gets a ResourceQuota, a one-off pod quota and a LimitRange, from the plan', () => {
  const [quota, oneOff, limits] = quotaObjects('myapp', plan);
  assert.deepEqual([quota!.kind, quota!.metadata.name, quota!.metadata.namespace], ['ResourceQuota', QUOTA_NAME, 'slipway-myapp']);
  assert.deepEqual((quota as unknown as { spec: unknown }).spec, { hard: { pods: '10', 'limits.memory': '2Gi', 'limits.cpu': '4' } });
  // Pods with a deadline are exactly the one-off and release pods; one more than `runs` leaves the release pod room.
  assert.deepEqual([oneOff!.kind, oneOff!.metadata.name], ['ResourceQuota', ONE_OFF_QUOTA_NAME]);
  assert.deepEqual((oneOff as unknown as { spec: unknown }).spec, { scopes: ['Terminating'], hard: { pods: '3' } });
  assert.deepEqual([limits!.kind, limits!.metadata.name], ['LimitRange', LIMIT_RANGE_NAME]);
  assert.deepEqual((limits as unknown as { spec: unknown }).spec, {
    limits: [{ type: 'Container', _default: { memory: '256Mi', cpu: '500m' }, defaultRequest: { memory: '128Mi', cpu: '50m' } }],
  });
});

test('the quota objects come right after the namespace, before the Secret and every Deployment', () => {
  const kinds = releaseObjects(release()).map((o) => o.kind);
  assert.deepEqual(kinds.slice(0, 5), ['Namespace', 'ResourceQuota', 'ResourceQuota', 'LimitRange', 'Secret']);
  assert.ok(kinds.indexOf('Deployment') > 4);
  assert.deepEqual(releaseObjects(release({ quota: undefined })).map((o) => o.kind).filter((k) => GUARD_KINDS.has(k)), []);
});

test('a formation is measured with a second web set and one extra pod per other running type (the rollout), at its limits or the defaults', () => {
  assert.deepEqual(releaseDemand(release(), plan), { pods: 2, memory: 2 * 256 * 2 ** 20, cpu: 1, disk: 0 });
  const r = release({ formation: { web: 2, worker: 1 }, resources: { worker: { limits: { memory: '1Gi', cpu: '1' } } } });
  assert.deepEqual(releaseDemand(r, plan), { pods: 6, memory: 4 * 256 * 2 ** 20 + 2 * 2 ** 30, cpu: 4 * 0.5 + 2, disk: 0 });
  // A web type that mounts a volume is replaced, not switched over: one extra pod, as other types.
  const mounted = release({ formation: { web: 2 }, mounts: { web: [{ volume: 'data', path: '/data' }] } });
  assert.equal(releaseDemand(mounted, plan).pods, 3);
});

test('a formation the quota cannot hold is refused in one sentence naming the limit; scaling down never is', () => {
  assert.equal(quotaRefusal(release({ formation: { web: 3 } }), plan), undefined);
  assert.equal(quotaRefusal(release({ formation: { web: 500 } }), plan),
    'myapp at web=500 worker=0 needs 1000 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 10 pods (resource:quota myapp); scale down or lower its limits.');
  assert.match(quotaRefusal(release({ formation: { web: 2 }, resources: { web: { limits: { memory: '1Gi' } } } }), plan)!, /needs 4Gi of memory limits .* above its quota of 2Gi of memory/);
  assert.match(quotaRefusal(release({ formation: { web: 4 }, resources: { web: { limits: { cpu: '1' } } } }), plan)!, /needs 8 CPU of limits .* above its quota of 4 CPU/);
  // An app an admin's lower quota left over it may still scale down (or stay as it is).
  const small = { ...plan, quota: { ...plan.quota, pods: 3 } };
  assert.equal(quotaRefusal(release({ formation: { web: 4 } }), small, release({ formation: { web: 6 } })), undefined);
  assert.match(quotaRefusal(release({ formation: { web: 7 } }), small, release({ formation: { web: 6 } }))!, /needs 14 pods/);
});

test('the one-off refusal names the limit and the setting', () => {
  assert.equal(runLimitRefusal('myapp', 2, 2), 'myapp already runs 2 one-off pods, the most it may run at once (SLIPWAY_APP_MAX_RUNS=2); wait for one to finish (logs myapp -p run shows them).');
});

const row = (process: string, kind: 'limit' | 'reserve', memory: string | null, cpu: string | null, extra: Partial<ResourceRow> = {}): ResourceRow => ({ process, kind, memory, cpu, ...extra });

test('one-off pods run under the main type\'s limits; the release command under its own, else the main type\'s', () => {
  const rows = [row('web', 'limit', '512Mi', '1'), row('web', 'reserve', '256Mi', null), row('*', 'limit', null, '2')];
  const resolved = resolveResources(rows, ['web', 'worker', 'release', RUN_PROCESS], mainType([web, worker, releaseType]));
  assert.deepEqual(resolved[RUN_PROCESS], { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } });
  assert.deepEqual(resolved.release, { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } });
  assert.deepEqual(resolved.worker, { limits: { cpu: '2' } });
  assert.equal(mainType([worker, releaseType]), 'worker');
  assert.equal(mainType([{ type: 'clock', default: false }, { ...worker, default: true }]), 'worker');
  // The pods themselves carry them.
  const r = release({ resources: resolved });
  assert.deepEqual(runPodObject(r, { name: 'run-bcdfg', command: ['sh'], deadlineSeconds: 60, mode: 'detached' }).spec!.containers[0]!.resources,
    { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } });
  assert.deepEqual(releasePodObject(r, releaseType, 60).spec!.containers[0]!.resources, { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } });
});

test('a ceiling an admin set caps every setting under it, and a request is never above its limit', () => {
  // The admin limited every type to 512Mi; a deployer's own web setting of 2Gi cannot lift it.
  const rows = [
    row('*', 'limit', '512Mi', null, { memoryMax: '512Mi', maxSetBy: 'admin' }),
    row('web', 'limit', '2Gi', '1'),
    row('web', 'reserve', '1Gi', null),
  ];
  assert.deepEqual(resolveResources(rows, ['web']), { web: { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '512Mi' } } });
  // Below the ceiling, the deployer's lower value stands.
  assert.deepEqual(resolveResources([row('*', 'limit', '256Mi', null, { memoryMax: '512Mi' })], ['web']), { web: { limits: { memory: '256Mi' } } });
});

test('config copies beyond the keep count go; the running release, the rollback target and pending ones stay', () => {
  const r = (version: number, status: 'succeeded' | 'failed' | 'pending' = 'succeeded', pruned = false) => ({ version, status, image: `img@sha256:${version}`, collected: false, pruned });
  const all = [r(1), r(2), r(3, 'failed'), r(4), r(5), r(6, 'failed'), r(7, 'failed'), r(8, 'pending')];
  // keep 2: v8 and v7 by count; v5 runs, v4 is what a bare rollback picks.
  assert.deepEqual(planConfigPrune(all, 2).sort(), [1, 2, 3, 6]);
  assert.deepEqual(planConfigPrune([r(1, 'succeeded', true), r(2), r(3)], 1), []);
});

test('config pruning keeps the config of the release a bare rollback picks: the newest earlier one whose image still exists', () => {
  const r = (version: number, collected = false) => ({ version, status: 'succeeded' as const, image: `img@sha256:${version}`, collected, pruned: false });
  // v3 runs; v2's image was collected, so a bare rollback goes to v1, whose config must stay.
  assert.deepEqual(planConfigPrune([r(1), r(2, true), r(3)], 1), [2]);
});

test('a build log keeps its head and tail within the cap, with one marker line saying what was left out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-buildlog-'));
  try {
    const file = join(dir, 'build.log');
    const log = new BuildLog(file, 4000);
    for (let i = 0; i < 1000; i++) log.line(`line ${String(i).padStart(4, '0')} ${'x'.repeat(20)}`);
    await log.end();
    const text = readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.ok(Buffer.byteLength(text) <= 4000 + 300, `${Buffer.byteLength(text)} bytes`);
    assert.match(lines[0]!, /^line 0000 /);
    assert.match(lines.at(-1)!, /^line 0999 /);
    const marker = lines.find((l) => l.startsWith('-----'));
    assert.match(marker!, /^----- \d+ lines \(\d+ bytes\) of this build's output are left out here: .*\(SLIPWAY_MAX_BUILD_LOG_MB\) -----$/);
    // A small log is written whole, with no marker.
    const small = join(dir, 'small.log');
    const s = new BuildLog(small, 4000);
    s.line('one');
    s.line('two');
    await s.end();
    assert.equal(readFileSync(small, 'utf8'), 'one\ntwo\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key holds at most the token cap, counted in the same transaction as the insert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-tokens-'));
  const s = openStore(join(dir, 'db'));
  try {
    s.keys.add({ name: 'k', fingerprint: 'SHA256:x', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA', admin: false });
    assert.equal(s.tokens.add('a', 'k', 'slw_a', 2), 'added');
    assert.equal(s.tokens.add('a', 'k', 'slw_b', 2), 'exists');
    assert.equal(s.tokens.add('b', 'k', 'slw_c', 2), 'added');
    assert.equal(s.tokens.add('c', 'k', 'slw_d', 2), 'full');
    assert.deepEqual(s.tokens.list('k').map((t) => t.name), ['a', 'b']);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the quota settings have defaults for a 2 GiB VM and are validated', () => {
  const c = loadConfig({ SLIPWAY_DATA_DIR: '/tmp/x', SLIPWAY_HOST: 'h', SLIPWAY_BASE_DOMAIN: 'apps.test' });
  assert.deepEqual([c.appMaxPods, c.appMaxMemory, c.appMaxCpu, c.appMaxRuns, c.appMaxProcessTypes, c.maxTokensPerKey], [10, '2Gi', '4', 2, 20, 50]);
  assert.deepEqual(c.containerDefaults, { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' }, ephemeralStorage: { limit: '1Gi', request: '64Mi' } });
  assert.equal(c.appMaxEphemeralStorage, undefined);
  assert.equal(c.maxBuildLogBytes, 5 * 2 ** 20);
  assert.equal(c.maxImageBytes, 2048 * 2 ** 20);
  assert.throws(() => loadConfig({ SLIPWAY_APP_MAX_MEMORY: '2GB' }), /SLIPWAY_APP_MAX_MEMORY must be a memory size like 512Mi or 2Gi, got "2GB"\./);
  assert.throws(() => loadConfig({ SLIPWAY_APP_MAX_CPU: 'lots' }), /SLIPWAY_APP_MAX_CPU must be a CPU amount/);
  assert.throws(() => loadConfig({ SLIPWAY_APP_MAX_PODS: '0' }), /SLIPWAY_APP_MAX_PODS must be a whole number of at least 1/);
});

test('a rollout the quota refuses pods to fails at once with the quota\'s own words, not at the deadline', () => {
  const message = 'pods "web-5d9c-abcde" is forbidden: exceeded quota: slipway-quota, requested: limits.memory=256Mi, used: limits.memory=2Gi, limited: limits.memory=2Gi';
  const d = {
    metadata: { name: 'web', generation: 2 }, spec: { replicas: 2, selector: {}, template: {} },
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message }] },
  };
  assert.equal(rolloutState(d).failed,
    "web cannot start new pods, the app's quota is used up (exceeded quota: slipway-quota, requested: limits.memory=256Mi, used: limits.memory=2Gi, limited: limits.memory=2Gi; see resource:quota)");
  const other = { ...d, status: { ...d.status, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'something else' }] } };
  assert.equal(rolloutState(other).failed, undefined);
});
