// Where app pods run on a cluster of several nodes: spread constraints, PodDisruptionBudgets (made
// from 2 instances on, gone below), and the build node's affinity, from the pure object builders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease } from '../../server/model.ts';
import type { KubeObject, V1Deployment, V1Pod, V1PodDisruptionBudget } from '../../server/kube/types.ts';
import { budgetObjects, releaseObjects, webBudgetObject } from '../../server/deploy/objects.ts';
import { LABEL, processName } from '../../server/kube/labels.ts';
import { HOSTNAME_TOPOLOGY, appNodeAffinity, buildNodeAffinity } from '../../server/kube/placement.ts';
import { BUILDS_NODE_LABEL } from '../../server/kube/labels.ts';
import { releasePodObject, runPodObject } from '../../server/deploy/workload.ts';

const release: DeployableRelease = {
  app: 'myapp',
  version: 7,
  image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [
    { type: 'web', command: ['npm', 'start'], args: [], default: true },
    { type: 'worker', command: ['node', 'worker.js'], args: [], default: false },
    { type: 'celery_beat', command: ['beat'], args: [], default: false },
    { type: 'release', command: ['migrate'], args: [], default: false },
  ],
  config: {},
  formation: {},
  domains: ['myapp.apps.test'],
};

const budgets = (r: DeployableRelease, serving?: number) => releaseObjects(r, {}, new Set(), serving).filter((o) => o.kind === 'PodDisruptionBudget') as KubeObject<V1PodDisruptionBudget>[];
const deployments = (r: DeployableRelease) => releaseObjects(r).filter((o) => o.kind === 'Deployment') as KubeObject<V1Deployment>[];

test('a process type at one instance (or none) has no PodDisruptionBudget; at two or more it has one, maxUnavailable 1', () => {
  assert.deepEqual(budgets(release), [], 'the default formation: web=1, others 0');
  assert.deepEqual(budgets({ ...release, formation: { web: 1, worker: 1 } }), []);
  const two = budgets({ ...release, formation: { web: 2, worker: 3, celery_beat: 2, release: 5 } });
  assert.deepEqual(two.map((b) => b.metadata.name), ['web', 'worker', processName('celery_beat')], 'one per running type, never the release command');
  for (const b of two) {
    assert.equal(b.apiVersion, 'policy/v1');
    assert.equal(b.metadata.namespace, 'slipway-myapp');
    assert.equal(b.spec?.maxUnavailable, 1);
    assert.equal(b.spec?.minAvailable, undefined);
    assert.equal(b.spec?.unhealthyPodEvictionPolicy, 'AlwaysAllow', 'a crashing instance does not hold a drain up');
    assert.equal(b.metadata.labels?.['app.kubernetes.io/managed-by'], 'slipway', 'prune finds it by the app selector');
    assert.equal(b.metadata.labels?.['app.kubernetes.io/instance'], 'myapp');
  }
});

test("a budget selects exactly its type's pods: the Deployment's selector (web: the serving set's)", () => {
  const r = { ...release, formation: { web: 2, worker: 2 } };
  const objects = releaseObjects(r, {}, new Set(), 6);
  const [web, worker] = objects.filter((o) => o.kind === 'PodDisruptionBudget') as KubeObject<V1PodDisruptionBudget>[];
  assert.deepEqual(web!.spec?.selector?.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web', [LABEL.release]: '6' }, 'v6 serves while v7 rolls out');
  const workerDeployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'worker') as KubeObject<V1Deployment>;
  assert.deepEqual(worker!.spec?.selector?.matchLabels, workerDeployment.spec?.selector.matchLabels);
  // The switch moves it with the Service.
  assert.deepEqual(webBudgetObject(r, 7)?.spec?.selector?.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web', [LABEL.release]: '7' });
  assert.equal(webBudgetObject({ ...r, formation: { web: 1 } }, 7), undefined);
  // Web replaced rather than switched over (a mounted volume): every web pod.
  const mounted = { ...r, volumes: [{ name: 'data', size: '1Gi' }], mounts: { web: [{ volume: 'data', path: '/data' }] } };
  assert.deepEqual(budgetObjects(mounted)[0]!.spec?.selector?.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web' });
});

test('every Deployment spreads its instances over nodes (maxSkew 1, ScheduleAnyway) counting its own pods', () => {
  for (const formation of [{}, { web: 2, worker: 3 }] as Record<string, number>[]) {
    for (const d of deployments({ ...release, formation })) {
      const spread = d.spec?.template.spec?.topologySpreadConstraints;
      assert.deepEqual(spread, [{ maxSkew: 1, topologyKey: HOSTNAME_TOPOLOGY, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: d.spec?.selector.matchLabels } }], d.metadata.name);
      // What it counts are pods of this Deployment: its selector matches its template.
      for (const [k, v] of Object.entries(d.spec!.selector.matchLabels!)) assert.equal(d.spec!.template.metadata!.labels![k], v);
    }
  }
  // Scaling changes replicas only, not the template: the running instance is not restarted.
  const one = deployments({ ...release, formation: { web: 1 } })[0]!;
  const two = deployments({ ...release, formation: { web: 2 } })[0]!;
  assert.deepEqual(one.spec?.template, two.spec?.template);
});

test('app pods prefer nodes without the build label (preferred, so they still run when only such a node has room)', () => {
  const affinity = appNodeAffinity();
  assert.equal(affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, undefined);
  assert.deepEqual(affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution, [
    { weight: 100, preference: { matchExpressions: [{ key: BUILDS_NODE_LABEL, operator: 'NotIn', values: ['true'] }] } },
  ]);
  const pods: (V1Pod | undefined)[] = [
    ...deployments(release).map((d) => d.spec?.template),
    releasePodObject(release, release.processes[3]!, 60),
    runPodObject(release, { name: 'run-bcdfg', command: ['ls'], deadlineSeconds: 60, mode: 'detached' }),
  ];
  for (const p of pods) assert.deepEqual(p?.spec?.affinity, affinity);
});

test('build pods are held to nodes labelled for builds, once any node is', () => {
  assert.equal(buildNodeAffinity([]), undefined);
  assert.equal(buildNodeAffinity([{ metadata: { labels: { 'kubernetes.io/hostname': 'a' } } }, { metadata: { labels: { [BUILDS_NODE_LABEL]: 'false' } } }]), undefined);
  assert.deepEqual(buildNodeAffinity([{ metadata: { labels: {} } }, { metadata: { labels: { [BUILDS_NODE_LABEL]: 'true' } } }]), {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: BUILDS_NODE_LABEL, operator: 'In', values: ['true'] }] }] } },
  });
});
