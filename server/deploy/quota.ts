// What bounds one app in the cluster, as pure functions (plan in, objects or one sentence out): a
// ResourceQuota on its namespace (pods, and the sums of memory and CPU limits), a second one on
// its one-off pods (those with a deadline: `run`, `run:detached`, the release command), and a
// LimitRange that gives a container without limits the platform's defaults, so no pod is
// unbounded and the quota (which needs every pod to declare limits) can count every pod.
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
 * The namespace's LimitRange: the limits and requests of a container that sets none. (`_default`
 * is the library model's name for the API's `default`, which its serializer writes.)
 */
export function limitRangeObject(app: string, plan: QuotaPlan): KubeObject<V1LimitRange> {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: LIMIT_RANGE_NAME, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: { limits: [{ type: 'Container', _default: { ...plan.container.limits }, defaultRequest: { ...plan.container.requests } }] },
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

/** What a release needs from the quota: pods, bytes of memory limits, cores of CPU limits. */
export interface Demand { pods: number; memory: number; cpu: number }

/**
 * What running `r` needs at its formation, with room for the rollout: a Deployment with
 * maxUnavailable 0 adds its new pod before removing an old one, and all of them roll at once, so
 * each running type counts one pod more; the web type switched over at once (cutover) starts a
 * whole new set beside the serving one, so it counts twice. (Without that room a rollout at the
 * quota never ends.)
 */
export function releaseDemand(r: Pick<DeployableRelease, 'processes' | 'formation' | 'resources' | 'mounts'>, plan: QuotaPlan): Demand {
  const demand: Demand = { pods: 0, memory: 0, cpu: 0 };
  const atomic = cutover(r);
  for (const p of r.processes) {
    if (p.type === 'release') continue;
    const replicas = r.formation[p.type] ?? (p.type === 'web' ? 1 : 0);
    if (replicas === 0) continue;
    const pods = p.type === 'web' && atomic ? 2 * replicas : replicas + 1;
    const limits = effectiveLimits(r.resources?.[p.type]?.limits, plan);
    demand.pods += pods;
    demand.memory += pods * quantityValue(limits.memory);
    demand.cpu += pods * quantityValue(limits.cpu);
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
export function quotaRefusal(r: Pick<DeployableRelease, 'app' | 'processes' | 'formation' | 'resources' | 'mounts'>, plan: QuotaPlan, before?: Pick<DeployableRelease, 'processes' | 'formation' | 'resources' | 'mounts'>): string | undefined {
  const d = releaseDemand(r, plan);
  const was = before ? releaseDemand(before, plan) : undefined;
  const q = plan.quota;
  const running = r.processes.filter((p) => p.type !== 'release').map((p) => `${p.type}=${r.formation[p.type] ?? (p.type === 'web' ? 1 : 0)}`).join(' ');
  const need = (what: string, limit: string) =>
    `${r.app} at ${running} needs ${what} (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of ${limit} (resource:quota ${r.app}); scale down or lower its limits.`;
  const over = (field: keyof Demand, limit: number) => d[field] > limit + 1e-9 && !(was && d[field] <= was[field]);
  if (over('pods', q.pods)) return need(`${d.pods} pods`, `${q.pods} pods`);
  if (over('memory', quantityValue(q.memory))) return need(`${showBytes(d.memory)} of memory limits`, `${q.memory} of memory`);
  if (over('cpu', quantityValue(q.cpu))) return need(`${showCores(d.cpu)} CPU of limits`, `${q.cpu} CPU`);
  return undefined;
}

/** The one sentence refusing a one-off pod beyond the app's limit. */
export function runLimitRefusal(app: string, running: number, limit: number): string {
  return `${app} already runs ${running} one-off pod${running === 1 ? '' : 's'}, the most it may run at once (SLIPWAY_APP_MAX_RUNS=${limit}); wait for one to finish (logs ${app} -p run shows them).`;
}
