// An app's persistent volumes as Kubernetes objects, as pure functions: a ReadWriteOnce
// PersistentVolumeClaim per volume (from the cluster's default StorageClass unless an admin named
// one), and what a pod of a process type adds to mount them: the volumes, the mounts, a group the
// CNB user writes with, and a rollout that never runs two instances of it at once.
import type { KubeObject, V1DeploymentStrategy, V1PersistentVolumeClaim, V1Pod, V1PodSecurityContext, V1Volume, V1VolumeMount } from '../kube/types.ts';
import type { DeployableRelease, Volume, VolumeMount } from '../model.ts';
import type { VolumeUsage } from './deployer.ts';
import { appLabels, namespaceFor } from '../kube/labels.ts';
import { DATA_CA_DIR, DATA_CA_MAP } from './data.ts';

/**
 * The group every mounted volume is made writable for (fsGroup): the CNB group of both stacks
 * (heroku-24's user 1001 and ours 1000 are both in group 1000), so the app's user writes to it
 * whichever builder made the image.
 */
export const VOLUME_GROUP = 1000;

/** A volume's claim: ReadWriteOnce, of its size, from its class (absent: the cluster's default). */
export function claimObject(app: string, v: Volume): KubeObject<V1PersistentVolumeClaim> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: v.name, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: v.size } },
      ...(v.storageClass ? { storageClassName: v.storageClass } : {}),
    },
  };
}

/** Every claim of a release's app, made before any of its pods. */
export function claimObjects(r: Pick<DeployableRelease, 'app' | 'volumes'>): KubeObject<V1PersistentVolumeClaim>[] {
  return (r.volumes ?? []).map((v) => claimObject(r.app, v));
}

/** The mounts of one process type (or `run`, `release`). */
export function mountsOf(r: Pick<DeployableRelease, 'mounts'>, type: string): readonly VolumeMount[] {
  return r.mounts?.[type] ?? [];
}

/** The pod volumes of a type's mounts, named after the volumes (DNS labels), each its app's claim. */
export function podVolumes(mounts: readonly VolumeMount[]): V1Volume[] {
  return [...new Set(mounts.map((m) => m.volume))].map((name) => ({ name, persistentVolumeClaim: { claimName: name } }));
}

/** The container's mounts of a type's volumes. */
export function containerMounts(mounts: readonly VolumeMount[]): V1VolumeMount[] {
  return mounts.map((m) => ({ name: m.volume, mountPath: m.path }));
}

/**
 * The pod volume of the app's databases' certificate authority (DATA_CA_MAP). Its name starts
 * with a digit, which no volume of storage:create may (they start with a letter).
 */
const DATA_CA_VOLUME = '0-data-ca';

/** What a pod spec of a type adds for its mounts and, when the app has databases (`dataCa`), their authority's certificate (nothing without either). */
export function podVolumeFields(mounts: readonly VolumeMount[], dataCa = false): { volumes?: V1Volume[] } {
  const volumes = [...podVolumes(mounts), ...(dataCa ? [{ name: DATA_CA_VOLUME, configMap: { name: DATA_CA_MAP } }] : [])];
  return volumes.length ? { volumes } : {};
}

/** What a container of a type adds for its mounts and the databases' authority (nothing without either). */
export function containerVolumeFields(mounts: readonly VolumeMount[], dataCa = false): { volumeMounts?: V1VolumeMount[] } {
  const volumeMounts = [...containerMounts(mounts), ...(dataCa ? [{ name: DATA_CA_VOLUME, mountPath: DATA_CA_DIR, readOnly: true }] : [])];
  return volumeMounts.length ? { volumeMounts } : {};
}

/**
 * The pod security context's additions for mounts: the volume's files are given VOLUME_GROUP
 * (only when the root is not that group yet, so a large volume is not walked on every start).
 * Pods without mounts get nothing, so their template (and what runs) does not change.
 */
export function volumeSecurity(mounts: readonly VolumeMount[]): Partial<V1PodSecurityContext> {
  return mounts.length ? { fsGroup: VOLUME_GROUP, fsGroupChangePolicy: 'OnRootMismatch' } : {};
}

/**
 * The Deployment strategy of a type. A ReadWriteOnce volume is written by one instance at a
 * time: a type with one is replaced (Recreate: the old pod stops before the new one starts, a few
 * seconds without it) instead of rolled (a new pod ready before the old one goes, two writers at
 * once). Every other type rolls with no fewer ready pods than asked for.
 */
export function strategyFor(mounts: readonly VolumeMount[]): V1DeploymentStrategy {
  return mounts.length ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
}

/** The claims the running pods mount, by the node each runs on: the nodes whose kubelet measures them. */
export function claimsByNode(pods: readonly V1Pod[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of pods) {
    const node = p.spec?.nodeName;
    if (!node || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) continue;
    for (const v of p.spec?.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      let set = out.get(node);
      if (!set) out.set(node, (set = new Set()));
      set.add(claim);
    }
  }
  return out;
}

/** A number a kubelet reported, or undefined when it is not a whole number of bytes. */
function bytes(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined;
}

/**
 * The use of `namespace`'s claims in a kubelet's stats summary (GET /api/v1/nodes/NODE/proxy/
 * stats/summary): each pod volume the kubelet measured (its volume plugin reports metrics: `local`
 * and CSI volumes do, `hostPath` ones do not) that names a claim of the namespace, the newest
 * measurement when several pods mount one. Anything else in the summary is ignored.
 */
export function claimUsage(summary: unknown, namespace: string): Map<string, VolumeUsage> {
  const out = new Map<string, VolumeUsage & { time: string }>();
  const pods = (summary as { pods?: unknown } | null)?.pods;
  if (!Array.isArray(pods)) return new Map();
  for (const pod of pods as { podRef?: { namespace?: unknown }; volume?: unknown }[]) {
    if (pod?.podRef?.namespace !== namespace || !Array.isArray(pod.volume)) continue;
    for (const v of pod.volume as { pvcRef?: { name?: unknown; namespace?: unknown }; usedBytes?: unknown; capacityBytes?: unknown; time?: unknown }[]) {
      const claim = v?.pvcRef?.name;
      const usedBytes = bytes(v?.usedBytes);
      const capacityBytes = bytes(v?.capacityBytes);
      if (typeof claim !== 'string' || v.pvcRef?.namespace !== namespace || usedBytes === undefined || capacityBytes === undefined) continue;
      const time = typeof v.time === 'string' ? v.time : '';
      const seen = out.get(claim);
      if (!seen || time > seen.time) out.set(claim, { usedBytes, capacityBytes, time });
    }
  }
  return new Map([...out].map(([claim, { usedBytes, capacityBytes }]) => [claim, { usedBytes, capacityBytes }]));
}
