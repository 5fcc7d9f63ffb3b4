// The cluster's nodes, on a real cluster: listing them with what runs there, cordoning, draining
// through the Eviction API (so PodDisruptionBudgets are honoured), and where build pods go.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transcript } from '../output/transcript.ts';
import type { ClusterNodes, DrainResult } from './deployer.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject, V1Namespace, V1Node, V1Pod } from '../kube/types.ts';
import { LABEL, MANAGED_BY, selectorString } from '../kube/labels.ts';
import { appNamespaces, drainPlan, nodeSummaries, podRef, type NodeSummary, type PodRef } from './nodes.ts';

/** The field manager of cordon and uncordon (spec.unschedulable), apart from the release objects'. */
export const NODES_FIELD_MANAGER = 'slipway-nodes';

/** How long a drain waits before asking again for an eviction a budget refused (kubectl drain's 5 s). */
const EVICTION_RETRY_MS = 5000;
/** How often a drain looks whether evicted pods are gone. */
const GONE_POLL_MS = 1000;

/** The partial Node cordon and uncordon apply: spec.unschedulable only. */
export function schedulablePatch(node: string, schedulable: boolean): KubeObject<{ spec: { unschedulable: boolean } }> {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: { unschedulable: !schedulable } };
}

/** ClusterNodes on a Kubernetes cluster. */
export class KubeNodes implements ClusterNodes {
  readonly #client: KubeClient;
  readonly #retryMs: number;
  readonly #pollMs: number;

  /** `retryMs` and `pollMs` (defaults: 5 s, 1 s) are only ever shortened by tests. */
  constructor(client: KubeClient, opts: { retryMs?: number; pollMs?: number } = {}) {
    this.#client = client;
    this.#retryMs = opts.retryMs ?? EVICTION_RETRY_MS;
    this.#pollMs = opts.pollMs ?? GONE_POLL_MS;
  }

  async nodes(): Promise<NodeSummary[]> {
    const [nodes, pods, namespaces] = await Promise.all([
      this.#client.list<V1Node>('v1', 'Node', undefined),
      this.#client.list<V1Pod>('v1', 'Pod', undefined, { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
      this.#client.list<V1Namespace>('v1', 'Namespace', undefined, { labelSelector: selectorString({ [LABEL.managedBy]: MANAGED_BY }) }),
    ]);
    return nodeSummaries(nodes, pods, appNamespaces(namespaces));
  }

  async uncordon(node: string): Promise<void> {
    await this.#client.apply(schedulablePatch(node, true), NODES_FIELD_MANAGER);
  }

  async drain(node: string, opts: { force: boolean; timeoutMs: number; transcript: Transcript; signal: AbortSignal }): Promise<DrainResult> {
    const t = opts.transcript;
    const deadline = Date.now() + opts.timeoutMs;
    await this.#client.apply(schedulablePatch(node, false), NODES_FIELD_MANAGER);
    t.detail(`Cordoned ${node}: no new pods are scheduled on it`);
    const plan = drainPlan(await this.#podsOn(node), { force: opts.force });
    const result: DrainResult = { node, evicted: [], skipped: plan.skip.map((s) => ({ pod: podRef(s.pod), reason: s.reason })), failed: [] };
    for (const s of result.skipped) t.detail(`Leaving ${s.pod}: ${s.reason}`);
    if (plan.evict.length === 0) {
      t.detail(`No pods to evict from ${node}`);
      return result;
    }
    t.detail(`Evicting ${plan.evict.length} pod${plan.evict.length === 1 ? '' : 's'} from ${node}`);
    // All at once: a budget lets one instance of a type go, and refuses the next until its
    // replacement is ready elsewhere; those are asked again every few seconds.
    const asked = await Promise.all(plan.evict.map((pod) => this.#evictOne(pod, deadline, t, opts.signal)));
    const leaving: PodRef[] = [];
    plan.evict.forEach((pod, i) => {
      const a = asked[i]!;
      if (a === true) leaving.push(pod);
      else result.failed.push({ pod: podRef(pod), reason: a });
    });
    // Evicted pods stop gracefully (their preStop pause, their grace period): done once they are gone.
    for (;;) {
      const still = new Set((await this.#podsOn(node)).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
      for (const pod of leaving.splice(0)) {
        if (still.has(podRef(pod))) leaving.push(pod);
        else {
          result.evicted.push(podRef(pod));
          t.detail(`Evicted ${podRef(pod)}`);
        }
      }
      if (leaving.length === 0) break;
      if (opts.signal.aborted || Date.now() >= deadline) {
        for (const pod of leaving) result.failed.push({ pod: podRef(pod), reason: opts.signal.aborted ? 'the drain was cancelled before it stopped' : `evicted, but still stopping after ${Math.round(opts.timeoutMs / 1000)} s` });
        break;
      }
      await sleep(this.#pollMs);
    }
    return result;
  }

  /** The pods on a node, every namespace. */
  async #podsOn(node: string): Promise<V1Pod[]> {
    return this.#client.list<V1Pod>('v1', 'Pod', undefined, { fieldSelector: `spec.nodeName=${node}` });
  }

  /** Asks for one pod's eviction until it is granted (true) or the deadline passes (why not). */
  async #evictOne(pod: PodRef, deadline: number, t: Transcript, signal: AbortSignal): Promise<true | string> {
    let said = false;
    for (;;) {
      let answer: Awaited<ReturnType<KubeClient['evict']>>;
      try {
        answer = await this.#client.evict(pod.namespace, pod.name);
      } catch (err) {
        return (err as Error).message;
      }
      if (answer.result !== 'blocked') return true;
      if (!said) {
        t.detail(`Waiting to evict ${podRef(pod)}: ${answer.reason}`);
        said = true;
      }
      if (signal.aborted) return 'the drain was cancelled';
      if (Date.now() + this.#retryMs > deadline) return answer.reason;
      await sleep(this.#retryMs);
    }
  }
}
