// What an app's instances use: CPU and memory per process type and pod, from the cluster's
// metrics API (metrics-server), now or every SLIPWAY_METRICS_INTERVAL_S while a client follows.
import { setTimeout as sleep } from 'node:timers/promises';
import { requireDeployer } from '../../context.ts';
import type { Actor } from '../actor.ts';

/** One pod's use as the metrics API last measured it. */
export interface PodMetrics {
  name: string;
  /** CPU over the measuring window, in thousandths of a core. */
  cpuMillicores: number;
  /** Working set, in bytes. */
  memoryBytes: number;
}

/** ps:metrics --json and GET /apps/APP/metrics: when it was read, and each process type's pods (web first). */
export interface AppMetrics {
  at: string;
  processes: { type: string; pods: PodMetrics[] }[];
}

/** ps:metrics: what each instance of the app uses now; an UnavailableError when the cluster has no metrics API. */
export async function appMetrics(actor: Actor, app: string): Promise<AppMetrics> {
  const usage = await requireDeployer(actor.services).runtime.usage(app);
  return {
    at: new Date().toISOString(),
    processes: usage.map(({ type, pods }) => ({ type, pods: pods.map(({ name, cpuMillicores, memoryBytes }) => ({ name, cpuMillicores, memoryBytes })) })),
  };
}

/**
 * Writes `first` (read by the caller, so that a cluster without the metrics API is refused before
 * a stream starts), then a fresh reading every SLIPWAY_METRICS_INTERVAL_S, until `signal` aborts.
 * The next reading waits on what `write` returns (a reader that does not keep up is not queued for).
 */
export async function followMetrics(actor: Actor, app: string, first: AppMetrics, write: (m: AppMetrics) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = first;
  while (!signal.aborted) {
    await write(next);
    try {
      await sleep(actor.services.config.metricsIntervalMs, undefined, { signal });
    } catch {
      return;
    }
    next = await appMetrics(actor, app);
  }
}
