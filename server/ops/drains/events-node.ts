// doctor's check that Slipway's own events can reach the log drains. The server writes them to a
// folder of its machine (events.ts) that the collector on that node reads, so a server whose
// machine is not a node of its cluster (a kubeconfig pointing at a cluster elsewhere) writes them
// where nobody reads: drains get the apps' own lines but no `app[slipway]` line, and global drains
// no audit entry. Nothing fails loudly then; this check says it.
import { hostname } from 'node:os';
import { interfaceAddresses, type Config } from '../../config.ts';
import type { DoctorCheck } from '../../health.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { V1Node } from '../../kube/types.ts';

/** This machine's names for itself: its host name and every address of its interfaces. */
export function localNames(): Set<string> {
  return new Set([hostname(), ...interfaceAddresses().map((a) => a.address)]);
}

/** The node one of whose addresses (its IPs, its host name) is this machine's, if any. */
export function nodeOfThisMachine(nodes: readonly V1Node[], local: ReadonlySet<string>): string | undefined {
  return nodes.find((n) => (n.status?.addresses ?? []).some((a) => local.has(a.address)))?.metadata?.name;
}

/** Present when drains are configured (a collector image). */
export function eventsNodeCheck(config: Readonly<Config>, kube: KubeClient, local: () => ReadonlySet<string> = localNames): DoctorCheck {
  return {
    name: 'drain events',
    fix: 'check KUBECONFIG in /etc/slipway/slipway.env',
    async run() {
      const nodes = await kube.list<V1Node>('v1', 'Node', undefined);
      const node = nodeOfThisMachine(nodes, local());
      if (node) return { ok: true, detail: `the collector on ${node} (this machine) reads Slipway's events from ${config.collectorEventsDir}` };
      return {
        ok: false,
        detail: `this machine is not a node of the cluster (its nodes: ${nodes.map((n) => n.metadata?.name).join(', ') || 'none'}), so no collector reads Slipway's events in ${config.collectorEventsDir}: drains get the apps' lines but no app[slipway] line, and global drains no audit entry`,
        fix: 'run the server on a node of its cluster (install.sh does), or join this machine to the cluster as a node',
      };
    },
  };
}
