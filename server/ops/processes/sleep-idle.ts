// When an app is idle, from the ingress's own per-service counts (Traefik's Prometheus metrics):
// pure functions, the sleep round's arithmetic. A count that moves (up, or down after Traefik
// restarted) is a request; an app is idle once its count has not moved for its whole idle time.

/** What the sleep round last saw of one app's request count, and when that count last moved (ms). */
export interface IdleSample {
  count: number;
  changedAt: number;
}

/**
 * The sample after reading `count` at `now`: a first reading, or any change, starts the idle time
 * over (an app is never put to sleep on the round that first sees it).
 */
export function observe(prev: IdleSample | undefined, count: number, now: number): IdleSample {
  return prev && prev.count === count ? prev : { count, changedAt: now };
}

/** Whether an app whose count last moved as `s` says has gone `afterSeconds` (0: never) without a request at `now`. */
export function idleLongEnough(s: IdleSample, now: number, afterSeconds: number): boolean {
  return afterSeconds > 0 && now - s.changedAt >= afterSeconds * 1000;
}

/**
 * The requests Traefik counted per service, from its Prometheus text: every sample of
 * `traefik_service_requests_total` summed over its other labels (code, method, protocol), by the
 * `service` label. Lines of other metrics, comments and malformed lines are skipped.
 */
export function requestCounts(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('traefik_service_requests_total{')) continue;
    const close = line.lastIndexOf('}');
    if (close < 0) continue;
    const service = /(?:^|[{,])service="((?:[^"\\]|\\.)*)"/.exec(line.slice(0, close + 1))?.[1];
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0]);
    if (service === undefined || !Number.isFinite(value)) continue;
    out.set(service, (out.get(service) ?? 0) + value);
  }
  return out;
}
