// Persistent storage as pure functions: what a volume name, size and mount path may be (one sentence
// each otherwise), who mounts what (one-off and release pods get the main type's mounts), the
// refusal to scale a type with a volume, the objects (claims, pod volumes, fsGroup, strategy), and
// what storage:list makes of the kubelets' stats summaries (a volume's use; full, not held to its size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease, QuotaPlan } from '../../server/model.ts';
import type { V1Deployment, V1PersistentVolumeClaim, V1Pod, V1ResourceQuota } from '../../server/kube/types.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { claimObject, claimsByNode, claimUsage } from '../../server/deploy/volumes.ts';
import { deploymentObject, releasePodObject, runPodObject } from '../../server/deploy/workload.ts';
import { resourceQuotaObject } from '../../server/deploy/quota.ts';
import { mountPath, mountsByType, scaleRefusal, showSize, usageCell, usageNotes, volumeName, volumeSize } from '../../server/ops/storage/volumes.ts';
import type { VolumeRow } from '../../server/store/volumes.ts';
import { admitRelease } from '../../server/ops/releases/release.ts';
import { loadConfig } from '../../server/config.ts';
import { withStore } from '../support/store.ts';

const base: DeployableRelease = {
  app: 'notes',
  version: 3,
  image: '127.0.0.1:5000/slipway/notes@sha256:' + 'b'.repeat(64),
  processes: [
    { type: 'web', command: ['node', 'server.js'], args: [], default: true },
    { type: 'worker', command: ['node', 'worker.js'], args: [], default: false },
  ],
  config: {},
  formation: { worker: 1 },
  domains: ['notes.apps.test'],
};
const withVolume: DeployableRelease = {
  ...base,
  volumes: [{ name: 'data', size: '1Gi' }],
  mounts: { web: [{ volume: 'data', path: '/data' }], run: [{ volume: 'data', path: '/data' }], release: [{ volume: 'data', path: '/data' }] },
};
const web = base.processes[0]!;
const worker = base.processes[1]!;
const row = (name: string, mount: VolumeRow['mount']): VolumeRow => ({ name, size: '1Gi', storageClass: null, mount, createdAt: '' });

test('volume names are DNS labels of at most 45 characters, a letter first', () => {
  for (const ok of ['data', 'uploads-2', 'a', 'x'.repeat(45)]) assert.equal(volumeName(ok), ok);
  for (const bad of ['', 'Data', '2data', 'data-', 'da_ta', 'x'.repeat(46), 'a/b', '../x']) {
    assert.throws(() => volumeName(bad), { name: 'UserError', message: /is not a valid volume name: use 1-45 lowercase letters, digits and dashes, starting with a letter and not ending with a dash\.$/ }, bad);
  }
});

test('volume sizes are whole Mi, Gi or Ti, at most SLIPWAY_STORAGE_MAX_SIZE', () => {
  assert.equal(volumeSize('512Mi', '10Gi'), '512Mi');
  assert.equal(volumeSize('10Gi', '10Gi'), '10Gi');
  for (const bad of ['1.5Gi', '0Gi', '1G', '1gi', '-1Gi', '1e3', '']) {
    assert.throws(() => volumeSize(bad, '10Gi'), { message: /is not a volume size; write a whole number of Mi, Gi or Ti, for example 512Mi or 1Gi\.$/ }, bad);
  }
  assert.throws(() => volumeSize('11Gi', '10Gi'), { message: 'A volume may hold at most 10Gi (SLIPWAY_STORAGE_MAX_SIZE); 11Gi is more.' });
  assert.throws(() => volumeSize('1Ti', '10Gi'), { message: /at most 10Gi/ });
});

test('mount paths are absolute and plain, not / and not at or under what the image needs', () => {
  for (const ok of ['/data', '/app/storage', '/var/lib/notes', '/workspaces', '/tmp/x', '/data/a.b_c@d+e-f']) assert.equal(mountPath(ok), ok);
  assert.throws(() => mountPath('data'), { message: '"data" is not an absolute path; mount a volume at a path like /data.' });
  assert.throws(() => mountPath('/'), { message: 'A volume cannot be mounted at /; mount it at a directory like /data.' });
  for (const bad of ['/data/', '//data', '/a/../b', '/a/./b', '/..', '/da ta', '/data\n', '/a:b', `/${'x'.repeat(200)}`]) {
    assert.throws(() => mountPath(bad), { message: /is not a plain path: use up to 200 characters/ }, bad);
  }
  for (const [bad, under] of [['/workspace', '/workspace'], ['/workspace/db', '/workspace'], ['/cnb', '/cnb'], ['/layers/x', '/layers'], ['/proc/sys', '/proc'], ['/sys/fs', '/sys'], ['/dev/shm', '/dev'], ['/etc', '/etc'], ['/usr/local', '/usr']] as const) {
    assert.throws(() => mountPath(bad), { message: `${bad} is at or under ${under}, which the app's image needs; mount the volume elsewhere, like /data.` }, bad);
  }
});

test("one-off and release pods mount the main type's volumes; other types' stay theirs", () => {
  const rows = [row('data', { process: 'web', path: '/data' }), row('queue', { process: 'worker', path: '/queue' }), row('spare', null)];
  assert.deepEqual(mountsByType(rows, 'web', 'run'), {
    web: [{ volume: 'data', path: '/data' }],
    worker: [{ volume: 'queue', path: '/queue' }],
    run: [{ volume: 'data', path: '/data' }],
    release: [{ volume: 'data', path: '/data' }],
  });
  assert.deepEqual(mountsByType([row('spare', null)], 'web', 'run'), {});
  assert.deepEqual(mountsByType([row('queue', { process: 'worker', path: '/q' })], 'web', 'run'), { worker: [{ volume: 'queue', path: '/q' }] });
});

test('a type with a volume runs one instance at most: scaling it above one is refused in one sentence', () => {
  const rows = [row('data', { process: 'web', path: '/data' })];
  assert.equal(scaleRefusal(rows, 'notes', 'web', 2), 'web has volume data mounted at /data, which one instance writes at a time (ReadWriteOnce); it runs 1 instance at most (storage:unmount notes data to scale it out).');
  assert.equal(scaleRefusal(rows, 'notes', 'web', 1), undefined);
  assert.equal(scaleRefusal(rows, 'notes', 'web', 0), undefined);
  assert.equal(scaleRefusal(rows, 'notes', 'worker', 5), undefined);
});

test("a volume's claim is ReadWriteOnce of its size, from the cluster's default class unless one is named", () => {
  assert.deepEqual(claimObject('notes', { name: 'data', size: '1Gi' }).spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  assert.equal(claimObject('notes', { name: 'data', size: '1Gi', storageClass: 'fast' }).spec?.storageClassName, 'fast');
  const objects = releaseObjects(withVolume);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).slice(0, 3), ['Namespace/slipway-notes', 'PersistentVolumeClaim/data', 'Secret/env-v3'], 'claims come before any pod');
  const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim') as V1PersistentVolumeClaim;
  assert.equal(claim.metadata?.namespace, 'slipway-notes');
  assert.equal(claim.metadata?.labels?.['app.kubernetes.io/instance'], 'notes');
});

test('a type with a volume mounts it, gets the CNB group on it, and is replaced (Recreate) instead of rolled', () => {
  const d = deploymentObject(withVolume, web) as V1Deployment;
  const pod = d.spec!.template.spec!;
  assert.deepEqual(d.spec?.strategy, { type: 'Recreate' });
  assert.deepEqual(pod.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }]);
  assert.deepEqual(pod.containers[0]!.volumeMounts, [{ name: 'data', mountPath: '/data' }]);
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch' }, 'still Pod Security restricted');
  assert.deepEqual(pod.containers[0]!.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
  assert.equal(pod.containers[0]!.lifecycle, undefined, 'no preStop wait: no other instance takes over meanwhile');
  assert.equal(deploymentObject(base, web).spec?.template.spec?.containers[0]!.lifecycle?.preStop?.sleep?.seconds, 5, 'a rolled web instance still waits for the ingress');
  // The type without a volume, and every type of an app without one, are exactly as before.
  for (const other of [deploymentObject(withVolume, worker), deploymentObject(base, web)]) {
    assert.deepEqual(other.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    assert.equal(other.spec?.template.spec?.volumes, undefined);
    assert.equal(other.spec?.template.spec?.containers[0]!.volumeMounts, undefined);
    assert.deepEqual(other.spec?.template.spec?.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  }
});

test('one-off and release pods mount what their mounts say', () => {
  const run = runPodObject(withVolume, { name: 'run-bcdfg', command: ['ls', '/data'], deadlineSeconds: 60, mode: 'detached' });
  assert.deepEqual(run.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }]);
  assert.deepEqual(run.spec?.containers[0]!.volumeMounts, [{ name: 'data', mountPath: '/data' }]);
  assert.equal(run.spec?.securityContext?.fsGroup, 1000);
  const rel = releasePodObject(withVolume, { type: 'release', command: [], args: [], default: false }, 60);
  assert.deepEqual(rel.spec?.containers[0]!.volumeMounts, [{ name: 'data', mountPath: '/data' }]);
  assert.equal(runPodObject(base, { name: 'run-bcdfg', command: ['ls'], deadlineSeconds: 60, mode: 'detached' }).spec?.volumes, undefined);
});

test("the namespace's quota counts volume claims and their sizes when the plan has storage", () => {
  const plan: QuotaPlan = { quota: { pods: 10, memory: '2Gi', cpu: '4' }, runs: 2, container: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' } } };
  const hard = (p: QuotaPlan) => (resourceQuotaObject('notes', p) as V1ResourceQuota).spec?.hard;
  assert.deepEqual(hard(plan), { pods: '10', 'limits.memory': '2Gi', 'limits.cpu': '4' });
  assert.deepEqual(hard({ ...plan, storage: { volumes: 5, size: '20Gi' } }), { pods: '10', 'limits.memory': '2Gi', 'limits.cpu': '4', persistentvolumeclaims: '5', 'requests.storage': '20Gi' });
});

test('the store keeps one mount per volume, and a release with two instances of a type that mounts one is refused before it is recorded', () => {
  withStore((store) => {
    store.apps.create('notes');
    assert.equal(store.volumes.add('notes', { name: 'data', size: '1Gi', storageClass: null }), true);
    assert.equal(store.volumes.add('notes', { name: 'data', size: '2Gi', storageClass: null }), false, 'one volume of a name');
    store.volumes.setMount('notes', 'data', { process: 'web', path: '/data' });
    assert.deepEqual(store.volumes.get('notes', 'data')?.mount, { process: 'web', path: '/data' });
    const services = { config: loadConfig({}), store };
    // What app.json's formation would have set before the first deploy.
    store.formation.set('notes', { web: 2 });
    assert.throws(() => admitRelease(services, 'notes', base.processes, undefined), {
      message: 'web has volume data mounted at /data, which one instance writes at a time (ReadWriteOnce); it runs 1 instance at most (storage:unmount notes data to scale it out); nothing was deployed.',
    });
    store.formation.set('notes', { web: 1 });
    admitRelease(services, 'notes', base.processes, undefined);
    store.apps.remove('notes');
    assert.deepEqual(store.volumes.list('notes'), [], 'volumes go with the app row');
  });
});

test("the nodes whose kubelet measures an app's volumes: those its running pods mounting a claim are on", () => {
  const pod = (name: string, node: string | undefined, phase: string, claims: string[], deleting = false): V1Pod => ({
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { ...(node ? { nodeName: node } : {}), containers: [], volumes: [...claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })), { name: 'tmp', emptyDir: {} }] },
    status: { phase },
  });
  const byNode = claimsByNode([
    pod('web-1', 'n1', 'Running', ['data']),
    pod('run-1', 'n1', 'Running', ['data', 'cache']),
    pod('worker-1', 'n2', 'Running', ['uploads']),
    pod('web-old', 'n3', 'Running', ['data'], true),
    pod('web-new', undefined, 'Pending', ['data']),
    pod('job-1', 'n4', 'Succeeded', ['data']),
  ]);
  assert.deepEqual([...byNode].map(([n, c]) => [n, [...c].sort()]), [['n1', ['cache', 'data']], ['n2', ['uploads']]]);
});

test("a kubelet's stats summary gives each of the namespace's claims its newest measurement; other namespaces, volumes without a claim and odd numbers are left out", () => {
  const vol = (claim: string | undefined, ns: string, used: unknown, capacity: unknown, time: string) => ({
    name: claim ?? 'tmp', time, usedBytes: used, capacityBytes: capacity, availableBytes: 1,
    ...(claim ? { pvcRef: { name: claim, namespace: ns } } : {}),
  });
  const summary = {
    node: { nodeName: 'n1' },
    pods: [
      { podRef: { name: 'web-1', namespace: 'slipway-notes' }, volume: [vol('data', 'slipway-notes', 1000, 1_000_000, '2026-01-01T00:00:10Z'), vol(undefined, 'slipway-notes', 5, 10, '2026-01-01T00:00:10Z')] },
      { podRef: { name: 'run-1', namespace: 'slipway-notes' }, volume: [vol('data', 'slipway-notes', 2000, 1_000_000, '2026-01-01T00:00:20Z'), vol('odd', 'slipway-notes', -1, 10, 'x'), vol('half', 'slipway-notes', 5, undefined, 'x')] },
      { podRef: { name: 'web-1', namespace: 'slipway-other' }, volume: [vol('secret', 'slipway-other', 7, 8, 'x')] },
      { podRef: { name: 'cron-1', namespace: 'slipway-notes' } },
    ],
  };
  assert.deepEqual([...claimUsage(summary, 'slipway-notes')], [['data', { usedBytes: 2000, capacityBytes: 1_000_000 }]]);
  for (const nothing of [null, {}, { pods: 'x' }, 'text', 3]) assert.deepEqual(claimUsage(nothing, 'slipway-notes').size, 0);
});

test('storage:list shows a volume\'s use as a size and a share, and says when it is full, not held to its size, or not known', () => {
  assert.deepEqual([showSize(1003 * 1024), showSize(12.5 * 2 ** 20), showSize(1.25 * 2 ** 30), showSize(0)], ['1003Ki', '12.5Mi', '1.25Gi', '0Ki']);
  const v = { name: 'tiny', size: '1Mi' };
  assert.equal(usageCell({}), '-');
  assert.equal(usageCell({ usedBytes: 512 * 1024, capacityBytes: 1003 * 1024 }), '512Ki (51%)');
  assert.equal(usageCell({ usedBytes: 1003 * 1024, capacityBytes: 1003 * 1024 }), '1003Ki (100%)');
  assert.deepEqual(usageNotes(v), []);
  assert.deepEqual(usageNotes({ ...v, usedBytes: 900 * 1024, capacityBytes: 1003 * 1024 }), []);
  assert.deepEqual(usageNotes({ ...v, usedBytes: 990 * 1024, capacityBytes: 1003 * 1024 }), ['Volume tiny is full (98%): writes to it fail with "No space left on device"; delete files on it, or move the data to a larger volume.']);
  // A file system larger than the claim: a directory on the node's disk, whatever it holds.
  assert.deepEqual(usageNotes({ ...v, usedBytes: 64 * 2 ** 20, capacityBytes: 48 * 2 ** 30 }), ['Volume tiny is not held to its 1Mi: its file system holds 48Gi, as its storage class does not enforce sizes (SLIPWAY_STORAGE_CLASS names one that does).']);
  assert.deepEqual(usageNotes({ ...v, usageUnknown: "node n1's kubelet answered 503 to its stats summary" }), ["The use of volume tiny is not known: node n1's kubelet answered 503 to its stats summary."]);
});
