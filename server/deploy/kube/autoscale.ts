// Autoscaled process types on the cluster: their Deployments' replicas handed over to their
// HorizontalPodAutoscalers (server-side apply's field managers), and the autoscalers as ps shows them.
import type { KubeObject, V1Deployment, V2HorizontalPodAutoscaler } from '../../kube/types.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ANNOTATION, AUTOSCALE_FIELD_MANAGER, LABEL, appSelector, namespaceFor } from '../../kube/labels.ts';
import { quantityValue } from '../../kube/quantity.ts';
import type { DeployableRelease } from '../../model.ts';
import type { AutoscalerState, Autoscalers } from '../deployer.ts';
import type { InstanceEvent } from '../instance-events.ts';
import { processTypeOf } from '../rollout.ts';
import { startReplicas } from '../autoscale.ts';
import { cutover, webSetName } from '../workload.ts';
import { KubePart } from './context.ts';

/**
 * Applies one of a release's objects; a Deployment of an autoscaled type without fighting its
 * autoscaler over spec.replicas. A new one starts with as many instances as the set it takes over
 * from (`serving`'s, for web), within the rule's bounds. An existing one is applied without
 * replicas, so Slipway's field manager lets go of them: first AUTOSCALE_FIELD_MANAGER applies the
 * count it has now (within the bounds: an autoscaler of a Deployment at 0, after ps:start, would
 * never start it), so that letting go leaves that count (a field no manager holds any more would
 * go back to 1), until the autoscaler's first change takes the field over. Between the read and
 * that apply the autoscaler may have moved the count: it moves it again at its next look (15 s).
 */
export async function applyWorkload(client: KubeClient, o: KubeObject, release: DeployableRelease, serving: number | undefined): Promise<KubeObject> {
  const rule = o.kind === 'Deployment' ? release.autoscale?.[processTypeOf(o as V1Deployment)] : undefined;
  if (!rule) return client.apply(o);
  const d = o as KubeObject<V1Deployment>;
  const ns = d.metadata.namespace!;
  const existing = await client.read<V1Deployment>('apps/v1', 'Deployment', d.metadata.name, ns);
  if (existing) {
    await client.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: d.metadata.name, namespace: ns }, spec: { replicas: startReplicas(rule, existing.spec?.replicas) } }, AUTOSCALE_FIELD_MANAGER);
    const { replicas: _owned, ...spec } = d.spec!;
    return client.apply({ ...d, spec } as KubeObject);
  }
  const from = processTypeOf(d) === 'web' && cutover(release) && serving !== undefined && webSetName(serving) !== d.metadata.name
    ? (await client.read<V1Deployment>('apps/v1', 'Deployment', webSetName(serving), ns))?.spec?.replicas
    : undefined;
  return client.apply({ ...d, spec: { ...d.spec!, replicas: startReplicas(rule, from) } } as KubeObject);
}

/** The average use per instance the autoscaler last read, by resource, as its status says it (`94m`). */
function currentUse(h: V2HorizontalPodAutoscaler): Map<string, string> {
  return new Map((h.status?.currentMetrics ?? []).flatMap((m) => (m.resource?.current.averageValue !== undefined ? [[m.resource.name, String(m.resource.current.averageValue)] as const] : [])));
}

/** One autoscaler as ps shows it. */
export function autoscalerState(h: V2HorizontalPodAutoscaler): AutoscalerState {
  const current = new Map([...currentUse(h)].map(([name, raw]) => [name, quantityValue(raw)] as const));
  const metrics = (h.spec?.metrics ?? []).flatMap((m) => {
    const target = m.resource?.target.averageValue;
    if (!m.resource || target === undefined) return [];
    const now = current.get(m.resource.name);
    return [{ resource: m.resource.name, ...(now !== undefined ? { current: now } : {}), target: quantityValue(String(target)) }];
  });
  const stuck = (h.status?.conditions ?? []).find((c) => (c.type === 'ScalingActive' || c.type === 'AbleToScale') && c.status === 'False');
  return {
    type: h.metadata?.annotations?.[ANNOTATION.processType] ?? h.metadata?.name ?? '',
    min: h.spec?.minReplicas ?? 1,
    max: h.spec?.maxReplicas ?? 1,
    target: h.spec?.scaleTargetRef.name ?? '',
    current: h.status?.currentReplicas ?? 0,
    desired: h.status?.desiredReplicas ?? 0,
    metrics,
    ...(stuck?.message ? { why: stuck.message } : {}),
  };
}

/** When the autoscaler last changed its count (its status's lastScaleTime, a Date or the API's string), in ms. */
function lastScaled(h: V2HorizontalPodAutoscaler): number | undefined {
  const at = h.status?.lastScaleTime;
  return at === undefined ? undefined : new Date(at).getTime();
}

/** `cpu 94m per instance, target 50m` for each metric the autoscaler reads, as its status and spec say them. */
function useWords(h: V2HorizontalPodAutoscaler): string {
  const current = currentUse(h);
  return (h.spec?.metrics ?? []).flatMap((m) => {
    const target = m.resource?.target.averageValue;
    const now = m.resource ? current.get(m.resource.name) : undefined;
    return m.resource && target !== undefined && now !== undefined ? [`${m.resource.name} ${now} per instance, target ${String(target)}`] : [];
  }).join(', ');
}

/**
 * The autoscaler's own change of a type's count between two states of it (its count and its
 * lastScaleTime moved), as an instance event of the app; none for a new autoscaler, one that is
 * not an app's, or a change of anything else (Slipway re-pointing it at a new set of web).
 */
export function autoscalerEvents(before: V2HorizontalPodAutoscaler | undefined, after: V2HorizontalPodAutoscaler): InstanceEvent[] {
  const app = after.metadata?.labels?.[LABEL.instance];
  if (!app || after.metadata?.namespace !== namespaceFor(app) || !before) return [];
  // The count it saw when it decided (a new autoscaler's desired count is 0 until its first look).
  const from = after.status?.currentReplicas ?? before.status?.desiredReplicas;
  const to = after.status?.desiredReplicas;
  const at = lastScaled(after);
  if (from === undefined || to === undefined || from === to || at === undefined || at === lastScaled(before)) return [];
  const type = after.metadata.annotations?.[ANNOTATION.processType] ?? after.metadata.name ?? '';
  const use = useWords(after);
  return [{ app, process: type, instance: type, release: undefined, kind: 'autoscaled', what: `from ${from} to ${to} instance${to === 1 ? '' : 's'}${use ? ` (${use})` : ''}` }];
}

/** The app's autoscalers, read from the cluster (ps asks once per call). */
export class KubeAutoscalers extends KubePart implements Autoscalers {
  async states(app: string): Promise<AutoscalerState[]> {
    const list = await this.k.client.list<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', namespaceFor(app), { labelSelector: appSelector(app) });
    return list.map(autoscalerState);
  }
}
