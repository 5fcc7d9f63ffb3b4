// What bounds one app in the cluster, as pure functions (plan in, objects or one sentence out): a
// ResourceQuota on its namespace (pods, and the sums of memory, CPU and scratch disk limits), a
// second one on its one-off pods (those with a deadline: `run`, `run:detached`, the release
// command), and a LimitRange that gives a container without limits the platform's defaults, so no
// pod is unbounded and the quota (which needs every pod to declare limits) can count every pod.
// A preview's plan is its share of its parent's (previewPlan).
import type { KubeObject, V1LimitRange, V1ResourceQuota } from '../kube/types.ts';
import type { DeployableRelease, QuotaPlan, ResourceQuantities } from '../model.ts';
import { appLabels, namespaceFor } from '../kube/labels.ts';
import { quantityValue } from '../kube/quantity.ts';
import { cutover } from './workload.ts';

/** Names of the objects this module makes (one of each per app namespace). */
export const QUOTA_NAME = 'slipway-quota';
export const ONE_OFF_QUOTA_NAME = 'slipway-one-off';
export const LIMIT_RANGE_NAME = 'slipway-defaults';

/** Most pods any app's quota may allow (resource:quota's bound, and ps:scale's typo guard): a node holds 110 pods in all. */
export const MAX_APP_PODS = 500;

/** Kinds that must be in the namespace before any of the app's pods is created (its isolation, quota, defaults and volume claims). */
export const GUARD_KINDS: ReadonlySet<string> = new Set(['NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PersistentVolumeClaim']);

/** The namespace's ResourceQuota: every pod of the app together. */
export function resourceQuotaObject(app: string, plan: QuotaPlan): KubeObject<V1ResourceQuota> {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: QUOTA_NAME, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      hard: {
        pods: String(plan.quota.pods), 'limits.memory': plan.quota.memory, 'limits.cpu': plan.quota.cpu,
        // Scratch disk: without it one app's pods could fill the node's disk (issue 35, item 8).
        ...(plan.quota.ephemeralStorage ? { 'requests.ephemeral-storage': plan.quota.ephemeralStorage, 'limits.ephemeral-storage': plan.quota.ephemeralStorage } : {}),
        // Volume claims count too: how many, and their sizes together.
        ...(plan.storage ? { persistentvolumeclaims: String(plan.storage.volumes), 'requests.storage': plan.storage.size } : {}),
      },
    },
  };
}

/**
 * The quota of pods with a deadline (the `Terminating` scope: activeDeadlineSeconds set), which
 * are exactly the one-off and release pods; Deployments' pods have none. The API server enforces
 * it atomically, so concurrent `run:detached` calls cannot slip past it; one more than `runs`
 * leaves room for a push's release pod while the most one-off pods run.
 */
export function oneOffQuotaObject(app: string, plan: QuotaPlan): KubeObject<V1ResourceQuota> {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: ONE_OFF_QUOTA_NAME, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: { scopes: ['Terminating'], hard: { pods: String(plan.runs + 1) } },
  };
}

/**
 * The namespace's LimitRange: the limits and requests of a container that sets none, and every
 * container's scratch disk (Slipway never sets one itself, so each gets this). (`_default` is the
 * library model's name for the API's `default`, which its serializer writes.)
 */
export function limitRangeObject(app: string, plan: QuotaPlan): KubeObject<V1LimitRange> {
  const disk = plan.container.ephemeralStorage;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: LIMIT_RANGE_NAME, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      limits: [{
        type: 'Container',
        _default: { ...plan.container.limits, ...(disk ? { 'ephemeral-storage': disk.limit } : {}) },
        defaultRequest: { ...plan.container.requests, ...(disk ? { 'ephemeral-storage': disk.request } : {}) },
      }],
    },
  };
}

/** The three objects that bound an app, applied before any of its pods is created. */
export function quotaObjects(app: string, plan: QuotaPlan): KubeObject[] {
  return [resourceQuotaObject(app, plan), oneOffQuotaObject(app, plan), limitRangeObject(app, plan)];
}

/** A container's limits as the cluster will see them: its own, else the namespace's defaults. */
export function effectiveLimits(own: ResourceQuantities | undefined, plan: QuotaPlan): { memory: string; cpu: string } {
  return { memory: own?.memory ?? plan.container.limits.memory, cpu: own?.cpu ?? plan.container.limits.cpu };
}

/** What a release needs from the quota: pods, bytes of memory limits, cores of CPU limits, bytes of scratch disk limits. */
export interface Demand { pods: number; memory: number; cpu: number; disk: number }

/**
 * What running `r` needs at its formation, with room for the rollout: a Deployment with
 * maxUnavailable 0 adds its new pod before removing an old one, and all of them roll at once, so
 * each running type counts one pod more; the web type switched over at once (cutover) starts a
 * whole new set beside the serving one, so it counts twice. (Without that room a rollout at the
 * quota never ends.) An autoscaled type counts at its max.
 */
export function releaseDemand(r: Pick<DeployableRelease, 'processes' | 'formation' | 'resources' | 'mounts' | 'databases' | 'autoscale'>, plan: QuotaPlan): Demand {
  const demand: Demand = { pods: 0, memory: 0, cpu: 0, disk: 0 };
  const disk = plan.container.ephemeralStorage ? quantityValue(plan.container.ephemeralStorage.limit) : 0;
  // Each database is one pod that stays through a rollout (the namespace's defaults give it scratch disk).
  for (const d of r.databases ?? []) {
    demand.pods += 1;
    demand.memory += quantityValue(d.memory);
    demand.cpu += quantityValue(d.cpu);
    demand.disk += disk;
  }
  const atomic = cutover(r);
  for (const p of r.processes) {
    if (p.type === 'release') continue;
    // An autoscaled type may run its max: the quota must hold that (ps:autoscale is refused otherwise).
    const replicas = r.autoscale?.[p.type]?.max ?? r.formation[p.type] ?? (p.type === 'web' ? 1 : 0);
    if (replicas === 0) continue;
    const pods = p.type === 'web' && atomic ? 2 * replicas : replicas + 1;
    const limits = effectiveLimits(r.resources?.[p.type]?.limits, plan);
    demand.pods += pods;
    demand.memory += pods * quantityValue(limits.memory);
    demand.cpu += pods * quantityValue(limits.cpu);
    demand.disk += pods * disk;
  }
  return demand;
}

/** Bytes as a memory quantity a person reads (`1.5Gi`, `768Mi`). */
export function showBytes(n: number): string {
  const round = (x: number) => String(Math.round(x * 100) / 100);
  return n >= 2 ** 30 ? `${round(n / 2 ** 30)}Gi` : `${round(n / 2 ** 20)}Mi`;
}

/** Cores as a CPU quantity a person reads (`2`, `1.5`, `500m`). */
export function showCores(n: number): string {
  return n >= 1 ? String(Math.round(n * 1000) / 1000) : `${Math.round(n * 1000)}m`;
}

/**
 * The one sentence refusing a release whose formation does not fit the app's quota, or undefined
 * when it fits. Said before anything is applied, instead of a Deployment that can never fill.
 * With `before` (what runs now), a change that does not need more of what is over the quota
 * passes: scaling down an app an admin's lower quota left over it must stay possible.
 */
export function quotaRefusal(r: Pick<DeployableRelease, 'app' | 'processes' | 'formation' | 'resources' | 'mounts' | 'databases' | 'autoscale'>, plan: QuotaPlan, before?: Pick<DeployableRelease, 'processes' | 'formation' | 'resources' | 'mounts' | 'databases' | 'autoscale'>): string | undefined {
  const d = releaseDemand(r, plan);
  const was = before ? releaseDemand(before, plan) : undefined;
  const q = plan.quota;
  const dbs = r.databases?.length ? `${r.databases.length} database${r.databases.length > 1 ? 's' : ''}` : '';
  const count = (type: string) => {
    const rule = r.autoscale?.[type];
    return rule ? `${rule.min}..${rule.max}` : String(r.formation[type] ?? (type === 'web' ? 1 : 0));
  };
  const formation = r.processes.filter((p) => p.type !== 'release').map((p) => `${p.type}=${count(p.type)}`).join(' ');
  // No process yet (a database made before the first push): the databases alone.
  const running = formation && dbs ? `${formation} with ${dbs}` : `${formation || dbs}`;
  // A preview's quota is its share of its parent's: the words say so, and how to give it more.
  const source = plan.share
    ? `1/${plan.share.previews} of ${plan.share.parent}'s quota, previews:limit ${plan.share.parent}); scale down, lower its limits or lower previews:limit ${plan.share.parent}.`
    : `resource:quota ${r.app}); scale down${r.autoscale && Object.keys(r.autoscale).length ? ', lower an autoscaled type\'s --max' : ''} or lower its limits.`;
  const need = (what: string, limit: string) =>
    `${r.app}${running ? ` at ${running}` : ''} needs ${what} (counting ${r.autoscale && Object.keys(r.autoscale).length ? 'an autoscaled type at its max, ' : ''}a second set of web instances and one extra pod per other process type while it rolls out), above its quota of ${limit} (${source}`;
  const over = (field: keyof Demand, limit: number) => d[field] > limit + 1e-9 && !(was && d[field] <= was[field]);
  if (over('pods', q.pods)) return need(`${d.pods} pods`, `${q.pods} pods`);
  if (over('memory', quantityValue(q.memory))) return need(`${showBytes(d.memory)} of memory limits`, `${q.memory} of memory`);
  if (over('cpu', quantityValue(q.cpu))) return need(`${showCores(d.cpu)} CPU of limits`, `${q.cpu} CPU`);
  if (q.ephemeralStorage && over('disk', quantityValue(q.ephemeralStorage))) return need(`${showBytes(d.disk)} of scratch disk limits`, `${q.ephemeralStorage} of scratch disk`);
  return undefined;
}

/** The one sentence refusing a one-off pod beyond the app's limit. */
export function runLimitRefusal(app: string, running: number, limit: number): string {
  return `${app} already runs ${running} one-off pod${running === 1 ? '' : 's'}, the most it may run at once (SLIPWAY_APP_MAX_RUNS=${limit}); wait for one to finish (logs ${app} -p run shows them).`;
}

/**
 * Bytes as the storage quantity that says them exactly in the largest unit (`10Gi`, `1536Mi`),
 * rounded down to a whole Mi.
 */
export function storageQuantity(bytes: number): string {
  const mi = Math.floor(bytes / 2 ** 20 + 1e-9);
  return mi > 0 && mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
}

/** Cores as a CPU quantity, rounded down to a whole millicore (`2`, `400m`). */
export function cpuQuantityOf(cores: number): string {
  const m = Math.floor(cores * 1000 + 1e-9);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** The smaller of two quantities, as written. */
function least(a: string, b: string): string {
  return quantityValue(b) < quantityValue(a) ? b : a;
}

/**
 * The pods a preview's formation needs by default: its one web instance and the one that
 * replaces it while it rolls out. A preview's container defaults are sized so that these fit in
 * its share.
 */
export const PREVIEW_ROOM = 2;

/**
 * A preview's plan: `parent`'s quota split evenly between the `previews` previews its
 * previews:limit allows (pods, memory, CPU and scratch disk, each rounded down; its volumes too),
 * so that all of them together never hold more than the parent's quota, and one never more than
 * the parent. Split by the limit, not by how many previews there are now, a preview's share does
 * not move when another comes or goes. The container defaults are the parent's, or smaller where
 * the share could not hold PREVIEW_ROOM containers of them; requests stay under those limits.
 */
export function previewPlan(parentPlan: QuotaPlan, parent: string, previews: number): QuotaPlan {
  const n = Math.max(1, previews);
  const q = parentPlan.quota;
  const memory = storageQuantity(quantityValue(q.memory) / n);
  const cpu = cpuQuantityOf(quantityValue(q.cpu) / n);
  const ephemeral = q.ephemeralStorage === undefined ? undefined : storageQuantity(quantityValue(q.ephemeralStorage) / n);
  // Never below 1Mi and 1m: a LimitRange default of 0 would mean no limit at all. Such a share
  // is refused by quotaRefusal before anything runs, as the pods need more than it holds.
  const room = (total: string, unit: (x: number) => string, min: number) => unit(Math.max(min, quantityValue(total) / PREVIEW_ROOM));
  const limits = {
    memory: least(parentPlan.container.limits.memory, room(memory, storageQuantity, 2 ** 20)),
    cpu: least(parentPlan.container.limits.cpu, room(cpu, cpuQuantityOf, 1e-3)),
  };
  const disk = parentPlan.container.ephemeralStorage;
  const diskLimit = disk && ephemeral !== undefined ? least(disk.limit, room(ephemeral, storageQuantity, 2 ** 20)) : disk?.limit;
  return {
    quota: { pods: Math.floor(q.pods / n), memory, cpu, ...(ephemeral !== undefined ? { ephemeralStorage: ephemeral } : {}) },
    ...(parentPlan.storage ? { storage: { volumes: Math.floor(parentPlan.storage.volumes / n), size: storageQuantity(quantityValue(parentPlan.storage.size) / n) } } : {}),
    runs: parentPlan.runs,
    container: {
      limits,
      requests: { memory: least(parentPlan.container.requests.memory, limits.memory), cpu: least(parentPlan.container.requests.cpu, limits.cpu) },
      ...(disk && diskLimit ? { ephemeralStorage: { limit: diskLimit, request: least(disk.request, diskLimit) } } : {}),
    },
    share: { parent, previews: n },
  };
}
