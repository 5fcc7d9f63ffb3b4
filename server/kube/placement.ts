// Where an app's pods run when the cluster has more than one node, as pure functions: instances of
// a process type spread over the nodes, a PodDisruptionBudget that keeps a drain from taking more
// than one of them at a time, and the node label that keeps app pods and build pods apart.
import type { KubeObject, V1Affinity, V1PodDisruptionBudget, V1TopologySpreadConstraint } from './types.ts';
import { BUILDS_NODE_LABEL, BUILD_APP_LABEL, LABEL, appLabels, namespaceFor } from './labels.ts';

/** The well-known node label whose value is the node's own name: spreading over it spreads over nodes. */
export const HOSTNAME_TOPOLOGY = 'kubernetes.io/hostname';


/** The namespace build pods run in (the cluster build backend's). */
export const BUILD_NAMESPACE = 'slipway-builds';

/** A build pod waiting for a push: nothing is lost when it goes (its server starts another). */
export function isSpareBuildPod(pod: { metadata?: { namespace?: string; labels?: Record<string, string> } }): boolean {
  return pod.metadata?.namespace === BUILD_NAMESPACE && !pod.metadata.labels?.[BUILD_APP_LABEL];
}

/** Instances of a process type from which on it gets a PodDisruptionBudget. */
export const BUDGET_MIN_INSTANCES = 2;

/**
 * Spread a process type's instances over the nodes: at most one more on any node than on another
 * (maxSkew 1). ScheduleAnyway makes it a preference the scheduler scores, never a condition: a
 * single-node cluster, or one whose other nodes are full or cordoned, still runs every instance.
 * `selector` is the pods the skew is counted over (a web set's own pods, or the type's).
 */
export function spreadConstraints(selector: Readonly<Record<string, string>>): V1TopologySpreadConstraint[] {
  return [{ maxSkew: 1, topologyKey: HOSTNAME_TOPOLOGY, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...selector } } }];
}

/**
 * The node affinity of every app pod: prefer nodes without BUILDS_NODE_LABEL=true. Preferred, not
 * required: a build node is a place builds get first, not one apps may never use, so an app still
 * runs when only that node has room (a small cluster whose other node is full, cordoned or
 * drained) instead of staying Pending; the scheduler moves apps off it as room appears elsewhere
 * only when they are replaced. Without any such node the term matches every node alike and
 * changes nothing, so the pod template is the same whether or not a build node exists (labelling
 * one restarts no app).
 */
export function appNodeAffinity(): V1Affinity {
  return {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        preference: { matchExpressions: [{ key: BUILDS_NODE_LABEL, operator: 'NotIn', values: ['true'] }] },
      }],
    },
  };
}

/** What buildNodeAffinity reads of a node: its labels. */
export interface LabelledNode {
  metadata?: { labels?: Record<string, string> };
}

/**
 * The affinity of build pods: required onto nodes labelled BUILDS_NODE_LABEL=true when at least
 * one node carries it (builds then never compete with apps elsewhere), else undefined (any node).
 */
export function buildNodeAffinity(nodes: readonly LabelledNode[]): V1Affinity | undefined {
  if (!nodes.some((n) => n.metadata?.labels?.[BUILDS_NODE_LABEL] === 'true')) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: BUILDS_NODE_LABEL, operator: 'In', values: ['true'] }] }],
      },
    },
  };
}

/**
 * The PodDisruptionBudget of one process type with BUDGET_MIN_INSTANCES or more: a drain (the
 * Eviction API) takes at most one of its instances at a time, and waits until the replacement is
 * ready elsewhere before it takes the next. `selector` names the pods (for web, the serving set's).
 * Unhealthy pods may always be evicted (AlwaysAllow): a crashing instance must not hold a drain up.
 */
export function disruptionBudgetObject(app: string, name: string, selector: Readonly<Record<string, string>>): KubeObject<V1PodDisruptionBudget> {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: namespaceFor(app), labels: { ...appLabels(app), [LABEL.process]: selector[LABEL.process] ?? name } },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...selector } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  };
}
