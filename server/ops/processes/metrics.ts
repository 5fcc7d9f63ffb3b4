// What an app's instances use: CPU and memory per process type and pod, from the cluster's
// metrics API (metrics-server), now or every SLIPWAY_METRICS_INTERVAL_S while a client follows.
import { setTimeout as sleep } from 'node:timers/promises';
import { requireDeployer } from '../../context.ts';
import type { Actor } from '../actor.ts';
import type { AppMetrics } from '../../shapes/processes.ts';

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
