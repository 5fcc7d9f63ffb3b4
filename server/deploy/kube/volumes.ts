// An app's volumes as the cluster holds them: claims made before a first deploy, deleted with
// their data, read back for storage:list with what each one's file system uses (the kubelets'
// stats summaries, through the API server's node proxy).
import type { V1PersistentVolumeClaim, V1Pod } from '../../kube/types.ts';
import { appSelector, namespaceFor } from '../../kube/labels.ts';
import { namespaceObject } from '../objects.ts';
import { claimObject, claimsByNode, claimUsage } from '../volumes.ts';
import type { VolumeClaims, VolumeState, VolumeUsage } from '../deployer.ts';
import type { Volume } from '../../model.ts';
import { KubePart } from './context.ts';

/** How long a kubelet's stats summary may take, and how large it may be (every pod of its node). */
const SUMMARY_MS = 5000;
const SUMMARY_BYTES = 16 * 2 ** 20;

/** An app's PersistentVolumeClaims. */
export class KubeVolumes extends KubePart implements VolumeClaims {

  async applyVolume(app: string, volume: Volume): Promise<void> {
    // Before a first deploy there is no namespace yet: make it as a deploy would (the rest of the
    // guards come with that deploy; the quota counts the claim from then on).
    const ns = namespaceObject(app);
    if (!(await this.k.client.read('v1', 'Namespace', ns.metadata.name))) await this.k.client.apply(ns);
    await this.k.client.apply(claimObject(app, volume));
  }

  async removeVolume(app: string, name: string): Promise<boolean> {
    return this.k.client.remove('v1', 'PersistentVolumeClaim', name, namespaceFor(app));
  }

  async volumeStates(app: string): Promise<VolumeState[]> {
    const ns = namespaceFor(app);
    const [claims, pods] = await Promise.all([
      this.k.client.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', ns, { labelSelector: appSelector(app) }),
      this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: appSelector(app) }),
    ]);
    const { usage, unknown } = await this.#usage(ns, claimsByNode(pods));
    return claims.map((c) => {
      const name = c.metadata?.name ?? '';
      const capacity = c.status?.capacity?.storage;
      const u = usage.get(name);
      const why = u ? undefined : unknown.get(name);
      return {
        name,
        phase: c.metadata?.deletionTimestamp ? 'Terminating' : c.status?.phase ?? 'Pending',
        ...(capacity ? { capacity } : {}),
        ...(u ? { usage: u } : {}),
        ...(why ? { usageUnknown: why } : {}),
      };
    });
  }

  /**
   * What the claims mounted on each node use, from that node's kubelet; a node whose kubelet does
   * not answer leaves its claims' use unknown, with the reason, and the rest of the list stands.
   */
  async #usage(ns: string, byNode: Map<string, Set<string>>): Promise<{ usage: Map<string, VolumeUsage>; unknown: Map<string, string> }> {
    const usage = new Map<string, VolumeUsage>();
    const unknown = new Map<string, string>();
    await Promise.all([...byNode].map(async ([node, mounted]) => {
      const r = await this.k.client.rawGet(`/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`, { timeoutMs: SUMMARY_MS, maxBytes: SUMMARY_BYTES });
      let why: string | undefined;
      let summary: unknown;
      if ('error' in r) why = `node ${node}'s kubelet did not answer (${r.error})`;
      else if (r.status !== 200) why = `node ${node}'s kubelet answered ${r.status} to its stats summary`;
      else {
        try {
          summary = JSON.parse(r.body);
        } catch {
          why = `node ${node}'s stats summary is not JSON (or larger than ${SUMMARY_BYTES / 2 ** 20} MiB)`;
        }
      }
      if (why) {
        for (const claim of mounted) unknown.set(claim, why);
        return;
      }
      for (const [claim, u] of claimUsage(summary, ns)) if (mounted.has(claim)) usage.set(claim, u);
    }));
    return { usage, unknown };
  }
}
