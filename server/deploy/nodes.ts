// The cluster's nodes as `nodes` shows them, and what a drain does with each pod on a node, as pure
// functions (the cluster's objects in, plain data out).
import type { V1Namespace, V1Node, V1Pod } from '../kube/types.ts';
import { LABEL, MANAGED_BY, namespaceFor } from '../kube/labels.ts';
import { quantityValue } from '../kube/quantity.ts';
import { BUILD_NAMESPACE, isSpareBuildPod } from '../kube/placement.ts';
import { BUILDS_NODE_LABEL } from '../kube/labels.ts';

/** CPU in thousandths of a core and memory in bytes. */
export interface Resources {
  cpuMillicores: number;
  memoryBytes: number;
}

/** One node as `nodes` shows it. */
export interface NodeSummary {
  name: string;
  /** Its node-role.kubernetes.io/ROLE labels (k3s's server: control-plane, master); none for an agent. */
  roles: string[];
  /** The kubelet reports the node Ready. */
  ready: boolean;
  /** New pods may be scheduled on it (not cordoned). */
  schedulable: boolean;
  /** It carries slipway.dev/builds=true: build pods go there, app pods prefer other nodes. */
  builds: boolean;
  /** What pods may request on it in all. */
  allocatable: Resources;
  /** What the pods on it (not finished) request together, as the scheduler counts it. */
  requested: Resources;
  /** Pods of Slipway's apps on it (in app namespaces), and build pods (in slipway-builds). */
  appPods: number;
  buildPods: number;
}

/** The node name a command was given: a DNS subdomain, as Kubernetes names nodes. */
export const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `raw` could name a node (at most 253 characters of a DNS subdomain). */
export function isNodeName(raw: string): boolean {
  return raw.length <= 253 && NODE_NAME.test(raw);
}

/** A node's roles from its node-role.kubernetes.io/ROLE labels, sorted. */
export function nodeRoles(n: V1Node): string[] {
  const prefix = 'node-role.kubernetes.io/';
  return Object.keys(n.metadata?.labels ?? {}).filter((k) => k.startsWith(prefix) && k.length > prefix.length).map((k) => k.slice(prefix.length)).sort();
}

/** Whether the node's Ready condition is True. */
export function nodeReady(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A quantity map's CPU and memory. */
function resourcesOf(q: Readonly<Record<string, string>> | undefined): Resources {
  const cpu = q?.cpu ? quantityValue(q.cpu) : 0;
  const memory = q?.memory ? quantityValue(q.memory) : 0;
  return { cpuMillicores: Math.round((Number.isNaN(cpu) ? 0 : cpu) * 1000), memoryBytes: Math.round(Number.isNaN(memory) ? 0 : memory) };
}

/**
 * What a pod requests as the scheduler counts it (and `kubectl describe node`): the larger of its
 * containers' sum and its largest init container, plus its runtime overhead.
 */
export function podRequests(p: V1Pod): Resources {
  const sum = (p.spec?.containers ?? []).map((c) => resourcesOf(c.resources?.requests)).reduce((a, b) => ({ cpuMillicores: a.cpuMillicores + b.cpuMillicores, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillicores: 0, memoryBytes: 0 });
  for (const c of p.spec?.initContainers ?? []) {
    const r = resourcesOf(c.resources?.requests);
    sum.cpuMillicores = Math.max(sum.cpuMillicores, r.cpuMillicores);
    sum.memoryBytes = Math.max(sum.memoryBytes, r.memoryBytes);
  }
  const overhead = resourcesOf(p.spec?.overhead);
  return { cpuMillicores: sum.cpuMillicores + overhead.cpuMillicores, memoryBytes: sum.memoryBytes + overhead.memoryBytes };
}

/** Whether a pod has ended (its requests no longer count; a drain leaves it alone). */
export function podFinished(p: V1Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/** The namespaces of Slipway's apps: labelled as Slipway's, and named after the app they are labelled with. */
export function appNamespaces(namespaces: readonly V1Namespace[]): Set<string> {
  const out = new Set<string>();
  for (const ns of namespaces) {
    const labels = ns.metadata?.labels ?? {};
    const app = labels[LABEL.instance];
    const name = ns.metadata?.name;
    if (labels[LABEL.managedBy] === MANAGED_BY && app && name === namespaceFor(app) && name !== BUILD_NAMESPACE) out.add(name);
  }
  return out;
}

/** Each node (by name) with what runs on it: requests of the pods not finished, app pods and build pods. */
export function nodeSummaries(nodes: readonly V1Node[], pods: readonly V1Pod[], apps: ReadonlySet<string>): NodeSummary[] {
  return nodes.map((n): NodeSummary => {
    const name = n.metadata?.name ?? '';
    const on = pods.filter((p) => p.spec?.nodeName === name && !podFinished(p));
    const requested = on.map(podRequests).reduce((a, b) => ({ cpuMillicores: a.cpuMillicores + b.cpuMillicores, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillicores: 0, memoryBytes: 0 });
    return {
      name,
      roles: nodeRoles(n),
      ready: nodeReady(n),
      schedulable: !n.spec?.unschedulable,
      builds: n.metadata?.labels?.[BUILDS_NODE_LABEL] === 'true',
      allocatable: resourcesOf(n.status?.allocatable),
      requested,
      appPods: on.filter((p) => apps.has(p.metadata?.namespace ?? '')).length,
      buildPods: on.filter((p) => p.metadata?.namespace === BUILD_NAMESPACE).length,
    };
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The one sentence refusing to drain `name` when no other node is Ready and schedulable: nothing
 * evicted could run anywhere else. Undefined when another node can take its pods.
 */
export function drainRefusal(nodes: readonly NodeSummary[], name: string): string | undefined {
  if (nodes.some((n) => n.name !== name && n.ready && n.schedulable)) return undefined;
  return `${name} is the only node new pods can be scheduled on, so nothing evicted from it could run anywhere else; add a node first (nodes:join-command), or give --force to drain it anyway.`;
}

/** A pod on the node being drained, by namespace and name (`ns/name` when shown). */
export interface PodRef {
  namespace: string;
  name: string;
}

/** What a drain does with the pods on a node: evicts some, leaves the others (and says why). */
export interface DrainPlan {
  evict: PodRef[];
  skip: { pod: PodRef; reason: string }[];
}

/** `ns/name`, as drain's lines name a pod. */
export function podRef(p: PodRef): string {
  return `${p.namespace}/${p.name}`;
}

/**
 * Which pods on a node a drain evicts, as `kubectl drain` decides it: not a mirror pod (the kubelet
 * runs it from a file; the API cannot stop it), not one a DaemonSet owns (it runs on every node and
 * would come straight back), not one that has ended; a pod no controller owns (a one-off `run` or
 * release pod) only with `force`, since nothing starts it again elsewhere.
 */
export function drainPlan(pods: readonly V1Pod[], opts: { force: boolean }): DrainPlan {
  const plan: DrainPlan = { evict: [], skip: [] };
  for (const p of pods) {
    const pod = { namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '' };
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
    if (p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) plan.skip.push({ pod, reason: 'a static pod the kubelet runs from a file' });
    else if (owner?.kind === 'DaemonSet') plan.skip.push({ pod, reason: `DaemonSet ${owner.name} runs it on every node` });
    else if (podFinished(p)) plan.skip.push({ pod, reason: `it has ended (${p.status?.phase})` });
    else if (isSpareBuildPod(p)) plan.evict.push(pod);
    else if (!owner && !opts.force) plan.skip.push({ pod, reason: 'no controller would start it again elsewhere (a one-off or release pod ends by its deadline); --force evicts it' });
    else plan.evict.push(pod);
  }
  return plan;
}
