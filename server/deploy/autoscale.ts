// Autoscaled process types (ps:autoscale), as pure functions: one HorizontalPodAutoscaler
// (autoscaling/v2, on the cluster's metrics API) per autoscaled type, named as the type's
// Deployment. It aims at an average use given in percent of each instance's limits, which it is
// told as an absolute quantity per pod (AverageValue): Kubernetes' own Utilization is a percent of
// the requests, which Slipway keeps low by default so that more fits on a node, and "70 % of a
// request of 100m" would say little to a user who set a limit. Web's targets the set of web
// instances that serves (as the Service and the budget do): the warm set and a set still rolling
// out are outside it, and the switch moves it with the traffic.
import type { KubeObject, V2HorizontalPodAutoscaler } from '../kube/types.ts';
import type { Autoscale, DeployableRelease } from '../model.ts';
import { ANNOTATION, LABEL, appLabels, namespaceFor, processName } from '../kube/labels.ts';
import { quantityValue } from '../kube/quantity.ts';
import { cpuQuantityOf, effectiveLimits, storageQuantity } from './quota.ts';
import { cutover, webSetName } from './workload.ts';

/** Kubernetes' own scale-down stabilization window, in seconds (SLIPWAY_AUTOSCALE_SCALE_DOWN_S's default). */
export const DEFAULT_SCALE_DOWN_SECONDS = 300;

/** The Deployment an autoscaled type's autoscaler counts: web's set of release `serving` when web is switched over at once, else the type's one Deployment. */
export function autoscaleTarget(r: Pick<DeployableRelease, 'processes' | 'mounts'>, type: string, serving: number): string {
  return type === 'web' && cutover(r) ? webSetName(serving) : processName(type);
}

/**
 * The average use per instance the autoscaler aims at: the rule's percents of the type's limits
 * (its own, else the namespace's defaults), as quantities; undefined for a metric the rule leaves out.
 */
export function targetUse(r: Pick<DeployableRelease, 'resources' | 'quota'>, type: string, rule: Autoscale): { cpu?: string; memory?: string } {
  const own = r.resources?.[type]?.limits;
  const limits = r.quota ? effectiveLimits(own, r.quota) : { cpu: own?.cpu, memory: own?.memory };
  const out: { cpu?: string; memory?: string } = {};
  // At least 1m and 1Mi: a target of zero would ask for max instances at any load.
  if (rule.cpu !== undefined && limits.cpu) out.cpu = cpuQuantityOf(Math.max(0.001, quantityValue(limits.cpu) * rule.cpu / 100));
  if (rule.memory !== undefined && limits.memory) out.memory = storageQuantity(Math.max(2 ** 20, quantityValue(limits.memory) * rule.memory / 100));
  return out;
}

/** The HorizontalPodAutoscaler of one autoscaled process type of a release, counting the Deployment autoscaleTarget names. */
export function autoscalerObject(r: DeployableRelease, type: string, rule: Autoscale, serving: number = r.version): KubeObject<V2HorizontalPodAutoscaler> {
  const name = processName(type);
  const use = targetUse(r, type, rule);
  const metric = (resource: 'cpu' | 'memory', averageValue: string | undefined) => (averageValue === undefined ? [] : [{
    type: 'Resource',
    resource: { name: resource, target: { type: 'AverageValue', averageValue } },
  }]);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: namespaceFor(r.app), labels: { ...appLabels(r.app), [LABEL.process]: name }, annotations: { [ANNOTATION.processType]: type } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: autoscaleTarget(r, type, serving) },
      minReplicas: rule.min,
      maxReplicas: rule.max,
      metrics: [...metric('cpu', use.cpu), ...metric('memory', use.memory)],
      // Up at Kubernetes' default pace; down only after the load stayed low for the window.
      behavior: { scaleDown: { stabilizationWindowSeconds: rule.scaleDownSeconds ?? DEFAULT_SCALE_DOWN_SECONDS } },
    },
  } as KubeObject<V2HorizontalPodAutoscaler>;
}

/** The autoscalers of a release's autoscaled types (none for a type the release does not run). */
export function autoscalerObjects(r: DeployableRelease, serving: number = r.version): KubeObject<V2HorizontalPodAutoscaler>[] {
  const types = new Set(r.processes.map((p) => p.type));
  return Object.entries(r.autoscale ?? {}).filter(([type]) => types.has(type) && type !== 'release').map(([type, rule]) => autoscalerObject(r, type, rule, serving));
}

/** Web's autoscaler when the traffic goes to release `serving`'s set; undefined when web is not autoscaled. */
export function webAutoscalerObject(r: DeployableRelease, serving: number): KubeObject<V2HorizontalPodAutoscaler> | undefined {
  const rule = r.autoscale?.web;
  return rule && r.processes.some((p) => p.type === 'web') ? autoscalerObject(r, 'web', rule, serving) : undefined;
}

/** The instances a new set of an autoscaled type starts with: what the set it takes over from runs, within the rule's bounds. */
export function startReplicas(rule: Pick<Autoscale, 'min' | 'max'>, running: number | undefined): number {
  return Math.min(rule.max, Math.max(rule.min, running ?? rule.min));
}
