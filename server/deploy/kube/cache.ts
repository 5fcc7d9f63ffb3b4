// The cluster as reads see it: watch-fed caches (kube/informer.ts) of the kinds ps, apps:list,
// apps:info and the dashboard read, across every namespace by the label all of Slipway's objects
// carry. One list and one watch per kind, whatever the number of reads; a read by this server
// after its own write sees the write (the client reports each write it makes). An informer
// starts on the first read that needs it; a read waits for its first list once (at most
// FIRST_SYNC_MS), and while a cache cannot answer (its list fails) the read goes to the API.
import type { V1Deployment, V1Pod, V2HorizontalPodAutoscaler } from '../../kube/types.ts';
import { Informer, type InformerTiming, type Keyed, type ListWatch } from '../../kube/informer.ts';
import { LABEL, MANAGED_BY, selectorString } from '../../kube/labels.ts';
import type { KubeClient, Written } from '../../kube/client.ts';
import type { CertificateLike } from '../cert-status.ts';

/** Longest a first read waits for a cache's first list before it asks the API itself. */
const FIRST_SYNC_MS = 3000;
/** The API server ends each watch after about this long (plus up to a minute, so they do not all end at once). */
const WATCH_SECONDS = 240;

/** A cert-manager Certificate as the cache keeps it. */
export type CachedCertificate = CertificateLike & Keyed;

/** The kinds cached, with the apiVersion they are listed and watched at. */
const KINDS = {
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment' },
  pods: { apiVersion: 'v1', kind: 'Pod' },
  certificates: { apiVersion: 'cert-manager.io/v1', kind: 'Certificate' },
  autoscalers: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
} as const;

/** Every object of `kind` across the cluster that carries Slipway's label. */
function source<T>(client: KubeClient, apiVersion: string, kind: string): ListWatch<T> {
  const labelSelector = selectorString({ [LABEL.managedBy]: MANAGED_BY });
  return {
    list: () => client.listVersioned<T>(apiVersion, kind, undefined, { labelSelector }),
    watch: (resourceVersion, signal, onEvent) =>
      client.watch<T>(apiVersion, kind, undefined, { labelSelector, resourceVersion, timeoutSeconds: WATCH_SECONDS + Math.floor(Math.random() * 60), signal }, onEvent),
  };
}

/** One cached kind: the informer, and whether a read already waited for its first list. */
export class Cached<T extends Keyed> {
  readonly informer: Informer<T>;
  #waited = false;
  constructor(informer: Informer<T>) {
    this.informer = informer;
  }

  /** The informer when it can answer (after waiting for its first list once), else undefined. */
  async ready(): Promise<Informer<T> | undefined> {
    if (this.informer.synced) return this.informer;
    if (this.#waited) {
      this.informer.start();
      return undefined;
    }
    this.#waited = true;
    return (await this.informer.ready(FIRST_SYNC_MS)) ? this.informer : undefined;
  }
}

/** The watch-fed view of the cluster reads use (see the file's comment). */
export class ClusterCache {
  readonly deployments: Cached<V1Deployment>;
  readonly pods: Cached<V1Pod>;
  readonly certificates: Cached<CachedCertificate>;
  /** Watched only for their changes of count (the drains' event lines); reads of them go to the API. */
  readonly autoscalers: Cached<V2HorizontalPodAutoscaler & Keyed>;
  /** Each cached kind by `apiVersion/kind`, as a write names it. */
  readonly #byKind: Map<string, Cached<Keyed>>;

  constructor(client: KubeClient, timing: Partial<InformerTiming> = {}) {
    const make = <T extends Keyed>(k: { apiVersion: string; kind: string }) => new Cached(new Informer<T>(source<T>(client, k.apiVersion, k.kind), `${k.kind}s`, timing));
    this.deployments = make<V1Deployment>(KINDS.deployments);
    this.pods = make<V1Pod>(KINDS.pods);
    this.certificates = make<CachedCertificate>(KINDS.certificates);
    this.autoscalers = make<V2HorizontalPodAutoscaler & Keyed>(KINDS.autoscalers);
    this.#byKind = new Map<string, Cached<Keyed>>([
      [`${KINDS.deployments.apiVersion}/${KINDS.deployments.kind}`, this.deployments],
      [`${KINDS.pods.apiVersion}/${KINDS.pods.kind}`, this.pods],
      [`${KINDS.certificates.apiVersion}/${KINDS.certificates.kind}`, this.certificates],
      [`${KINDS.autoscalers.apiVersion}/${KINDS.autoscalers.kind}`, this.autoscalers],
    ] as [string, Cached<Keyed>][]);
    client.onWrite((w) => this.#written(w));
  }

  /** Stops every watch (the server is shutting down). */
  stop(): void {
    for (const c of [this.deployments, this.pods, this.certificates, this.autoscalers]) c.informer.stop();
  }

  /** A write by this server, seen by its next read. */
  #written(w: Written): void {
    const cached = this.#byKind.get(`${w.apiVersion}/${w.kind}`);
    // Only what carries Slipway's label is cached (the selector the watches use).
    if (!cached?.informer.synced) return;
    if (w.op === 'removed') cached.informer.forget(w.namespace ?? '', w.name);
    else if ((w.object as Keyed).metadata?.labels?.[LABEL.managedBy] === MANAGED_BY) cached.informer.observe(w.object as Keyed);
  }
}

/** The cached objects of one namespace carrying `labels` (all of them), or undefined when the cache cannot answer. */
export async function cachedIn<T extends Keyed>(c: Cached<T>, namespace: string, labels: Readonly<Record<string, string>>): Promise<T[] | undefined> {
  const informer = await c.ready();
  return informer?.inNamespace(namespace).filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v));
}
