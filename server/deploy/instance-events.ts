// What happened to an app's instance between two states of its pod, as the cluster reported them
// (issue 39's `app[slipway]` lines): a container that ended and was restarted (a crash, with its
// reason and exit code, OOMKilled named as such), and an instance that stopped passing its
// readiness check while it kept running. An autoscaler's change of a type's count is one too
// (deploy/kube/autoscale.ts makes it). Pure: tested without a cluster.
import type { V1ContainerStatus, V1Pod } from '../kube/types.ts';
import { LABEL, namespaceFor } from '../kube/labels.ts';

/** One thing that happened to an app's instance. */
export interface InstanceEvent {
  app: string;
  /** The process type (web, worker, …), as the pod's label says. */
  process: string;
  /** The instance as Heroku's lines name it: `web.x7k2p` (the process type and the pod name's last part); the type for an autoscaler's change. */
  instance: string;
  /** The release the instance runs, when its pod says. */
  release: number | undefined;
  kind: 'crashed' | 'unhealthy' | 'autoscaled';
  /** One clause: `exited with status 1 (Error)`, `was killed: OOMKilled`, `failed its health check`, `from 1 to 3 instances (cpu 94m per instance, target 50m)`. */
  what: string;
}

/** The app whose instance a pod is (its namespace and label agree), or undefined for any other pod. */
function appOf(pod: V1Pod): string | undefined {
  const app = pod.metadata?.labels?.[LABEL.instance];
  if (!app || pod.metadata?.namespace !== namespaceFor(app) || !pod.metadata.labels?.[LABEL.process]) return undefined;
  return app;
}

function crashClause(cs: V1ContainerStatus): string {
  const t = cs.lastState?.terminated;
  if (!t) return 'restarted';
  if (t.reason === 'OOMKilled') return `was killed: OOMKilled (exit status ${t.exitCode})`;
  return `exited with status ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`;
}

/** What happened to the pod's instance between `before` and `after`; none for a pod that is not an app's or is new. */
export function instanceEvents(before: V1Pod | undefined, after: V1Pod): InstanceEvent[] {
  const app = appOf(after);
  if (!app || !before) return [];
  const process = after.metadata!.labels![LABEL.process]!;
  const release = Number(after.metadata?.labels?.[LABEL.release]);
  const base = {
    app, process, instance: `${process}.${(after.metadata?.name ?? '').split('-').pop()}`,
    release: Number.isInteger(release) && release > 0 ? release : undefined,
  };
  const out: InstanceEvent[] = [];
  const was = new Map((before.status?.containerStatuses ?? []).map((cs) => [cs.name, cs]));
  for (const cs of after.status?.containerStatuses ?? []) {
    const prev = was.get(cs.name);
    if (!prev) continue;
    if (cs.restartCount > prev.restartCount) out.push({ ...base, kind: 'crashed', what: crashClause(cs) });
    else if (prev.ready && !cs.ready && cs.state?.running && prev.state?.running) out.push({ ...base, kind: 'unhealthy', what: 'failed its health check' });
  }
  return out;
}
