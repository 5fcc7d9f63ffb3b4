// What an app's pods use, from the metrics API's PodMetrics objects: pure functions, tested
// without a cluster. metrics-server names each PodMetrics as its pod and copies the pod's labels,
// so the Deployment's selector says which Deployment (process type, a web set's release) it belongs to.
import type { V1Deployment } from '../kube/types.ts';
import type { PodMetricsItem } from '../kube/client.ts';
import type { PodUsage } from './deployer.ts';
import { processTypeOf } from './rollout.ts';
import { quantityValue } from '../kube/quantity.ts';

/** The value of a quantity the metrics API writes: the API's own suffixes plus n (nano) and u (micro), which CPU usage comes in; NaN when it is none. */
export function usageValue(q: string): number {
  const small = /^(\d+(?:\.\d+)?)([nu])$/.exec(q);
  if (small) return Number(small[1]) / (small[2] === 'n' ? 1e9 : 1e6);
  return quantityValue(q);
}

/** Sums one container quantity over a pod's containers (a missing or unreadable one counts 0). */
function total(item: PodMetricsItem, resource: 'cpu' | 'memory'): number {
  let sum = 0;
  for (const c of item.containers ?? []) {
    const v = usageValue(c.usage?.[resource] ?? '0');
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/**
 * Each Deployment's process type with the usage of its measured pods (by name), web first, then by
 * type: the shape `ps:metrics` and the API show. A type whose pods were not measured yet (a pod
 * appears in the metrics API a resolution or two after it starts) has no pods.
 */
/** Whether a Deployment's selector takes a pod with these labels (a web set's names its release too). */
function selects(d: V1Deployment, labels: Readonly<Record<string, string>> | undefined): boolean {
  const wanted = Object.entries(d.spec?.selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels?.[k] === v);
}

export function processUsage(deployments: readonly V1Deployment[], metrics: readonly PodMetricsItem[]): { type: string; pods: PodUsage[] }[] {
  return deployments
    .map((d) => {
      const type = processTypeOf(d);
      const pods = metrics
        .filter((m) => m.metadata?.name && selects(d, m.metadata.labels))
        .map((m): PodUsage => ({
          name: m.metadata!.name!,
          process: type,
          cpuMillicores: Math.round(total(m, 'cpu') * 1000),
          memoryBytes: Math.round(total(m, 'memory')),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { type, pods };
    })
    .sort((a, b) => (a.type === 'web' ? -1 : b.type === 'web' ? 1 : a.type.localeCompare(b.type)));
}
