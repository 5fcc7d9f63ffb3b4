import type { CoreV1Event, V1CronJob, V1Deployment, V1EndpointSlice, V1Job, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from './kube-types.ts';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterNetwork, Config } from '../config.ts';
import { UserError } from '../errors.ts';
import { log } from '../output/log.ts';
import type { Transcript } from '../output/transcript.ts';
import { ANNOTATION, LABEL, MANAGED_BY, RESTART_FIELD_MANAGER, WARM_FIELD_MANAGER, appSelector, namespaceFor, processName, selectorString } from './labels.ts';
import { mergeLogs, formatLogLine, splitLogLine } from './logs.ts';
import { namespaceObject, releaseObjects, webBudgetObject } from './objects.ts';
import { claimObject } from './volumes.ts';
import { GUARD_KINDS, runLimitRefusal } from './quota.ts';
import { cronState } from './cron-state.ts';
import { crashLines, podState, processTypeOf, readinessFailure, recentWarnings, rolloutState, whyNotReady, type PodState } from './rollout.ts';
import type { KubeObject, ObjectOptions } from './kube-types.ts';
import { RELEASE_TYPE, RUN_PROCESS, cutover, runView, warmPatch, webSetName, cronJobName, cronJobObject, manualJobName, manualJobObject, releaseCommand, releasePodObject, replicasFor, restartPatch, runCommand, runPodName, runPodObject } from './workload.ts';
import type { AppRuntime, CronState, DeployableRelease, Deployer, HealthChecks, LogRequest, PodUsage, ProcessIo, ProcessStatus, ReleasePhaseOptions, RunRequest, Volume, VolumeState, WarmSet, Workload } from './deployer.ts';
import { processOwner } from '../process.ts';
import { KubeClient } from './kube-client.ts';
import type { HostCert } from './deployer.ts';
import { TLS_LABEL, tlsHosts } from './tls.ts';
import { ContentChecks, MAX_CONTENT_BODY_BYTES } from './content-check.ts';
import { acmeState, certificateReady, describePem, type CertificateLike, type ChallengeLike } from './cert-status.ts';
import { ingressObjects, serviceObject, WEB, WEB_HTTPS } from './network.ts';
import { askIngressApi, readyPodAddresses, sameAddresses, sliceAddresses, traefikServers, traefikServiceName } from './ingress-sync.ts';
import { processUsage } from './usage.ts';
import { KubeNodes } from './kube-nodes.ts';
import type { V1Ingress } from './kube-types.ts';

const CERTIFICATE = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate' } as const;
const CHALLENGE = { apiVersion: 'acme.cert-manager.io/v1', kind: 'Challenge' } as const;

/** The kinds a release creates per process type; whatever of these a release no longer has is pruned. */
const PRUNED: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  // egress-allow goes when its last exception does.
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  // A type's budget goes when it runs fewer than two instances, or goes itself.
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
];

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
   * them (netpol.ts) before any of its pods starts. fromConfig always sets it.
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

/** Longest line of a release command's output shown whole; one printed without a newline is cut here. */
const MAX_RELEASE_LINE = 64 * 1024;

/** Most of one instance's recent log `logs -n` holds at once (the newest lines are kept). */
const MAX_LOG_TAIL_BYTES = 4 * 1024 * 1024;

/** Why a rollout did not finish, before the previous release is restored. */
class RolloutFailure extends Error {
  /**
   * Instances of the failed release may have become ready and replaced old ones (a content check
   * can fail after the kubelet found its instance ready): restoring then waits until the old
   * release serves again.
   */
  replacedOld = false;
}

/** Longest the switch of the traffic to a ready set of web instances may take to reach the ingress. */
const SWITCH_TIMEOUT_MS = 15_000;
/** How often the switch looks at the EndpointSlices and the ingress. */
const SWITCH_POLL_MS = 20;
/** How long a switch waits after the EndpointSlices when Traefik's API cannot confirm it. */
const INGRESS_SETTLE_MS = 300;
/** How long Traefik's API may not know the app's service yet (a first deploy's new Ingress) before Slipway stops asking. */
const INGRESS_API_WAIT_MS = 5000;

/** An app's sets of web instances, as deploy finds them before it changes anything. */
interface WebSets {
  /** The Deployments `web-vN`, by N. */
  sets: Map<number, V1Deployment>;
  /** The release the web Service sends the traffic to; undefined before the first deploy. */
  serving: number | undefined;
  /** The app still has its one `web` Deployment from before sets existed (it goes after the first switch). */
  legacy: boolean;
}

/** Longest one answer of Traefik's API may take, and its largest body. */
const INGRESS_API_READ = { timeoutMs: 2000, maxBytes: 1024 * 1024 };

/** One answer of Traefik's API about `path`, or why there is none. */
async function readIngressApi(client: KubeClient, api: string, path: string): Promise<{ json: unknown } | { error: string; missing?: true }> {
  const answer = await askIngressApi(client, api, path, INGRESS_API_READ);
  if ('error' in answer) return { error: `did not answer (${answer.error})` };
  if (answer.status === 404) return { error: "has no service for the app's Ingresses", missing: true };
  if (answer.status < 200 || answer.status > 299) return { error: `answered ${answer.status} for the app's service` };
  try {
    return { json: JSON.parse(answer.body) as unknown };
  } catch {
    return { error: 'answered something other than JSON' };
  }
}

/** Whether a Deployment is no set of web instances, or the set of release `version`. */
function ownSet(d: V1Deployment, version: number): boolean {
  const release = d.metadata?.labels?.[LABEL.release];
  return release === undefined || release === String(version);
}

/** ps order: web first (the serving set before a warm one), then the other types by name. */
function rank(p: ProcessStatus): number {
  return p.type === 'web' ? (p.warm ? 1 : 0) : 2;
}

/** Whether a set of web instances runs exactly `replicas` ready instances of its current spec. */
function setReady(d: V1Deployment, replicas: number): boolean {
  const st = d.status ?? {};
  return replicas > 0 && d.spec?.replicas === replicas && (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
    && st.readyReplicas === replicas && st.updatedReplicas === replicas && (st.replicas ?? 0) === replicas;
}

/** Whether a Deployment is a set of web instances kept warm outside the traffic. */
function isWarm(d: V1Deployment): boolean {
  return d.metadata?.labels?.[LABEL.warm] === 'true';
}

/** Deploys releases to a Kubernetes cluster (k3s in production): one namespace per app. */
export class KubeDeployer implements Deployer {
  readonly name = 'kubernetes';
  readonly client: KubeClient;
  /** The cluster's nodes (nodes, nodes:drain, nodes:uncordon; where build pods go). */
  readonly cluster: KubeNodes;
  readonly #opts: { ingressClass: string | undefined; rolloutTimeoutMs: number; releaseTimeoutMs: number; cronTimeoutMs: number; pollMs: number; waitForRollout: boolean; network: Readonly<ClusterNetwork> | undefined; ingressApi: string | undefined };
  readonly #pullFrom: KubeDeployerOptions['pullFrom'];

  constructor(client: KubeClient, opts: KubeDeployerOptions) {
    this.client = client;
    this.cluster = new KubeNodes(client);
    this.#opts = { ingressClass: opts.ingressClass, rolloutTimeoutMs: opts.rolloutTimeoutMs, releaseTimeoutMs: opts.releaseTimeoutMs ?? 600_000, cronTimeoutMs: opts.cronTimeoutMs ?? 3_600_000, pollMs: opts.pollMs ?? 100, waitForRollout: opts.waitForRollout ?? true, network: opts.network, ingressApi: opts.ingressApi };
    this.#pullFrom = opts.pullFrom;
  }

  /** The deployer for a server's config (KUBECONFIG must be set). */
  static fromConfig(config: Pick<Config, 'kubeconfig' | 'ingressClass' | 'rolloutTimeoutMs' | 'network'> & Partial<Pick<Config, 'registry' | 'registryPull' | 'releaseTimeoutMs' | 'cronTimeoutMs' | 'ingressApi'>>): KubeDeployer {
    if (!config.kubeconfig) throw new Error('KubeDeployer needs KUBECONFIG');
    const pullFrom = config.registry && config.registryPull && config.registryPull !== config.registry ? { from: config.registry, to: config.registryPull } : undefined;
    return new KubeDeployer(new KubeClient(config.kubeconfig), { ingressClass: config.ingressClass, rolloutTimeoutMs: config.rolloutTimeoutMs, releaseTimeoutMs: config.releaseTimeoutMs, cronTimeoutMs: config.cronTimeoutMs, pullFrom, network: config.network, ingressApi: config.ingressApi });
  }

  async deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal }): Promise<void> {
    const t = opts.transcript;
    // The objects of a release that runs another one's instances (a rollback) are that release's.
    const run = runView(release);
    const previous = opts.previous && runView(opts.previous);
    const before = await this.#webSets(release.app);
    const atomic = cutover(run);
    // Serving stays where it is until the new set is ready; a first deploy serves its own at once.
    const serving = atomic ? before.serving ?? run.version : undefined;
    const created = atomic && !before.sets.has(run.version);
    // A new set starts: older warm sets make room for it (in the app's quota); they take no traffic.
    if (created) await this.#dropSets(release.app, [...before.sets.keys()].filter((v) => v !== before.serving));
    // A warm set with every instance asked for ready (a rollback within the window) takes the
    // traffic first: the rest of the release follows, and none of it changes what that set serves.
    const warm = before.sets.get(run.version);
    const early = atomic && this.#opts.waitForRollout && before.serving !== undefined && before.serving !== run.version && warm !== undefined && setReady(warm, replicasFor(run, WEB));
    if (early) await this.#switchTo(run, before, t, opts.signal);
    try {
      await this.#applyRelease(run, previous, early ? run.version : serving);
    } catch (err) {
      // Some objects may be applied already: put the previous release back so a rejected push
      // leaves the cluster as it was. The apply error is the one the user needs to see.
      if (created) await this.#dropSets(release.app, [run.version]).catch((e: unknown) => log.error('removing a new set of web instances after a failed apply failed', { app: release.app, err: e }));
      if (previous) {
        await this.#applyRelease(previous, undefined, before.serving).catch((restoreErr: unknown) =>
          log.error('restoring the previous release after a failed apply failed too', { app: release.app, version: previous.version, err: restoreErr }));
      }
      throw err;
    }
    t.detail(`Applied v${release.version}${run.version !== release.version ? ` (the instances of v${run.version})` : ''}: ${release.processes.filter((p) => p.type !== RELEASE_TYPE).map((p) => `${p.type}=${replicasFor(release, p.type)}`).join(', ')}`);
    if (this.#opts.waitForRollout) {
      try {
        await this.#waitForRollout(release.app, run.version, t, opts.signal, release.checks);
      } catch (err) {
        if (!(err instanceof RolloutFailure)) throw err;
        // Once its diagnosis is read, the failed set goes (it never took traffic).
        const dropFailed = created ? () => this.#dropSets(release.app, [run.version]) : async () => {};
        throw await this.#giveUp(release, opts.previous, err, t, opts.signal, before.serving, dropFailed);
      }
    }
    // Scheduled tasks only once the release runs: a release that fails its rollout never starts
    // a task with its image or config, and its predecessor's CronJobs stay as they were. Then the
    // switch; if either fails, the traffic and the tasks stay (or go back) where they were.
    try {
      const tasks = await this.#applyCron(run);
      if (tasks) t.detail(`Scheduled ${tasks}`);
      if (atomic && !early) await this.#switchTo(run, before, t, opts.signal);
    } catch (err) {
      // The traffic is where it was (a failed switch moved it back): so is the rest.
      if (created) await this.#dropSets(release.app, [run.version]).catch((e: unknown) => log.error('removing a new set of web instances failed', { app: release.app, err: e }));
      if (previous) {
        await this.#applyRelease(previous, undefined, before.serving).then(() => this.#applyCron(previous)).catch((restoreErr: unknown) =>
          log.error('restoring the previous release after a failed switch or scheduled tasks failed too', { app: release.app, version: previous.version, err: restoreErr }));
      }
      throw err;
    }
    if (atomic) await this.#retire(run, before, t);
  }

  /**
   * The app's sets of web instances (Deployments `web-vN`) by release, the release the web Service
   * sends traffic to (its selector; for an app deployed before sets existed, its one `web`
   * Deployment's release), and whether that older `web` Deployment is there.
   */
  async #webSets(app: string): Promise<WebSets> {
    const ns = namespaceFor(app);
    const [list, service, legacy] = await Promise.all([
      this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: `${appSelector(app)},${LABEL.process}=${WEB},${LABEL.release}` }),
      this.client.read<V1Service>('v1', 'Service', WEB, ns),
      this.client.read<V1Deployment>('apps/v1', 'Deployment', WEB, ns),
    ]);
    const sets = new Map(list.map((d) => [Number(d.metadata?.labels?.[LABEL.release]), d]));
    const selected = service?.spec?.selector?.[LABEL.release];
    const legacyRelease = legacy?.spec?.template?.metadata?.labels?.[LABEL.release];
    const serving = selected !== undefined ? Number(selected) : legacyRelease !== undefined ? Number(legacyRelease) : undefined;
    return { sets, serving, legacy: Boolean(legacy) };
  }

  /** Deletes these sets of web instances of the app at once (they take no traffic), with their pods. */
  async #dropSets(app: string, versions: readonly number[]): Promise<void> {
    const ns = namespaceFor(app);
    await Promise.all(versions.map(async (v) => {
      await this.client.remove('apps/v1', 'Deployment', webSetName(v), ns);
      const pods = await this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.process]: WEB, [LABEL.release]: String(v) }) });
      await Promise.all(pods.map((p) => this.client.remove('v1', 'Pod', p.metadata!.name!, ns, { gracePeriodSeconds: 0 })));
    }));
  }

  /**
   * Moves the traffic to the release's set of web instances in one step (the Service's selector),
   * then waits until the ingress sends every new request there: the Service's EndpointSlices list
   * exactly the set's ready pods, and, where Traefik's API is known (SLIPWAY_INGRESS_API), Traefik's
   * service for the app lists exactly their addresses.
   */
  async #switchTo(run: DeployableRelease, before: WebSets, t: Transcript, signal: AbortSignal): Promise<void> {
    const ns = namespaceFor(run.app);
    const switching = before.serving !== undefined && before.serving !== run.version;
    if (switching) await this.#pointWebAt(run, run.version);
    // Without the rollout wait (tests of the objects alone) no pod gets ready to be routed to; a
    // set of no instances (ps:stop, web=0) has nothing to route to.
    if (!this.#opts.waitForRollout || replicasFor(run, WEB) === 0) return;
    const selector = selectorString({ [LABEL.instance]: run.app, [LABEL.process]: WEB, [LABEL.release]: String(run.version) });
    const deadline = Date.now() + SWITCH_TIMEOUT_MS;
    let want = new Set<string>();
    let stage = 'the Service';
    try {
      for (;;) {
        const [pods, slices] = await Promise.all([
          this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector }),
          this.client.list<V1EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice', ns, { labelSelector: `kubernetes.io/service-name=${WEB}` }),
        ]);
        want = readyPodAddresses(pods);
        if (sameAddresses(want, sliceAddresses(slices))) break;
        await this.#pause(deadline, signal, `${stage} did not reach the new instances`);
      }
      let confirmed = false;
      if (this.#opts.ingressApi) {
        stage = 'the ingress';
        const api = this.#opts.ingressApi;
        const path = `/api/http/services/${encodeURIComponent(traefikServiceName(ns, WEB, 'http'))}`;
        const asked = Date.now();
        for (;;) {
          const answer = await readIngressApi(this.client, api, path);
          // A first deploy's service appears in Traefik a moment after its Ingress: not yet there
          // is worth a few polls.
          if ('missing' in answer && Date.now() - asked < INGRESS_API_WAIT_MS) {
            await this.#pause(deadline, signal, `${stage} (${api}) did not route to the new instances`);
            continue;
          }
          // An API that cannot say (down, or it serves no such service: another ingress class)
          // does not stop the deploy: the EndpointSlices have switched, and the doctor says why.
          if ('error' in answer) {
            t.detail(`(the switch is confirmed by the EndpointSlices only: Traefik's API at ${api} ${answer.error})`);
            log.warn('could not read the ingress API during a switch', { app: run.app, url: `${api}${path}`, error: answer.error });
            break;
          }
          if (sameAddresses(want, traefikServers(answer.json))) {
            confirmed = true;
            break;
          }
          await this.#pause(deadline, signal, `${stage} (${api}) did not route to the new instances`);
        }
      }
      // Unconfirmed by the ingress itself: give it the time Traefik takes to apply an endpoint
      // change after another one (the throttle install.sh sets, 200 ms, and its watch).
      if (switching && !confirmed) await sleep(INGRESS_SETTLE_MS);
    } catch (err) {
      if (!switching) throw err;
      // The traffic goes back where it was: the release is rejected, and what served keeps serving.
      await this.#pointWebAt(run, before.serving!).catch((e: unknown) => log.error('moving the traffic back failed', { app: run.app, err: e }));
      throw new UserError(`v${run.version}'s instances were ready, but ${(err as Error).message}; the traffic stays on v${before.serving}.`, { cause: err });
    }
    if (switching) t.detail(`Switched the traffic from v${before.serving} to v${run.version}`);
  }

  /**
   * Points the web Service at release `serving`'s set, and web's PodDisruptionBudget (when it has
   * one) with it: the set that serves is the one a drain must not empty.
   */
  async #pointWebAt(run: DeployableRelease, serving: number): Promise<void> {
    await this.client.apply(serviceObject(run, serving));
    const budget = webBudgetObject(run, serving);
    if (budget) await this.client.apply(budget);
  }

  /** Sleeps a little before the next poll of a switch; throws `why` at the deadline or when cancelled. */
  async #pause(deadline: number, signal: AbortSignal, why: string): Promise<void> {
    if (signal.aborted) throw new Error(`the deploy was cancelled before ${why.replace(/ did not.*/, '')} followed`);
    if (Date.now() >= deadline) throw new Error(`${why} within ${SWITCH_TIMEOUT_MS / 1000} s`);
    await sleep(SWITCH_POLL_MS);
  }

  /**
   * After the switch: the set that served before stays up warm for the release's warm window
   * (outside the traffic, for an instant rollback), or is removed (its instances finish their
   * preStop pause, draining requests in flight); the app's older `web` Deployment goes either way,
   * and so does every other set but the serving one and those still warm.
   */
  async #retire(run: DeployableRelease, before: WebSets, t: Transcript): Promise<void> {
    const ns = namespaceFor(run.app);
    const old = before.serving !== run.version && before.sets.has(before.serving ?? -1) ? before.serving : undefined;
    const warm = old !== undefined && (run.warmSeconds ?? 0) > 0;
    if (warm) {
      const until = new Date(Date.now() + run.warmSeconds! * 1000).toISOString();
      await this.client.apply(warmPatch(run.app, old, until), WARM_FIELD_MANAGER);
      t.detail(`The instances of v${old} stay warm until ${until.slice(11, 19)} UTC (a rollback to them only moves the traffic)`);
    }
    // Taken back into service: no longer warm.
    if (before.sets.get(run.version)?.metadata?.labels?.[LABEL.warm]) await this.client.apply(warmPatch(run.app, run.version, null), WARM_FIELD_MANAGER);
    // Warm sets stay until their window ends (a new set made them go already); leftovers go.
    const gone = [...before.sets].filter(([v, d]) => v !== run.version && !(warm && v === old) && !(isWarm(d) && v !== before.serving)).map(([v]) => v);
    await Promise.all([
      ...gone.map((v) => this.client.remove('apps/v1', 'Deployment', webSetName(v), ns)),
      ...(before.legacy ? [this.client.remove('apps/v1', 'Deployment', WEB, ns)] : []),
    ]);
  }

  /**
   * Applies the release's scheduled tasks as CronJobs and deletes the app's CronJobs it no longer
   * has (their Jobs and pods go with them); returns what was scheduled, for the transcript.
   */
  async #applyCron(release: DeployableRelease): Promise<string> {
    const image = pullImage(release.image, this.#pullFrom);
    const deadline = Math.max(1, Math.round(this.#opts.cronTimeoutMs / 1000));
    const wanted = (release.cron ?? []).map((task) => cronJobObject({ ...release, image }, task, deadline));
    await Promise.all(wanted.map((o) => this.client.apply(o)));
    await this.#pruneCron(release.app, new Set(wanted.map((o) => o.metadata.name)));
    return (release.cron ?? []).map((c) => `${c.id} (${c.schedule}${c.suspended ? ', suspended' : ''})`).join(', ');
  }

  /** Deletes the app's CronJobs not named in `keep`. */
  async #pruneCron(app: string, keep: ReadonlySet<string>): Promise<void> {
    const ns = namespaceFor(app);
    const existing = await this.client.list<KubeObject>('batch/v1', 'CronJob', ns, { labelSelector: appSelector(app) });
    await Promise.all(existing.filter((o) => !keep.has(o.metadata.name)).map((o) => this.client.remove('batch/v1', 'CronJob', o.metadata.name, ns)));
  }

  async cronStatus(app: string): Promise<CronState[]> {
    const ns = namespaceFor(app);
    const [cronJobs, jobs] = await Promise.all([
      this.client.list<V1CronJob>('batch/v1', 'CronJob', ns, { labelSelector: appSelector(app) }),
      this.client.list<V1Job>('batch/v1', 'Job', ns, { labelSelector: `${appSelector(app)},${LABEL.cron}` }),
    ]);
    return cronJobs.map((c) => cronState(c, jobs));
  }

  async runCron(app: string, id: string): Promise<string> {
    const ns = namespaceFor(app);
    const cronJob = await this.client.read<V1CronJob>('batch/v1', 'CronJob', cronJobName(id), ns);
    if (!cronJob?.metadata?.uid) throw new UserError(`${app} has no scheduled task ${id} in the cluster yet; deploy it first (git push).`);
    const job = manualJobObject({ ...cronJob, metadata: { ...cronJob.metadata, name: cronJobName(id), namespace: ns, uid: cronJob.metadata.uid } }, manualJobName(id));
    await this.client.apply(job);
    return job.metadata.name;
  }

  /** What the object builders are given. */
  #objectOptions(): ObjectOptions {
    return { ingressClass: this.#opts.ingressClass, network: this.#opts.network };
  }

  /**
   * Applies a release's objects, then deletes what it no longer has (process types, old Secrets).
   * The web Service keeps sending traffic to release `serving`'s set of instances; the sets
   * themselves (and an app's older `web` Deployment) are left to deploy's switch and #retire.
   */
  async #applyRelease(release: DeployableRelease, previous: DeployableRelease | undefined, serving: number | undefined = release.version): Promise<void> {
    const redirect = await this.#redirectHosts(release);
    const { guards, rest } = await this.#applyGuards(release, { redirect, serving });
    // Ingresses last and in order (the redirecting one first: a host moving between them is never
    // in neither), after the TLS Secrets and Middleware they name.
    await Promise.all(rest.filter((o) => o.kind !== 'Ingress').map((o) => this.client.apply(o)));
    for (const o of rest.filter((o) => o.kind === 'Ingress')) await this.client.apply(o);
    await this.#prune(release.app, [...guards, ...rest], [release.version, previous?.version, serving], cutover(release));
    // Also without a TLS plan: removing the last uploaded certificate (with ACME off) leaves a
    // release with none, and its Secret holds a private key that must not stay behind.
    await this.#pruneTls(release, rest);
  }

  /** The hosts whose certificate is there (uploaded, or its Certificate Ready): they redirect to HTTPS. */
  async #redirectHosts(release: DeployableRelease): Promise<Set<string>> {
    const hosts = tlsHosts(release);
    if (hosts.size === 0) return new Set();
    const certs = await this.client.list<CertificateLike>(CERTIFICATE.apiVersion, CERTIFICATE.kind, namespaceFor(release.app), { labelSelector: appSelector(release.app) })
      .catch((err: unknown) => { throw new Error(`could not read the app's Certificates (is cert-manager installed?): ${(err as Error).message}`, { cause: err }); });
    const ready = new Set(certs.filter(certificateReady).map((c) => c.metadata?.name));
    return new Set([...hosts].filter(([, t]) => t.source === 'uploaded' || ready.has(t.secret)).map(([h]) => h));
  }

  /**
   * Deletes the Certificates and TLS Secrets the release no longer has (hosts removed, automatic
   * certificates off, uploaded ones removed). Certificates are only looked at with a TLS plan: without
   * one, cert-manager (whose kind they are) need not be installed at all.
   */
  async #pruneTls(release: DeployableRelease, keep: readonly KubeObject[]): Promise<void> {
    const ns = namespaceFor(release.app);
    const certs = new Set(keep.filter((o) => o.kind === CERTIFICATE.kind).map((o) => o.metadata.name));
    const secrets = new Set([...tlsHosts(release).values()].map((t) => t.secret));
    const selector = `${appSelector(release.app)},${TLS_LABEL}`;
    const [existingCerts, existingSecrets] = await Promise.all([
      release.tls ? this.client.list<KubeObject>(CERTIFICATE.apiVersion, CERTIFICATE.kind, ns, { labelSelector: selector }) : [],
      this.client.list<V1Secret>('v1', 'Secret', ns, { labelSelector: selector }),
    ]);
    // Without a plan the Certificates stay, and so do the Secrets cert-manager keeps for them
    // (it would only issue them again).
    const managed = (x: V1Secret) => !release.tls && x.metadata?.annotations?.['cert-manager.io/certificate-name'] !== undefined;
    await Promise.all([
      ...existingCerts.filter((c) => !certs.has(c.metadata.name)).map((c) => this.client.remove(CERTIFICATE.apiVersion, CERTIFICATE.kind, c.metadata.name, ns)),
      ...existingSecrets.filter((x) => !secrets.has(x.metadata!.name!) && !managed(x)).map((x) => this.client.remove('v1', 'Secret', x.metadata!.name!, ns)),
    ]);
  }

  /** Each host's certificate: uploaded (from the release), ACME (from cert-manager's objects), or none. */
  async certificates(release: DeployableRelease): Promise<HostCert[]> {
    const hosts = tlsHosts(release);
    const ns = namespaceFor(release.app);
    const acme = [...hosts.values()].some((t) => t.source === 'acme');
    const [certs, challenges] = acme
      ? await Promise.all([
        this.client.list<CertificateLike>(CERTIFICATE.apiVersion, CERTIFICATE.kind, ns, { labelSelector: appSelector(release.app) }),
        this.client.list<ChallengeLike>(CHALLENGE.apiVersion, CHALLENGE.kind, ns),
      ])
      : [[], []];
    return Promise.all(release.domains.map(async (host): Promise<HostCert> => {
      const t = hosts.get(host);
      if (!t) return { host, state: 'none' };
      if (t.source === 'uploaded') {
        const d = describePem(release.tls!.uploaded.find((u) => u.host === host)!.certPem);
        return { host, state: 'issued', source: 'uploaded', issuer: d.issuer, notAfter: d.notAfter };
      }
      const cert = certs.find((c) => c.metadata?.name === t.secret);
      let pem: string | undefined;
      if (certificateReady(cert)) {
        const secret = await this.client.read<V1Secret>('v1', 'Secret', t.secret, ns);
        const crt = secret?.data?.['tls.crt'];
        pem = crt ? Buffer.from(crt, 'base64').toString('utf8') : undefined;
      }
      return acmeState(host, cert, challenges, pem);
    }));
  }

  /** Applies the Ingresses again when the set of hosts with a certificate changed; true if it did. */
  async refreshTls(release: DeployableRelease): Promise<boolean> {
    if (!release.tls || !release.processes.some((p) => p.type === 'web')) return false;
    const redirect = await this.#redirectHosts(release);
    const current = await this.client.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', WEB_HTTPS, namespaceFor(release.app));
    const now = new Set((current?.spec?.rules ?? []).map((r) => r.host));
    if (now.size === redirect.size && [...redirect].every((h) => now.has(h))) return false;
    const ingresses = ingressObjects(release, this.#objectOptions(), redirect);
    for (const o of ingresses) await this.client.apply(o);
    const wanted = new Set(ingresses.map((o) => o.metadata.name));
    const existing = await this.client.list<KubeObject>('networking.k8s.io/v1', 'Ingress', namespaceFor(release.app), { labelSelector: appSelector(release.app) });
    await Promise.all(existing.filter((o) => !wanted.has(o.metadata.name)).map((o) => this.client.remove('networking.k8s.io/v1', 'Ingress', o.metadata.name, namespaceFor(release.app))));
    return true;
  }

  /**
   * Deletes the app's Deployments, Services and Ingresses that `keep` does not name, and the
   * Secrets of releases other than `keepReleases` (the old pods of a rollout still read the
   * previous release's Secret, and restoring it needs it).
   */
  async #prune(app: string, keep: readonly KubeObject[], keepReleases: readonly (number | undefined)[], sets = false): Promise<void> {
    const ns = namespaceFor(app);
    const selector = appSelector(app);
    // Sets of web instances (labelled with their release) come and go with the switch, and so does
    // an older `web` Deployment while the sets take over from it; `sets: false` removes them too.
    // (Listed objects carry no kind of their own: the kind is the one listed.)
    const left = (kind: string, o: KubeObject) => sets && kind === 'Deployment' && (o.metadata.labels?.[LABEL.release] !== undefined || o.metadata.name === WEB);
    const existingSets: number[] = [];
    await Promise.all([
      // Without the cluster network there are no policies to keep, and none of an earlier apply's to drop.
      ...PRUNED.filter((k) => this.#opts.network || k.kind !== 'NetworkPolicy').map(async ({ apiVersion, kind }) => {
        const wanted = new Set(keep.filter((o) => o.kind === kind).map((o) => o.metadata.name));
        const existing = await this.client.list<KubeObject>(apiVersion, kind, ns, { labelSelector: selector });
        for (const o of existing) if (kind === 'Deployment' && o.metadata.labels?.[LABEL.release] !== undefined) existingSets.push(Number(o.metadata.labels[LABEL.release]));
        await Promise.all(existing.filter((o) => !wanted.has(o.metadata.name) && !left(kind, o)).map((o) => this.client.remove(apiVersion, kind, o.metadata.name, ns)));
      }),
    ]);
    await Promise.all([
      (async () => {
        const secrets = await this.client.list<V1Secret>('v1', 'Secret', ns, { labelSelector: selector });
        // Release Secrets only: TLS Secrets (which have no release) are #pruneTls's. Every set of
        // web instances still there (serving, warm) keeps its release's config.
        const kept = [...keepReleases, ...(sets ? existingSets : [])];
        const stale = secrets.filter((s) => s.metadata?.labels?.[LABEL.release] !== undefined && !kept.includes(Number(s.metadata.labels[LABEL.release])));
        await Promise.all(stale.map((s) => this.client.remove('v1', 'Secret', s.metadata!.name!, ns)));
      })(),
    ]);
  }

  /**
   * Polls until every Deployment of the app finished rolling out (as kubectl decides it), showing
   * `web: 1/2 ready` as counts change. Throws RolloutFailure at once when a pod of the release is
   * stuck for good (CrashLoopBackOff, ImagePullBackOff, …), and at the deadline.
   */
  async #waitForRollout(app: string, version: number, t: Transcript, signal: AbortSignal, checks?: HealthChecks): Promise<void> {
    const ns = namespaceFor(app);
    const deadline = Date.now() + this.#opts.rolloutTimeoutMs;
    const shown = new Map<string, string>();
    const content = new ContentChecks(checks);
    for (;;) {
      if (signal.aborted) throw new RolloutFailure('the deploy was cancelled');
      const [deployments, pods] = await Promise.all([
        this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
        this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) }) }),
      ]);
      // Of the sets of web instances, only this release's rolls out; the others (serving, warm) stand.
      const states = deployments.filter((d) => ownSet(d, version)).map(rolloutState);
      const podStates = pods.map(podState);
      for (const s of states) {
        if (s.desired === 0 && !shown.has(s.name)) continue;
        const ready = podStates.filter((p) => p.process === s.name && p.ready).length;
        const line = `${s.type}: ${Math.min(ready, s.desired)}/${s.desired} ready`;
        if (shown.get(s.name) !== line) t.detail(line);
        shown.set(s.name, line);
      }
      const fatal = podStates.find((p) => p.fatal);
      if (fatal) throw new RolloutFailure(whyNotReady(states, podStates));
      const failed = states.find((s) => s.failed);
      // Pods of earlier releases count against the quota until they are gone (their preStop
      // pause and grace period): while any is terminating, its room comes back by itself.
      if (failed && !(failed.quotaFull && await this.#anyTerminating(app))) throw new RolloutFailure(failed.failed!);
      // A declared HTTP readiness check that keeps failing will not start passing by itself.
      if (checks && podStates.some((p) => p.started && !p.ready)) {
        const events = await this.client.list<CoreV1Event>('v1', 'Event', ns, { fieldSelector: 'type=Warning' });
        const unhealthy = readinessFailure(pods, events, checks, Date.now());
        if (unhealthy) throw new RolloutFailure(unhealthy);
      }
      // Dokku's `content`: asked of each new instance from the moment its container runs.
      if (content.any) {
        const due = content.due(pods, Date.now());
        const answers = await Promise.all(due.map((d) => this.client.proxyGet(ns, d.pod, d.port, d.check.path, { timeoutMs: (d.check.timeout ?? 1) * 1000, maxBytes: MAX_CONTENT_BODY_BYTES })));
        due.forEach((d, i) => {
          if (content.record(d, answers[i]!, Date.now())) t.detail(`${d.type} instance ${d.pod}: GET ${d.check.path} contains ${JSON.stringify(d.check.content)}`);
        });
        if (content.failure) throw Object.assign(new RolloutFailure(content.failure), { replacedOld: true });
      }
      if (states.every((s) => s.done) && content.allPassed(pods)) return;
      if (Date.now() >= deadline) throw new RolloutFailure(`after ${Math.round(this.#opts.rolloutTimeoutMs / 1000)} s, ${whyNotReady(states, podStates)}`);
      try {
        await sleep(Math.min(this.#opts.pollMs, Math.max(0, deadline - Date.now())), undefined, { signal });
      } catch {
        // Aborted while sleeping: the check at the top of the loop says so.
      }
    }
  }

  /**
   * Waits until no instance of release `version` is left, not even one finishing its preStop
   * pause (which still answers requests the ingress had routed to it), within the rollout timeout.
   */
  async #waitUntilGone(app: string, version: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#opts.rolloutTimeoutMs;
    const selector = selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) });
    for (;;) {
      const left = (await this.client.list<V1Pod>('v1', 'Pod', namespaceFor(app), { labelSelector: selector })).filter((p) => p.metadata?.labels?.[LABEL.process] !== RELEASE_TYPE);
      if (left.length === 0) return;
      if (signal.aborted) throw new RolloutFailure('the deploy was cancelled');
      if (Date.now() >= deadline) throw new RolloutFailure(`after ${Math.round(this.#opts.rolloutTimeoutMs / 1000)} s, ${left.map((p) => p.metadata?.name).join(', ')} had not stopped`);
      try {
        await sleep(this.#opts.pollMs, undefined, { signal });
      } catch {
        // Aborted while sleeping: the check at the top of the loop says so.
      }
    }
  }

  /** Whether any pod of the app is terminating. */
  async #anyTerminating(app: string): Promise<boolean> {
    const pods = await this.client.list<V1Pod>('v1', 'Pod', namespaceFor(app), { labelSelector: appSelector(app) });
    return pods.some((p) => p.metadata?.deletionTimestamp);
  }

  /**
   * A failed rollout: shows why (warning events, the last log lines of a crashed container),
   * removes a new set of web instances (`dropFailed`, after the diagnosis read its pods), puts the previous release back (or removes what the failed first release started) and
   * returns the one-sentence error. When the failed release's instances had replaced old ones,
   * it waits until the previous release serves again, so that the sentence is true when said.
   */
  async #giveUp(release: DeployableRelease, previous: DeployableRelease | undefined, failure: RolloutFailure, t: Transcript, signal: AbortSignal, serving: number | undefined, dropFailed: () => Promise<void>): Promise<UserError> {
    const reason = failure.message;
    const run = runView(release);
    await this.#showDiagnosis(release.app, run.version, t);
    try {
      await dropFailed();
      if (previous) {
        t.detail(`Restoring v${previous.version}`);
        const prev = runView(previous);
        await this.#applyRelease(prev, undefined, serving);
        if (failure.replacedOld && this.#opts.waitForRollout) {
          await this.#waitForRollout(prev.app, prev.version, t, signal);
          await this.#waitUntilGone(release.app, run.version, signal);
        }
      } else {
        await this.#prune(release.app, [], []);
      }
    } catch (err) {
      return new UserError(`v${release.version} did not become ready: ${reason}; then ${previous ? `restoring v${previous.version}` : 'removing it'} failed: ${(err as Error).message}`, { cause: err });
    }
    return new UserError(`v${release.version} did not become ready: ${reason}; ${previous ? `v${previous.version} is running again` : 'nothing was left running'}.`);
  }

  /** Shows #diagnose's lines; if reading them fails, says so and goes on to the real error. */
  async #showDiagnosis(app: string, version: number, t: Transcript): Promise<void> {
    try {
      for (const line of await this.#diagnose(app, version)) t.detail(line);
    } catch (err) {
      t.detail(`(no further detail: ${(err as Error).message})`);
      log.warn('rollout diagnosis failed', { app, err });
    }
  }

  /** Recent warning events of the release's pods and Deployments, and a crashed container's last log lines. */
  async #diagnose(app: string, version: number): Promise<string[]> {
    const ns = namespaceFor(app);
    const [pods, events, deployments] = await Promise.all([
      this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) }) }),
      this.client.list<CoreV1Event>('v1', 'Event', ns, { fieldSelector: 'type=Warning' }),
      this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
    ]);
    const states = pods.map(podState);
    const out = recentWarnings(events, [...states.map((p) => p.name), ...deployments.map((d) => d.metadata?.name ?? '')]);
    // A whole new set starts at once: the instance stuck for good says most, then one that restarted.
    const crashed = states.find((p) => p.started && p.fatal) ?? states.find((p) => p.started && p.restarts > 0) ?? states.find((p) => p.started && !p.ready);
    if (crashed) {
      const text = await this.client.podLog(ns, crashed.name, crashed.process, { previous: crashed.restarts > 0, tailLines: 60 });
      const lines = crashLines(text.split('\n').filter(Boolean).map((l) => splitLogLine(l).text)).map((l) => '  ' + l);
      if (lines.length) out.push(`Last log lines of ${crashed.name}:`, ...lines);
    }
    return out;
  }

  async releasePhase(given: DeployableRelease, opts: ReleasePhaseOptions): Promise<void> {
    // A rollback's release command runs with its target's objects (config Secret), as its instances do.
    const release = runView(given);
    const proc = release.processes.find((p) => p.type === RELEASE_TYPE);
    if (!proc) return;
    const t = opts.transcript;
    const ns = namespaceFor(release.app);
    const deadlineS = Math.max(1, Math.round(this.#opts.releaseTimeoutMs / 1000));
    const image = pullImage(release.image, this.#pullFrom);
    // The new release's config Secret is what the release command reads; the rollout applies it
    // again unchanged, and a release that never rolls out has it pruned by the next one. The
    // namespace's policies, quota and defaults come first, so the release pod is created under them.
    const secret = (await this.#applyGuards(release, { namespace: 'create' })).rest.find((o) => o.kind === 'Secret');
    await this.client.apply(secret!);
    const pod = releasePodObject({ ...release, image }, proc, deadlineS, processOwner());
    const name = pod.metadata.name;
    // Its own process only waits, so nothing is lost by removing the pod at once (a leftover of
    // an interrupted push here, and this one when its command is done).
    const now = { gracePeriodSeconds: 0 };
    await this.client.remove('v1', 'Pod', name, ns, now);
    await this.client.apply(pod);
    const tail: string[] = [];
    const cancelled = () => new UserError('The release command was cancelled; nothing was deployed.', { cause: opts.signal.reason });
    try {
      await this.#waitUntilRunning(ns, name, deadlineS + 60, opts.signal, { subject: 'The release command', pod: 'release pod', after: '; nothing was deployed' })
        .catch((err: unknown) => { throw opts.signal.aborted ? cancelled() : err; });
      // The command's output, line by line, as it comes; the deadline is ours as well as the
      // kubelet's (which ends the pod, and with it the exec, at activeDeadlineSeconds).
      let partial = '';
      const line = (text: string) => {
        tail.push(text);
        if (tail.length > 10) tail.shift();
        t.detail(text);
      };
      // The exec waits for the pusher to take each chunk's lines (transcript.drained), so a
      // command printing without end is held back by a pusher that does not read.
      const out = (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > MAX_RELEASE_LINE) {
          lines.push(partial);
          partial = '';
        }
        for (const l of lines) line(l.replace(/\r$/, ''));
        return t.drained();
      };
      // Ends the exec when the pusher leaves (aborted already or later) or at our deadline.
      const stop = AbortSignal.any([opts.signal, AbortSignal.timeout(this.#opts.releaseTimeoutMs)]);
      let code: number | undefined;
      try {
        code = await this.client.exec(ns, name, pod.spec!.containers[0]!.name, releaseCommand(proc), { stdin: Readable.from([]), stdout: out, stderr: out }, stop);
      } catch (err) {
        if (opts.signal.aborted) throw cancelled();
        // Past the deadline (ours, or the kubelet's ending the pod and the exec with it).
        if (!stop.aborted && !(await this.#releasePodStopped(ns, name))) throw err;
      } finally {
        if (partial) line(partial);
      }
      if (code === 0) return;
      // A command killed by a signal may be the kubelet stopping the pod at its deadline.
      if (code !== undefined && code > 128 && (stop.aborted || await this.#releasePodStopped(ns, name))) code = undefined;
      const last = tail.slice(-3).join(' | ');
      const lines = last ? `; its last lines: ${last}` : '';
      if (code === undefined) throw new UserError(`The release command did not finish within ${deadlineS} s (SLIPWAY_RELEASE_TIMEOUT_S) and was stopped; nothing was deployed${lines}.`);
      const why = code === 137 ? ', killed: out of memory or SIGKILL' : '';
      throw new UserError(`The release command failed (exit code ${code}${why}); nothing was deployed${lines}.`);
    } finally {
      await this.client.remove('v1', 'Pod', name, ns, now).catch((err: unknown) => log.warn('could not remove a release pod', { app: release.app, pod: name, err }));
    }
  }

  /** Whether the release pod is gone or has ended (its deadline, most often) within a few seconds. */
  async #releasePodStopped(ns: string, name: string): Promise<boolean> {
    for (const end = Date.now() + 5000; Date.now() < end;) {
      const p = await this.client.read<V1Pod>('v1', 'Pod', name, ns).catch(() => undefined);
      if (!p || p.status?.reason === 'DeadlineExceeded' || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded' || p.metadata?.deletionTimestamp) return true;
      await sleep(200);
    }
    return false;
  }

  async run(release: DeployableRelease, req: RunRequest & { io: ProcessIo; signal: AbortSignal }): Promise<number> {
    const ns = namespaceFor(release.app);
    const pod = await this.#startRunPod(runView(release), req, 'interactive');
    try {
      await this.#waitUntilRunning(ns, pod, req.timeoutSeconds, req.signal);
      return await this.client.exec(ns, pod, RUN_PROCESS, runCommand(req.command), req.io, req.signal);
    } finally {
      // At once (no grace period): its own process only waits, and a pod that is terminating still
      // counts against the app's one-off quota, which would refuse the next `run` for a while.
      await this.client.remove('v1', 'Pod', pod, ns, { gracePeriodSeconds: 0 }).catch((err: unknown) => log.warn('could not remove a run pod', { app: release.app, pod, err }));
    }
  }

  async workloads(app: string): Promise<Workload[]> {
    const deployments = await this.client.list<V1Deployment>('apps/v1', 'Deployment', namespaceFor(app), { labelSelector: appSelector(app) });
    // A warm set is kept on purpose beside what runs; its window ends it.
    return deployments.filter((d) => !isWarm(d)).map((d) => {
      const m = /^v(\d+)$/.exec(d.spec?.template?.metadata?.annotations?.[ANNOTATION.release] ?? '');
      return { process: rolloutState(d).name, release: m ? Number(m[1]) : null, replicas: d.spec?.replicas ?? 0 };
    });
  }

  async restore(app: string, release: DeployableRelease | undefined): Promise<void> {
    if (release) {
      // The database wins: its release takes the traffic at once, and other sets but warm ones go.
      const run = runView(release);
      const before = await this.#webSets(app);
      await this.#applyRelease(run, undefined, run.version);
      await this.#dropSets(app, [...before.sets].filter(([v, d]) => v !== run.version && !isWarm(d)).map(([v]) => v));
      if (before.legacy && cutover(run)) await this.client.remove('apps/v1', 'Deployment', WEB, namespaceFor(app));
      await this.#applyCron(run);
    } else {
      await this.#prune(app, [], []);
      await this.#pruneCron(app, new Set());
    }
  }

  async sweepPods(alive: (owner: string) => boolean): Promise<number> {
    // Every namespace: the pods of all apps, found by the label all of Slipway's objects carry.
    const pods = await this.client.list<V1Pod>('v1', 'Pod', undefined, { labelSelector: selectorString({ [LABEL.managedBy]: MANAGED_BY }) });
    const orphans = pods.filter((p) => {
      const owner = p.metadata?.annotations?.[ANNOTATION.owner];
      return owner !== undefined && !alive(owner);
    });
    await Promise.all(orphans.map((p) => this.client.remove('v1', 'Pod', p.metadata!.name!, p.metadata!.namespace!, { gracePeriodSeconds: 0 })));
    return orphans.length;
  }

  async runDetached(release: DeployableRelease, req: RunRequest): Promise<string> {
    return this.#startRunPod(runView(release), req, 'detached');
  }

  /**
   * The release's objects, after applying its namespace and what must be there before any pod:
   * its NetworkPolicies (no pod runs unisolated, not even a release or `run` pod of an app deployed
   * before policies existed), its quota and its container defaults (admission applies them to pods
   * as they are created, never afterwards). `namespace: 'create'` applies the namespace only when
   * it is not there: relabeling it "restricted" must go with the rollout of Deployments whose pods
   * meet it, or a pod of an app deployed before would not be replaced when it goes away.
   */
  async #applyGuards(release: DeployableRelease, opts: { redirect?: ReadonlySet<string>; namespace?: 'apply' | 'create'; serving?: number | undefined } = {}): Promise<{ guards: KubeObject[]; rest: KubeObject[] }> {
    const [namespace, ...others] = releaseObjects({ ...release, image: pullImage(release.image, this.#pullFrom) }, this.#objectOptions(), opts.redirect, opts.serving);
    // The namespace first: everything else lives in it.
    if (opts.namespace !== 'create' || !(await this.client.read('v1', 'Namespace', namespace!.metadata.name))) await this.client.apply(namespace!);
    const guards = others.filter((o) => GUARD_KINDS.has(o.kind));
    await Promise.all(guards.map((o) => this.client.apply(o)));
    return { guards, rest: others.filter((o) => !GUARD_KINDS.has(o.kind)) };
  }

  /** The start of the latest one-off pod creation per app: they run one at a time, so two cannot both pass the count. */
  readonly #runStarts = new Map<string, Promise<unknown>>();

  /**
   * Removes the app's finished one-off pods, then creates a new one under the app's quota, unless
   * it already runs as many as it may (release.quota.runs); resolves with the pod's name. The
   * count is checked here for a clear sentence; the namespace's one-off quota enforces it anyway.
   */
  async #startRunPod(release: DeployableRelease, req: RunRequest, mode: 'interactive' | 'detached'): Promise<string> {
    const app = release.app;
    const start = (this.#runStarts.get(app) ?? Promise.resolve()).catch(() => undefined).then(() => this.#createRunPod(release, req, mode));
    this.#runStarts.set(app, start);
    try {
      return await start;
    } finally {
      if (this.#runStarts.get(app) === start) this.#runStarts.delete(app);
    }
  }

  /** One creation, under #startRunPod's per-app turn. */
  async #createRunPod(release: DeployableRelease, req: RunRequest, mode: 'interactive' | 'detached'): Promise<string> {
    const ns = namespaceFor(release.app);
    await this.#applyGuards(release, { namespace: 'create' });
    const selector = selectorString({ [LABEL.instance]: release.app, [LABEL.process]: RUN_PROCESS });
    const pods = await this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector });
    const active = (p: V1Pod) => (p.status?.phase === 'Running' || p.status?.phase === 'Pending' || !p.status?.phase) && !p.metadata?.deletionTimestamp;
    await Promise.all(pods.filter((p) => !active(p)).map((p) => this.client.remove('v1', 'Pod', p.metadata!.name!, ns, { gracePeriodSeconds: 0 })));
    const running = pods.filter(active).length;
    if (release.quota && running >= release.quota.runs) throw new UserError(runLimitRefusal(release.app, running, release.quota.runs));
    const name = runPodName();
    // An interactive pod lives as long as this process waits on it: its owner says which process that is.
    const owner = mode === 'interactive' ? { owner: processOwner() } : {};
    await this.client.apply(runPodObject({ ...release, image: pullImage(release.image, this.#pullFrom) }, { name, command: req.command, deadlineSeconds: req.timeoutSeconds, mode, ...owner }));
    return name;
  }

  /**
   * Polls until a waiting pod's container runs (a one-off pod, the release pod); a pod stuck for
   * good or gone fails at once. `say` words the sentences for the release phase.
   */
  async #waitUntilRunning(ns: string, name: string, timeoutSeconds: number, signal: AbortSignal,
    say: { subject: string; pod: string; after: string } = { subject: 'The command', pod: 'one-off pod', after: '' }): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (let i = 0; ; i++) {
      if (signal.aborted) throw signal.reason;
      const p = await this.client.read<V1Pod>('v1', 'Pod', name, ns);
      if (!p) throw new UserError(`The ${say.pod} ${name} was removed before it started${say.after}.`);
      const s = podState(p);
      if (s.fatal) throw new UserError(`${say.subject} could not start: ${s.fatal}${say.after}.`);
      if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') throw new UserError(`The ${say.pod} ${name} ended before the command started (${s.state})${say.after}.`);
      if (p.status?.containerStatuses?.[0]?.state?.running) return;
      if (Date.now() >= deadline) throw new UserError(`${say.subject} did not start within ${timeoutSeconds} s (${s.state})${say.after}.`);
      // Most pods start within a second when the image is on the node: poll fast at first.
      await sleep(i < 20 ? 100 : 500, undefined, { signal }).catch(() => undefined);
    }
  }

  async applyVolume(app: string, volume: Volume): Promise<void> {
    // Before a first deploy there is no namespace yet: make it as a deploy would (the rest of the
    // guards come with that deploy; the quota counts the claim from then on).
    const ns = namespaceObject(app);
    if (!(await this.client.read('v1', 'Namespace', ns.metadata.name))) await this.client.apply(ns);
    await this.client.apply(claimObject(app, volume));
  }

  async removeVolume(app: string, name: string): Promise<boolean> {
    return this.client.remove('v1', 'PersistentVolumeClaim', name, namespaceFor(app));
  }

  async volumeStates(app: string): Promise<VolumeState[]> {
    const claims = await this.client.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespaceFor(app), { labelSelector: appSelector(app) });
    return claims.map((c) => {
      const capacity = c.status?.capacity?.storage;
      return { name: c.metadata?.name ?? '', phase: c.metadata?.deletionTimestamp ? 'Terminating' : c.status?.phase ?? 'Pending', ...(capacity ? { capacity } : {}) };
    });
  }

  async warmSets(): Promise<WarmSet[]> {
    return this.#warmSetsIn(undefined);
  }

  /** The warm sets in one app's namespace, or (undefined) in every namespace. */
  async #warmSetsIn(ns: string | undefined): Promise<WarmSet[]> {
    const sets = await this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: selectorString({ [LABEL.managedBy]: MANAGED_BY, [LABEL.warm]: 'true' }) });
    return sets.flatMap((d) => {
      const app = d.metadata?.labels?.[LABEL.instance];
      const release = Number(d.metadata?.labels?.[LABEL.release]);
      const until = d.metadata?.annotations?.[ANNOTATION.warmUntil];
      return app && until && Number.isInteger(release) ? [{ app, release, until }] : [];
    });
  }

  async dropWarm(app: string, opts: { now: number; all?: boolean }): Promise<number> {
    // Only sets that serve nothing: the Service may have moved to a set since it was marked.
    const [warm, { serving }] = await Promise.all([this.#warmSetsIn(namespaceFor(app)), this.#webSets(app)]);
    const sets = warm.filter((w) => w.app === app && (opts.all || Date.parse(w.until) <= opts.now));
    const drop = sets.map((w) => w.release).filter((v) => v !== serving);
    await this.#dropSets(app, drop);
    return drop.length;
  }

  async destroy(app: string): Promise<void> {
    const ns = namespaceFor(app);
    if (!(await this.client.remove('v1', 'Namespace', ns))) return;
    // Wait for it to be gone: until then, creating the app again would fail to deploy into it.
    const deadline = Date.now() + this.#opts.rolloutTimeoutMs;
    while (await this.client.read('v1', 'Namespace', ns)) {
      if (Date.now() >= deadline) throw new UserError(`Kubernetes is still deleting namespace ${ns} after ${Math.round(this.#opts.rolloutTimeoutMs / 1000)} s; run apps:destroy ${app} again later.`);
      await sleep(500);
    }
  }

  async status(app: string): Promise<ProcessStatus[]> {
    const ns = namespaceFor(app);
    const [deployments, pods] = await Promise.all([
      this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
      this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: appSelector(app) }),
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

  async overview(opts: { certificates: boolean }): Promise<Map<string, AppRuntime>> {
    // Every namespace at once, found by the labels all of Slipway's objects carry.
    const selector = selectorString({ [LABEL.managedBy]: MANAGED_BY });
    const [deployments, certs] = await Promise.all([
      this.client.list<V1Deployment>('apps/v1', 'Deployment', undefined, { labelSelector: selector }),
      opts.certificates
        ? this.client.list<CertificateLike & { metadata?: { labels?: Record<string, string> } }>(CERTIFICATE.apiVersion, CERTIFICATE.kind, undefined, { labelSelector: selector })
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
      this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
      this.client.podMetrics(ns, appSelector(app)),
    ]);
    return processUsage(deployments.filter((d) => !isWarm(d)), metrics);
  }

  async restart(app: string, opts: { process?: string; transcript: Transcript; signal: AbortSignal }): Promise<void> {
    const ns = namespaceFor(app);
    // A warm set takes no traffic: restarting it would only spend its instances.
    const deployments = (await this.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) })).filter((d) => !isWarm(d));
    const targets = opts.process === undefined ? deployments : deployments.filter((d) => rolloutState(d).name === processName(opts.process!));
    if (targets.length === 0) throw new UserError(opts.process === undefined ? `${app} runs no processes yet.` : `${app} has no ${opts.process} process.`);
    const at = new Date().toISOString();
    await Promise.all(targets.map((d) => this.client.apply(restartPatch(app, d.metadata!.name!, at), RESTART_FIELD_MANAGER)));
    opts.transcript.detail(`Restarting ${targets.map(processTypeOf).join(', ')}`);
    if (!this.#opts.waitForRollout) return;
    const version = Number(targets[0]!.spec?.template?.metadata?.labels?.[LABEL.release]);
    try {
      await this.#waitForRollout(app, version, opts.transcript, opts.signal);
    } catch (err) {
      if (!(err instanceof RolloutFailure)) throw err;
      await this.#showDiagnosis(app, version, opts.transcript);
      throw new UserError(`The restarted instances of ${app} did not become ready: ${err.message}; the instances from before keep serving.`);
    }
  }

  async logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void> {
    const ns = namespaceFor(app);
    const selector = selectorString({ [LABEL.instance]: app, ...(req.process ? { [LABEL.process]: processName(req.process) } : {}) });
    const fieldSelector = req.pod ? `metadata.name=${req.pod}` : undefined;
    const listPods = async () => (await this.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector, ...(fieldSelector ? { fieldSelector } : {}) })).map(podState).filter((p) => p.started);
    const pods = await listPods();
    if (pods.length === 0 && !req.follow) {
      throw new UserError(req.pod ? `${req.pod} of ${app} has not started or is gone; nothing to show.` : `${app} has no ${req.process ? `${req.process} ` : ''}instances that have started; nothing to show.`);
    }
    const texts = await Promise.all(pods.map(async (p) => ({ process: p.process, pod: p.name, text: await this.client.tailPodLog(ns, p.name, p.process, { tailLines: req.lines, maxBytes: MAX_LOG_TAIL_BYTES }) })));
    for (const line of mergeLogs(texts, req.lines)) await write(line);
    if (!req.follow) return;
    await this.#follow(ns, pods, texts, listPods, req.signal, write);
  }

  /**
   * Streams every started instance's log until `signal` aborts, picking up instances as they
   * start. A stream that ends (container restart, pod gone) is picked up again on the next poll
   * from the last line seen; lines at or before it are skipped so nothing prints twice.
   */
  async #follow(ns: string, initial: PodState[], seen: { pod: string; text: string }[], listPods: () => Promise<PodState[]>, signal: AbortSignal, write: (line: string) => Promise<void>): Promise<void> {
    const last = new Map<string, { time: string; key: string }>();
    for (const s of seen) {
      const lines = s.text.split('\n').filter(Boolean);
      const l = lines.length ? splitLogLine(lines[lines.length - 1]!) : undefined;
      last.set(s.pod, l?.key ? { time: l.time, key: l.key } : { time: '', key: '' });
    }
    const streaming = new Set<string>();
    const attach = (p: PodState) => {
      streaming.add(p.name);
      const since = last.get(p.name);
      void this.client
        .followPodLog(ns, p.name, p.process, { signal, ...(since?.time ? { sinceTime: since.time } : {}) }, (raw) => {
          const line = splitLogLine(raw);
          const prev = last.get(p.name);
          if (prev?.key && line.key && line.key <= prev.key) return;
          if (line.key) last.set(p.name, { time: line.time, key: line.key });
          return write(formatLogLine(p.process, p.name, line));
        })
        // A broken stream is not the end of `logs -t`: the next poll attaches to the pod again if
        // it is still there, from the last line shown.
        .catch((err: unknown) => log.debug('log stream broke; reattaching on the next poll', { pod: p.name, err }))
        .finally(() => streaming.delete(p.name));
    };
    for (const p of initial) attach(p);
    while (!signal.aborted) {
      try {
        await sleep(2000, undefined, { signal });
      } catch {
        break;
      }
      for (const p of await listPods()) if (!streaming.has(p.name)) attach(p);
    }
  }
}
