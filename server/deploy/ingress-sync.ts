// Knowing when the ingress routes to a new set of web instances: the Service's EndpointSlices list
// exactly the set's ready pods, and then, when Slipway can read Traefik's API, Traefik's own
// service for the app lists exactly those addresses. Pure functions, and the one way Traefik's API
// is asked (askIngressApi: the deployer's switch and doctor); kube.ts polls them.
import type { V1EndpointSlice, V1Pod } from '../kube/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { readyAndStaying } from './rollout.ts';

/**
 * One GET of `path` on Traefik's API (SLIPWAY_INGRESS_API): an http(s) address is asked directly,
 * a path (`/api/v1/namespaces/kube-system/services/…/proxy`) through the cluster's API server as
 * the kubeconfig's user, which reaches a Traefik that runs in a pod (k3s's).
 */
export async function askIngressApi(client: Pick<KubeClient, 'rawGet'>, api: string, path: string, opts: { timeoutMs: number; maxBytes: number; signal?: AbortSignal }): Promise<{ status: number; body: string } | { error: string }> {
  const url = `${api}${path}`;
  if (url.startsWith('/')) return client.rawGet(url, opts).catch((err: unknown) => ({ error: (err as Error).message }));
  const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs);
  return fetch(url, { signal }).then(async (res) => ({ status: res.status, body: await res.text() }), (err: unknown) => ({ error: (err as Error).message }));
}

/** The ready addresses an EndpointSlice list gives a Service (terminating or unready ones left out). */
export function sliceAddresses(slices: readonly V1EndpointSlice[]): Set<string> {
  const out = new Set<string>();
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false || e.conditions?.terminating === true) continue;
      for (const a of e.addresses ?? []) out.add(a);
    }
  }
  return out;
}

/** The pod IPs of the ready, not terminating pods among `pods`. */
export function readyPodAddresses(pods: readonly V1Pod[]): Set<string> {
  const out = new Set<string>();
  for (const p of pods) if (readyAndStaying(p) && p.status?.podIP) out.add(p.status.podIP);
  return out;
}

/** Whether two address sets are the same (non-empty) set. */
export function sameAddresses(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size > 0 && a.size === b.size && [...a].every((x) => b.has(x));
}

/**
 * A name as Traefik's providers register it: every run of characters other than letters and
 * digits becomes one dash, none at either end (its provider.Normalize). A preview's namespace
 * `slipway-shop--feature-1a2b3c4d` is known there as `slipway-shop-feature-1a2b3c4d`.
 */
export function traefikName(name: string): string {
  return name.split(/[^\p{L}\p{N}]+/u).filter(Boolean).join('-');
}

/**
 * The name Traefik's Kubernetes Ingress provider gives the service behind an app's Ingresses:
 * namespace, Service and port name, joined by dashes and normalized, and the provider.
 */
export function traefikServiceName(namespace: string, service: string, port: string): string {
  return `${traefikName(`${namespace}-${service}-${port}`)}@kubernetes`;
}

/**
 * The host addresses of the servers in a Traefik API answer for one HTTP service (`GET
 * /api/http/services/NAME`) that take new requests: a `fenced` server is a terminating endpoint
 * Traefik only finishes requests on.
 */
export function traefikServers(answer: unknown): Set<string> {
  const servers = (answer as { loadBalancer?: { servers?: { url?: unknown; fenced?: unknown }[] } } | null)?.loadBalancer?.servers ?? [];
  const out = new Set<string>();
  for (const s of servers) {
    if (typeof s.url !== 'string' || s.fenced === true) continue;
    try {
      out.add(new URL(s.url).hostname.replace(/^\[|\]$/g, ''));
    } catch {
      // Not a URL: not an address we could match either; the set then never equals the pods'.
    }
  }
  return out;
}
