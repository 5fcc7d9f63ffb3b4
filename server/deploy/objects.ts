import type { KubeObject, ObjectOptions, V1Namespace, V1PodDisruptionBudget, V1Secret } from '../kube/types.ts';
import type { DeployableRelease } from '../model.ts';
import { LABEL, appLabels, namespaceFor, processName, processSelector, secretName } from '../kube/labels.ts';
import { autoscalerObjects } from './autoscale.ts';
import { RELEASE_TYPE, cutover, deploymentObject, replicasFor } from './workload.ts';
import { BUDGET_MIN_INSTANCES, disruptionBudgetObject } from '../kube/placement.ts';
import { ingressObjects, serviceObject } from './network.ts';
import { tlsObjects } from './tls.ts';
import { quotaObjects } from './quota.ts';
import { networkPolicyObjects } from '../kube/netpol.ts';
import { claimObjects } from './volumes.ts';
import { dataCaObject } from './data.ts';

/**
 * An app's namespace. Pod Security "restricted": the API server admits no pod there that runs as
 * root, keeps a capability, may gain privileges or runs without the runtime's seccomp profile
 * (workload.ts's pods meet it; so do cert-manager's ACME solver pods).
 */
export function namespaceObject(app: string): KubeObject<V1Namespace> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespaceFor(app), labels: { ...appLabels(app), 'pod-security.kubernetes.io/enforce': 'restricted' } },
  };
}

/**
 * A release's config as an immutable Secret, one per release. A new name per release means a
 * config-only change gives the pod template a new `envFrom` reference (so it rolls), old pods
 * keep reading the config they started with during the rollout, and restoring the previous
 * release points back at its own, unchanged Secret. This is the only object holding values.
 */
export function secretObject(r: DeployableRelease): KubeObject<V1Secret> {
  // Own properties (fromEntries), so a var named `__proto__` is a key like any other.
  const data: Record<string, string> = Object.fromEntries(Object.entries(r.config).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(r.version), namespace: namespaceFor(r.app), labels: { ...appLabels(r.app), [LABEL.release]: String(r.version) } },
    type: 'Opaque',
    immutable: true,
    // No `data` at all for an empty config: the API server stores an empty map as none, and
    // re-applying `data: {}` to an immutable Secret stored without data is refused as a change.
    ...(Object.keys(data).length > 0 ? { data } : {}),
  };
}

/**
 * What must exist before any pod of the app is created: the namespace, then its NetworkPolicies
 * (when `opts.network` is given), its quota and container defaults (admission applies them to pods
 * as they are created, never afterwards).
 */
export function guardObjects(r: Pick<DeployableRelease, 'app' | 'quota' | 'egress'>, opts: ObjectOptions = {}): KubeObject[] {
  return [namespaceObject(r.app), ...(opts.network ? networkPolicyObjects(r, opts.network) : []), ...(r.quota ? quotaObjects(r.app, r.quota) : [])];
}

/**
 * Everything a release runs, in apply order: the namespace and what must precede any pod
 * (guardObjects), the app's volume claims, the config Secret, one Deployment per process type but `release`, and for `web`
 * a Service, its TLS objects and its Ingresses (`redirect`: the hosts whose certificate is there).
 * The Service selects the set of web instances of release `serving` (default: this one's) when
 * the release is switched over at once (cutover). Pure: release in, objects out.
 */
export function releaseObjects(r: DeployableRelease, opts: ObjectOptions = {}, redirect: ReadonlySet<string> = new Set(), serving: number = r.version): KubeObject[] {
  // The volumes' claims before any pod that mounts them (GUARD_KINDS applies them with the guards).
  const objects: KubeObject[] = [...guardObjects(r, opts), ...claimObjects(r), secretObject(r), ...(r.dataCa !== undefined ? [dataCaObject(r.app, r.dataCa)] : [])];
  // The release command runs once per release (release phase), not as a long-running process.
  for (const p of r.processes) if (p.type !== RELEASE_TYPE) objects.push(deploymentObject(r, p));
  objects.push(...budgetObjects(r, serving));
  // Autoscalers count the set that serves (web's moves with the switch, as its budget does).
  objects.push(...autoscalerObjects(r, serving));
  if (r.processes.some((p) => p.type === 'web')) objects.push(serviceObject(r, cutover(r) ? serving : undefined), ...tlsObjects(r), ...ingressObjects(r, opts, redirect));
  return objects;
}

/**
 * The PodDisruptionBudget of each process type running BUDGET_MIN_INSTANCES or more (named as its
 * Deployment, or `web`); a type with fewer has none, and prune removes one it had. Web's selects
 * the set of release `serving` when web is switched over at once (cutover): the set that serves
 * is the one a drain must not empty, so the switch moves the budget with the Service.
 */
export function budgetObjects(r: DeployableRelease, serving: number = r.version): KubeObject<V1PodDisruptionBudget>[] {
  return r.processes.filter((p) => p.type !== RELEASE_TYPE && replicasFor(r, p.type) >= BUDGET_MIN_INSTANCES).map((p) => {
    const name = processName(p.type);
    const set = p.type === 'web' && cutover(r);
    return disruptionBudgetObject(r.app, name, set ? { ...processSelector(r.app, name), [LABEL.release]: String(serving) } : processSelector(r.app, name));
  });
}

/** Web's PodDisruptionBudget when the traffic goes to release `serving`'s set; undefined when web runs fewer than two instances. */
export function webBudgetObject(r: DeployableRelease, serving: number): KubeObject<V1PodDisruptionBudget> | undefined {
  return budgetObjects({ ...r, processes: r.processes.filter((p) => p.type === 'web') }, serving)[0];
}
