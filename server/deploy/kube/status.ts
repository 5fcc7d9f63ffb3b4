// What an app runs now, as ps and apps:list show it, and what its pods use.
import type { V1Deployment, V1Pod } from '../../kube/types.ts';
import { log } from '../../output/log.ts';
import { UnavailableError } from '../../errors.ts';
import { ANNOTATION, LABEL, MANAGED_BY, appSelector, appSelectorLabels, namespaceFor, selectorString } from '../../kube/labels.ts';
import { cachedIn, type CachedCertificate } from './cache.ts';
import { podState, processTypeOf, rolloutState } from '../rollout.ts';
import type { AppRuntime, PodUsage, ProcessStatus, RuntimeStatus } from '../deployer.ts';
import { certificateReady } from '../cert-status.ts';
import { processUsage } from '../usage.ts';
import { isWarm, KubePart } from './context.ts';
import { CERTIFICATE } from './tls.ts';

/** ps order: web first (the serving set before a warm one), then the other types by name. */
function rank(p: ProcessStatus): number {
  return p.type === 'web' ? (p.warm ? 1 : 0) : 2;
}

/** What runs now (ps, apps:list) and what it uses (metrics.k8s.io). */
export class KubeRuntime extends KubePart implements RuntimeStatus {

  async status(app: string): Promise<ProcessStatus[]> {
    const ns = namespaceFor(app);
    const labels = appSelectorLabels(app);
    const [deployments, pods] = await Promise.all([
      cachedIn(this.k.cache.deployments, ns, labels).then((c) => c ?? this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) })),
      cachedIn(this.k.cache.pods, ns, labels).then((c) => c ?? this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: appSelector(app) })),
    ]);
    const states = pods.map(podState);
    return deployments
      .map((d): ProcessStatus => {
        const set = d.metadata?.labels?.[LABEL.release];
        const until = d.metadata?.annotations?.[ANNOTATION.warmUntil];
        return {
          type: processTypeOf(d),
          desired: d.spec?.replicas ?? 0,
          ready: d.status?.readyReplicas ?? 0,
          instances: states
            // A set's instances are its release's; a process type's Deployment has them all.
            .filter((p) => (set === undefined ? p.process === d.metadata?.name : p.process === rolloutState(d).name && String(p.release) === set))
            .map(({ name, release, state, ready, restarts, startedAt }) => ({ name, release, state, ready, restarts, startedAt })),
          ...(isWarm(d) && set !== undefined && until ? { warm: { release: Number(set), until } } : {}),
        };
      })
      .sort((a, b) => rank(a) - rank(b) || a.type.localeCompare(b.type));
  }

  async overview(opts: { certificates: boolean; cachedOnly?: boolean }): Promise<Map<string, AppRuntime>> {
    // Every namespace at once, found by the labels all of Slipway's objects carry.
    const selector = selectorString({ [LABEL.managedBy]: MANAGED_BY });
    const uncached = (): Promise<V1Deployment[]> => {
      if (opts.cachedOnly) throw new UnavailableError("The cluster's watch cache has not listed the Deployments yet.");
      return this.k.client.list<V1Deployment>('apps/v1', 'Deployment', undefined, { labelSelector: selector });
    };
    const [deployments, certs] = await Promise.all([
      this.k.cache.deployments.ready().then((c) => c?.all() ?? uncached()),
      opts.certificates
        ? this.k.cache.certificates.ready().then((c) => c?.all() ?? this.k.client.list<CachedCertificate>(CERTIFICATE.apiVersion, CERTIFICATE.kind, undefined, { labelSelector: selector }))
          // Without cert-manager's API the instances are still worth showing: every URL is then http.
          .catch((err: unknown) => { log.warn('listing certificates failed; apps are shown without HTTPS', { err }); return []; })
        : [],
    ]);
    const out = new Map<string, AppRuntime>();
    const of = (app: string) => {
      let r = out.get(app);
      if (!r) out.set(app, r = { running: 0, desired: 0, issuedHosts: [] });
      return r;
    };
    for (const d of deployments) {
      const app = d.metadata?.labels?.[LABEL.instance];
      if (!app || isWarm(d)) continue;
      const r = of(app);
      r.running += d.status?.readyReplicas ?? 0;
      r.desired += d.spec?.replicas ?? 0;
    }
    for (const c of certs) {
      const app = c.metadata?.labels?.[LABEL.instance];
      if (app && certificateReady(c)) of(app).issuedHosts.push(...(c.spec?.dnsNames ?? []));
    }
    return out;
  }

  async usage(app: string): Promise<{ type: string; pods: PodUsage[] }[]> {
    const ns = namespaceFor(app);
    const [deployments, metrics] = await Promise.all([
      this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
      this.k.client.podMetrics(ns, appSelector(app)),
    ]);
    return processUsage(deployments.filter((d) => !isWarm(d)), metrics);
  }
}
