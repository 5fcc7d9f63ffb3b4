import type { CoreV1Event, V1Deployment, V1Pod } from '../kube/types.ts';
import type { HealthChecks } from '../model.ts';
import { ANNOTATION, LABEL, processName } from '../kube/labels.ts';
import { CHECK_WAIT_S } from './workload.ts';

/** Where one Deployment's rollout stands. */
export interface RolloutState {
  /** The sanitised process type (the pods' process label; a web set's Deployment is named `web-vN`). */
  name: string;
  /** The process type as the image names it. */
  type: string;
  desired: number;
  done: boolean;
  /** Why it is not done yet, in kubectl's words. */
  waiting: string;
  /** Set when Kubernetes itself gave up (the progress deadline passed), or the quota refuses new pods. */
  failed?: string;
  /** The quota refused new pods: room may still come back by itself, from pods that are terminating. */
  quotaFull?: boolean;
}

/** A pod that takes traffic: Ready, and not terminating (a terminating pod stays Ready through its preStop pause). */
export function readyAndStaying(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Whether a pod is one of the Deployment's own: its controller is one of the Deployment's
 * ReplicaSets, which the Deployment controller names DEPLOYMENT-HASH with a hash without dashes
 * (so the pods of `web-v3` are never taken for those of an app's older `web`).
 */
export function ownedBy(d: V1Deployment, p: V1Pod): boolean {
  const name = d.metadata?.name;
  const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
  return name !== undefined && owner?.kind === 'ReplicaSet' && owner.name.startsWith(`${name}-`) && /^[a-z0-9]+$/.test(owner.name.slice(name.length + 1));
}

/** How many of the Deployment's own pods in `pods` are ready and not terminating. */
export function readyPodsOf(d: V1Deployment, pods: readonly V1Pod[]): number {
  return pods.filter((p) => ownedBy(d, p) && readyAndStaying(p)).length;
}

/**
 * Decides whether a Deployment finished rolling out as `kubectl rollout status` does: the
 * controller saw the latest spec (observedGeneration ≥ generation), every desired replica is
 * updated, no old replica is left, and every updated replica is available. `readyPods` (its own
 * ready pods, readyPodsOf) counts as available too: a pod's readiness reaches the pod list at once,
 * the Deployment's status only after the ReplicaSet controller and then the Deployment controller
 * have copied it (0.1 to 0.3 s on a busy two-node testbed, the whole of it before the traffic
 * moves). Once the status says no old replica is left, every ready pod it owns is of the new spec.
 */
export function rolloutState(d: V1Deployment, readyPods = 0): RolloutState {
  const name = d.metadata?.labels?.[LABEL.process] ?? d.metadata?.name ?? '';
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const updated = s.updatedReplicas ?? 0;
  const total = s.replicas ?? 0;
  const available = Math.max(s.availableReplicas ?? 0, readyPods);
  const base = { name, type: processTypeOf(d), desired, done: false };
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return { ...base, waiting: 'waiting for the deployment controller to see the new spec' };
  const progressing = (s.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { ...base, waiting: 'progress deadline exceeded', failed: `${base.type} exceeded its progress deadline` };
  // The ReplicaSet could not create a pod because the app's quota is full: with maxUnavailable 0
  // no old pod leaves first, so waiting for the deadline would only delay the same answer.
  const refused = (s.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && c.status === 'True' && /exceeded quota/.test(c.message ?? ''));
  if (refused) return { ...base, waiting: 'the quota refuses new pods', quotaFull: true, failed: `${base.type} cannot start new pods, the app's quota is used up (${(refused.message ?? '').replace(/^.*?(exceeded quota)/, '$1')}; see resource:quota)` };
  if (updated < desired) return { ...base, waiting: `${updated} of ${desired} new replicas have been updated` };
  if (total > updated) return { ...base, waiting: `${total - updated} old replicas are pending termination` };
  if (available < updated) return { ...base, waiting: `${available} of ${updated} updated replicas are available` };
  return { ...base, done: true, waiting: '' };
}

/** Container waiting reasons that will not fix themselves: the rollout fails at once. */
const FATAL = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
/**
 * Messages of those reasons that do fix themselves: right after a pod is bound, the API server's
 * Node authorizer may not yet let the kubelet read the pod's Secret ("no relationship found
 * between node …"), and the kubelet gives its Secret cache one second to sync before it reports
 * CreateContainerConfigError. It retries the container shortly after.
 */
const TRANSIENT = /failed to sync (secret|configmap) cache|no relationship found between node/;

/** One pod as `ps` and rollout messages describe it. */
export interface PodState {
  name: string;
  /** The Deployment (sanitised process type) the pod belongs to. */
  process: string;
  release: number | null;
  /** Running, Pending (reason), CrashLoopBackOff (exit code 1), … */
  state: string;
  ready: boolean;
  restarts: number;
  /** Whether its container ever started (so it may have logs). */
  started: boolean;
  startedAt: string | null;
  /** Set when the pod is stuck in a way that needs a fix, not time. */
  fatal: string | null;
}

function iso(t: Date | string | undefined | null): string | null {
  if (!t) return null;
  return t instanceof Date ? t.toISOString() : String(t);
}

/** Summarises a pod: phase, container state with its reason and exit code, readiness, restarts. */
export function podState(p: V1Pod): PodState {
  const labels = p.metadata?.labels ?? {};
  const releaseLabel = labels[LABEL.release];
  const cs = p.status?.containerStatuses?.[0];
  const restarts = cs?.restartCount ?? 0;
  const lastExit = cs?.lastState?.terminated?.exitCode;
  const lastReason = cs?.lastState?.terminated?.reason;
  // OOMKilled is the reason users need to see (exit code 137 alone reads like any SIGKILL).
  const why = lastReason && lastReason !== 'Error' && lastReason !== 'Completed' ? `${lastReason}, ` : '';
  const exit = lastExit === undefined ? '' : ` (${why}exit code ${lastExit})`;
  let state: string;
  let fatal: string | null = null;
  if (p.metadata?.deletionTimestamp) {
    state = 'Terminating';
  } else if (cs?.state?.waiting) {
    const reason = cs.state.waiting.reason ?? 'Waiting';
    state = reason + (reason === 'CrashLoopBackOff' ? exit : '');
    if (FATAL.has(reason) && !TRANSIENT.test(cs.state.waiting.message ?? '')) fatal = `${state}${cs.state.waiting.message && reason !== 'CrashLoopBackOff' ? `: ${cs.state.waiting.message}` : ''}`;
  } else if (cs?.state?.terminated) {
    state = `${cs.state.terminated.reason ?? 'Terminated'} (exit code ${cs.state.terminated.exitCode})`;
  } else if (cs?.state?.running) {
    state = cs.ready ? 'Running' : 'Running, not ready';
    if (lastReason === 'OOMKilled') state += ` (restarted after OOMKilled)`;
  } else {
    const scheduled = (p.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    state = p.status?.phase ?? 'Unknown';
    if (scheduled?.status === 'False') state += ` (${scheduled.message || scheduled.reason || 'not scheduled'})`;
  }
  return {
    name: p.metadata?.name ?? '',
    process: labels[LABEL.process] ?? '',
    release: releaseLabel && /^\d+$/.test(releaseLabel) ? Number(releaseLabel) : null,
    state,
    ready: cs?.ready === true,
    restarts,
    started: cs?.state?.running !== undefined || cs?.state?.terminated !== undefined || cs?.lastState?.terminated !== undefined,
    startedAt: iso(cs?.state?.running?.startedAt),
    fatal,
  };
}

/**
 * The log lines worth showing for a crashed instance: the last `keep`, and, when the error itself
 * scrolled above them (an uncaught exception's stack trace), the line that names it first.
 */
export function crashLines(lines: readonly string[], keep = 10): string[] {
  const tail = lines.slice(-keep);
  const at = lines.findIndex((l) => /\b[A-Z]?[A-Za-z]*(Error|Exception)\b:|^(panic|fatal|FATAL|Traceback)\b/.test(l.trim()));
  if (at < 0 || at >= lines.length - keep) return [...tail];
  return [lines[at]!, '…', ...tail];
}

/** The process type a Deployment runs, as the image names it. */
export function processTypeOf(d: V1Deployment): string {
  return d.metadata?.annotations?.[ANNOTATION.processType] ?? d.metadata?.name ?? '';
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/**
 * The newest warning events about the given objects (pods, or the Deployments and their
 * ReplicaSets, matched by name prefix), one line each, repeated messages once.
 */
export function recentWarnings(events: readonly CoreV1Event[], names: readonly string[], limit = 3): string[] {
  const about = (n: string) => names.some((x) => n === x || n.startsWith(x + '-'));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of [...events].filter((e) => e.type === 'Warning' && about(e.involvedObject?.name ?? '')).sort((a, b) => eventTime(b) - eventTime(a))) {
    const line = `${e.involvedObject?.name}: ${e.reason}: ${(e.message ?? '').trim()}`;
    if (seen.has(e.message ?? '')) continue;
    seen.add(e.message ?? '');
    out.push(line);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Why a rollout is not done, in one clause: the first stuck pod of the release (CrashLoopBackOff,
 * ImagePullBackOff, Pending and why), else kubectl's reason for the first unfinished Deployment.
 */
export function whyNotReady(states: readonly RolloutState[], pods: readonly PodState[]): string {
  const stuck = pods.find((p) => p.fatal) ?? pods.find((p) => !p.ready && p.state !== 'Terminating');
  if (stuck) {
    const type = states.find((s) => s.name === stuck.process)?.type ?? stuck.process;
    return `${type} instance ${stuck.name} is ${stuck.fatal ?? stuck.state}`;
  }
  const open = states.find((s) => !s.done);
  return open ? `${open.type}: ${open.waiting}` : 'every process was ready';
}

/** Seconds a declared readiness check may keep failing after the container started before the rollout gives up. */
export function readinessBudgetSeconds(c: { initialDelay?: number; attempts?: number; wait?: number; timeout?: number }): number {
  return (c.initialDelay ?? 0) + (c.attempts ?? 3) * ((c.wait ?? CHECK_WAIT_S) + (c.timeout ?? 1)) + 2;
}

/**
 * Seconds an instance whose port still refuses connections (it has not started listening) has
 * before its refused readiness probes fail the rollout: Heroku's boot timeout (an app must bind
 * its port within 60 s). A slow start on a busy node is not a failing check.
 */
export const BOOT_TIMEOUT_S = 60;

/**
 * A release pod whose declared HTTP readiness check has failed for longer than the check allows
 * (while its port refuses connections, for longer than BOOT_TIMEOUT_S): the rollout fails with the
 * kubelet's own reason (its newest Unhealthy event), instead of waiting for the rollout deadline.
 * Null while every such pod is still within its budget.
 */
export function readinessFailure(pods: readonly V1Pod[], events: readonly CoreV1Event[], checks: HealthChecks | undefined, now: number): string | null {
  for (const [type, list] of Object.entries(checks ?? {})) {
    const check = list.find((c) => c.type === 'readiness');
    if (!check) continue;
    for (const p of pods) {
      if (p.metadata?.labels?.[LABEL.process] !== processName(type)) continue;
      const cs = p.status?.containerStatuses?.[0];
      const started = cs?.state?.running?.startedAt;
      if (!started || cs?.ready) continue;
      const running = now - new Date(started).getTime();
      if (running < readinessBudgetSeconds(check) * 1000) continue;
      const name = p.metadata?.name ?? '';
      const last = events
        .filter((e) => e.reason === 'Unhealthy' && e.involvedObject?.name === name && /^Readiness probe failed/.test(e.message ?? ''))
        .sort((a, b) => eventTime(b) - eventTime(a))[0];
      if (last && /connection refused/.test(last.message ?? '') && running < BOOT_TIMEOUT_S * 1000) continue;
      if (last) return `${type} instance ${name} failed its readiness check (GET ${check.path}): ${(last.message ?? '').trim()}`;
    }
  }
  return null;
}
