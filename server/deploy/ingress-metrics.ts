// What the ingress counted for each set of an app's web instances during a canary, read from
// Traefik's own per-service Prometheus metrics (traefik_service_requests_total and
// traefik_service_request_duration_seconds_bucket, with service labels). Pure: text in, counters out.
import { traefikName } from './ingress-sync.ts';
import type { CanarySample, SetCounters } from './deployer.ts';

export type { CanarySample, SetCounters };

/** One sample line of Prometheus text: name, labels, value. */
interface PromLine { name: string; labels: Record<string, string>; value: number }

/** Parses the sample lines of Prometheus' text format (comments and malformed lines skipped). */
export function parsePrometheus(text: string): PromLine[] {
  const out: PromLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/**
 * Which set a Traefik service label names, for the app's namespace: `web` (the stable set's
 * Service, through the Ingress or the split) or `canary` (the canary's Service); anything else
 * (another app, the split's own weighted service) undefined. Names are `NAMESPACE-SERVICE-PORT@provider`, normalized.
 */
export function setOfService(label: string, namespace: string, canaryService: string): 'stable' | 'canary' | undefined {
  const prefix = `${traefikName(namespace)}-`;
  const name = label.replace(/@[^@]*$/, '');
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (new RegExp(`^${traefikName(canaryService)}-[^-]+$`).test(rest)) return 'canary';
  if (/^web-[^-]+$/.test(rest)) return 'stable';
  return undefined;
}

/** The counters of the app's stable and canary sets in Traefik's metrics text (zero where it counted none). */
export function canarySample(text: string, namespace: string, canaryService: string): CanarySample {
  const empty = (): SetCounters & { bucketMap: Map<number, number> } => ({ requests: 0, errors: 0, buckets: [], bucketMap: new Map() });
  const sets = { stable: empty(), canary: empty() };
  for (const l of parsePrometheus(text)) {
    const set = l.labels.service === undefined ? undefined : setOfService(l.labels.service, namespace, canaryService);
    if (!set) continue;
    const s = sets[set];
    if (l.name === 'traefik_service_requests_total') {
      s.requests += l.value;
      if ((l.labels.code ?? '').startsWith('5')) s.errors += l.value;
    } else if (l.name === 'traefik_service_request_duration_seconds_bucket' && l.labels.le !== undefined) {
      const le = l.labels.le === '+Inf' ? Infinity : Number(l.labels.le);
      s.bucketMap.set(le, (s.bucketMap.get(le) ?? 0) + l.value);
    }
  }
  const done = ({ requests, errors, bucketMap }: ReturnType<typeof empty>): SetCounters => ({ requests, errors, buckets: [...bucketMap].sort((a, b) => a[0] - b[0]) });
  return { stable: done(sets.stable), canary: done(sets.canary) };
}
