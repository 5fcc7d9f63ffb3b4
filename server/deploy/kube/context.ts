// What the parts of the Kubernetes deployer (this folder, one file per capability) share: the
// one client, the resolved settings, the image address nodes pull, and the guards (namespace,
// NetworkPolicies, quota, container defaults) applied before any of an app's pods.
import type { V1Deployment, KubeObject, ObjectOptions } from '../../kube/types.ts';
import type { ClusterNetwork } from '../../config.ts';
import { LABEL } from '../../kube/labels.ts';
import { guardObjects, releaseObjects } from '../objects.ts';
import { GUARD_KINDS } from '../quota.ts';
import type { DeployableRelease } from '../../model.ts';
import type { KubeClient } from '../../kube/client.ts';
import { ClusterCache } from './cache.ts';

/** How a KubeDeployer is set up. */
export interface KubeDeployerOptions {
  ingressClass?: string | undefined;
  rolloutTimeoutMs: number;
  /** Longest a release command may run (the release pod's activeDeadlineSeconds); default 10 min. */
  releaseTimeoutMs?: number;
  /** Longest one run of a scheduled task may take (its Job's activeDeadlineSeconds); default 1 h. */
  cronTimeoutMs?: number;
  /** How often a rollout is checked (default 100 ms: a new set takes the traffic soon after it is ready). */
  pollMs?: number;
  /**
   * Whether deploy and restart wait for the rollout. Only tests turn this off: a control plane
   * without nodes never runs a pod, so there the objects are all one can check.
   */
  waitForRollout?: boolean;
  /**
   * Where nodes pull what the builder pushed, when that is another address for the same registry
   * (Slipway pushes to 127.0.0.1:5000, nodes pull from NODE-IP:5000): `from` prefixes become `to`.
   */
  pullFrom?: { from: string; to: string } | undefined;
  /**
   * The cluster's address ranges and ingress: every app namespace gets NetworkPolicies built from
   * them (netpol.ts) before any of its pods starts. kubeDeployer() in backends.ts always sets it.
   */
  network?: Readonly<ClusterNetwork> | undefined;
  /**
   * Traefik's API (`http://HOST:PORT`, SLIPWAY_INGRESS_API): a switch of the traffic is done once
   * Traefik routes the app's service to the new instances only. Unset: once the Service's
   * EndpointSlices list them.
   */
  ingressApi?: string | undefined;
}

/** The image reference nodes pull: the push registry's address swapped for the pull address. */
export function pullImage(image: string, pullFrom: KubeDeployerOptions['pullFrom']): string {
  return pullFrom && image.startsWith(`${pullFrom.from}/`) ? `${pullFrom.to}${image.slice(pullFrom.from.length)}` : image;
}

/** Whether a Deployment is a set of web instances kept warm outside the traffic. */
export function isWarm(d: V1Deployment): boolean {
  return d.metadata?.labels?.[LABEL.warm] === 'true';
}

/** The settings every part of the Kubernetes deployer reads, resolved from KubeDeployerOptions. */
export interface KubeSettings {
  ingressClass: string | undefined;
  rolloutTimeoutMs: number;
  releaseTimeoutMs: number;
  cronTimeoutMs: number;
  pollMs: number;
  waitForRollout: boolean;
  network: Readonly<ClusterNetwork> | undefined;
  ingressApi: string | undefined;
}

/** What the parts of the Kubernetes deployer share: the client, the settings, and the guards every pod is created under. */
export class KubeContext {
  readonly client: KubeClient;
  readonly opts: KubeSettings;
  /** The watch-fed view of the cluster that reads (ps, apps:list, apps:info) use. */
  readonly cache: ClusterCache;
  readonly #pullFrom: KubeDeployerOptions['pullFrom'];

  constructor(client: KubeClient, opts: KubeDeployerOptions) {
    this.client = client;
    this.opts = { ingressClass: opts.ingressClass, rolloutTimeoutMs: opts.rolloutTimeoutMs, releaseTimeoutMs: opts.releaseTimeoutMs ?? 600_000, cronTimeoutMs: opts.cronTimeoutMs ?? 3_600_000, pollMs: opts.pollMs ?? 100, waitForRollout: opts.waitForRollout ?? true, network: opts.network, ingressApi: opts.ingressApi };
    this.#pullFrom = opts.pullFrom;
    this.cache = new ClusterCache(client);
  }

  /** The image reference the nodes pull for `image`. */
  pullImage(image: string): string {
    return pullImage(image, this.#pullFrom);
  }

  /** What the object builders are given. */
  objectOptions(): ObjectOptions {
    return { ingressClass: this.opts.ingressClass, network: this.opts.network };
  }

  /**
   * The release's objects, after applying its namespace and what must be there before any pod:
   * its NetworkPolicies (no pod runs unisolated, not even a release or `run` pod of an app deployed
   * before policies existed), its quota and its container defaults (admission applies them to pods
   * as they are created, never afterwards). `namespace: 'create'` applies the namespace only when
   * it is not there: relabeling it "restricted" must go with the rollout of Deployments whose pods
   * meet it, or a pod of an app deployed before would not be replaced when it goes away.
   * `namespace: 'present'` (the caller has just read objects in it) applies it beside the guards
   * rather than before them, one round trip less; it is still applied before any pod starts.
   */
  async applyGuards(release: DeployableRelease, opts: { redirect?: ReadonlySet<string>; namespace?: 'apply' | 'create' | 'present'; serving?: number | undefined } = {}): Promise<{ guards: KubeObject[]; rest: KubeObject[] }> {
    const [namespace, ...others] = releaseObjects({ ...release, image: this.pullImage(release.image) }, this.objectOptions(), opts.redirect, opts.serving);
    const guards = others.filter((o) => GUARD_KINDS.has(o.kind));
    await this.#applyNamespaceAnd(namespace!, guards, opts.namespace ?? 'apply');
    return { guards, rest: others.filter((o) => !GUARD_KINDS.has(o.kind)) };
  }

  /**
   * The app's namespace (when it is not there) and its guards, for pods that belong to no release
   * (an app's database before its first deploy).
   */
  async applyAppGuards(app: Pick<DeployableRelease, 'app' | 'quota' | 'egress'>): Promise<void> {
    const [namespace, ...guards] = guardObjects(app, this.objectOptions());
    await this.#applyNamespaceAnd(namespace!, guards, 'create');
  }

  /** The namespace first (everything else lives in it), then `guards`; see applyGuards for `mode`. */
  async #applyNamespaceAnd(namespace: KubeObject, guards: readonly KubeObject[], mode: 'apply' | 'create' | 'present'): Promise<void> {
    if (mode === 'present') {
      await Promise.all([namespace, ...guards].map((o) => this.client.apply(o)));
      return;
    }
    if (mode !== 'create' || !(await this.client.read('v1', 'Namespace', namespace.metadata.name))) await this.client.apply(namespace);
    await Promise.all(guards.map((o) => this.client.apply(o)));
  }
}

/** A part of the Kubernetes deployer: one capability of the port, on the shared context. */
export abstract class KubePart {
  protected readonly k: KubeContext;

  constructor(k: KubeContext) {
    this.k = k;
  }
}
