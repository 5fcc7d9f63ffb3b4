// Cutover: each release's web instances are a set of their own (Deployment `web-vN`); the web
// Service's selector moves the traffic from one set to the next in one step once the new set is
// ready, and the set that served stays warm for an instant rollback until its window ends.
import type { V1Deployment, V1EndpointSlice, V1Pod, V1Service } from '../../kube/types.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import type { Transcript } from '../../output/transcript.ts';
import { ANNOTATION, LABEL, MANAGED_BY, WARM_FIELD_MANAGER, appSelector, namespaceFor, selectorString } from '../../kube/labels.ts';
import { webBudgetObject } from '../objects.ts';
import { webAutoscalerObject } from '../autoscale.ts';
import { warmPatch, webSetName, replicasFor } from '../workload.ts';
import type { WarmInstances, WarmSet } from '../deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import type { KubeClient } from '../../kube/client.ts';
import { serviceObject, WEB } from '../network.ts';
import { askIngressApi, readyPodAddresses, sameAddresses, sliceAddresses, traefikServers, traefikServiceName } from '../ingress-sync.ts';
import { isWarm, KubePart } from './context.ts';
import { WAKER_SLICE } from '../sleep-objects.ts';

/** Longest the switch of the traffic to a ready set of web instances may take to reach the ingress. */
const SWITCH_TIMEOUT_MS = 15_000;
/** How often the switch looks at the EndpointSlices and the ingress. */
const SWITCH_POLL_MS = 20;
/** How long a switch waits after the EndpointSlices when Traefik's API cannot confirm it. */
const INGRESS_SETTLE_MS = 300;
/** How long Traefik's API may not know the app's service yet (a first deploy's new Ingress) before Slipway stops asking. */
const INGRESS_API_WAIT_MS = 5000;

/** An app's sets of web instances, as deploy finds them before it changes anything. */
export interface WebSets {
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

/** Whether a set of web instances runs exactly `replicas` ready instances of its current spec. */
export function setReady(d: V1Deployment, replicas: number): boolean {
  const st = d.status ?? {};
  return replicas > 0 && d.spec?.replicas === replicas && (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
    && st.readyReplicas === replicas && st.updatedReplicas === replicas && (st.replicas ?? 0) === replicas;
}

/** An app's sets of web instances: the switch of the traffic from one to the next, and those kept warm after it. */
export class KubeWebSets extends KubePart implements WarmInstances {

  /**
   * The app's sets of web instances (Deployments `web-vN`) by release, the release the web Service
   * sends traffic to (its selector; for an app deployed before sets existed, its one `web`
   * Deployment's release), and whether that older `web` Deployment is there.
   */
  async webSets(app: string): Promise<WebSets> {
    const ns = namespaceFor(app);
    const [list, service, legacy] = await Promise.all([
      this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: `${appSelector(app)},${LABEL.process}=${WEB},${LABEL.release}` }),
      this.k.client.read<V1Service>('v1', 'Service', WEB, ns),
      this.k.client.read<V1Deployment>('apps/v1', 'Deployment', WEB, ns),
    ]);
    const sets = new Map(list.map((d) => [Number(d.metadata?.labels?.[LABEL.release]), d]));
    const selected = service?.spec?.selector?.[LABEL.release];
    const legacyRelease = legacy?.spec?.template?.metadata?.labels?.[LABEL.release];
    const serving = selected !== undefined ? Number(selected) : legacyRelease !== undefined ? Number(legacyRelease) : undefined;
    return { sets, serving, legacy: Boolean(legacy) };
  }

  /** Deletes these sets of web instances of the app at once (they take no traffic), with their pods. */
  async dropSets(app: string, versions: readonly number[]): Promise<void> {
    const ns = namespaceFor(app);
    await Promise.all(versions.map(async (v) => {
      // The pods are listed while their Deployment goes: a set that takes no traffic starts no new
      // pod meanwhile, and the garbage collector removes any the list missed.
      const [, pods] = await Promise.all([
        this.k.client.remove('apps/v1', 'Deployment', webSetName(v), ns),
        this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.process]: WEB, [LABEL.release]: String(v) }) }),
      ]);
      await Promise.all(pods.map((p) => this.k.client.remove('v1', 'Pod', p.metadata!.name!, ns, { gracePeriodSeconds: 0 })));
    }));
  }

  /**
   * Moves the traffic to the release's set of web instances in one step (the Service's selector),
   * then waits until the ingress sends every new request there: the Service's EndpointSlices list
   * exactly the set's ready pods, and, where Traefik's API is known (SLIPWAY_INGRESS_API), Traefik's
   * service for the app lists exactly their addresses.
   */
  async switchTo(run: DeployableRelease, before: WebSets, t: Transcript, signal: AbortSignal): Promise<void> {
    const ns = namespaceFor(run.app);
    const switching = before.serving !== undefined && before.serving !== run.version;
    if (switching) await this.#pointWebAt(run, run.version);
    // A deploy wakes a sleeping app: its instances are ready, the waker's slice goes (kube/sleep.ts).
    await this.k.client.remove('discovery.k8s.io/v1', 'EndpointSlice', WAKER_SLICE, ns);
    // Without the rollout wait (tests of the objects alone) no pod gets ready to be routed to; a
    // set of no instances (ps:stop, web=0) has nothing to route to.
    if (!this.k.opts.waitForRollout || replicasFor(run, WEB) === 0) return;
    const selector = selectorString({ [LABEL.instance]: run.app, [LABEL.process]: WEB, [LABEL.release]: String(run.version) });
    const deadline = Date.now() + SWITCH_TIMEOUT_MS;
    let want = new Set<string>();
    let stage = 'the Service';
    try {
      for (;;) {
        const [pods, slices] = await Promise.all([
          this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector }),
          this.k.client.list<V1EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice', ns, { labelSelector: `kubernetes.io/service-name=${WEB}` }),
        ]);
        want = readyPodAddresses(pods);
        if (sameAddresses(want, sliceAddresses(slices))) break;
        await this.#pause(deadline, signal, `${stage} did not reach the new instances`);
      }
      let confirmed = false;
      if (this.k.opts.ingressApi) {
        stage = 'the ingress';
        const api = this.k.opts.ingressApi;
        const path = `/api/http/services/${encodeURIComponent(traefikServiceName(ns, WEB, 'http'))}`;
        const asked = Date.now();
        for (;;) {
          const answer = await readIngressApi(this.k.client, api, path);
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
   * Points the web Service at release `serving`'s set, and web's PodDisruptionBudget and autoscaler
   * (when it has them) with it: the set that serves is the one a drain must not empty, and the one
   * the autoscaler counts (a warm set keeps the count it had).
   */
  async #pointWebAt(run: DeployableRelease, serving: number): Promise<void> {
    const budget = webBudgetObject(run, serving);
    const autoscaler = webAutoscalerObject(run, serving);
    await Promise.all([this.k.client.apply(serviceObject(run, serving)), ...[budget, autoscaler].flatMap((o) => (o ? [this.k.client.apply(o)] : []))]);
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
  async retire(run: DeployableRelease, before: WebSets, t: Transcript): Promise<void> {
    const ns = namespaceFor(run.app);
    const old = before.serving !== run.version && before.sets.has(before.serving ?? -1) ? before.serving : undefined;
    const warm = old !== undefined && (run.warmSeconds ?? 0) > 0;
    if (warm) {
      const until = new Date(Date.now() + run.warmSeconds! * 1000).toISOString();
      await this.k.client.apply(warmPatch(run.app, old, until), WARM_FIELD_MANAGER);
      t.detail(`The instances of v${old} stay warm until ${until.slice(11, 19)} UTC (a rollback to them only moves the traffic)`);
    }
    // Taken back into service: no longer warm.
    if (before.sets.get(run.version)?.metadata?.labels?.[LABEL.warm]) await this.k.client.apply(warmPatch(run.app, run.version, null), WARM_FIELD_MANAGER);
    // Warm sets stay until their window ends (a new set made them go already); leftovers go.
    const gone = [...before.sets].filter(([v, d]) => v !== run.version && !(warm && v === old) && !(isWarm(d) && v !== before.serving)).map(([v]) => v);
    await Promise.all([
      ...gone.map((v) => this.k.client.remove('apps/v1', 'Deployment', webSetName(v), ns)),
      ...(before.legacy ? [this.k.client.remove('apps/v1', 'Deployment', WEB, ns)] : []),
    ]);
  }

  async warmSets(): Promise<WarmSet[]> {
    return this.#warmSetsIn(undefined);
  }

  /** The warm sets in one app's namespace, or (undefined) in every namespace. */
  async #warmSetsIn(ns: string | undefined): Promise<WarmSet[]> {
    const sets = await this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: selectorString({ [LABEL.managedBy]: MANAGED_BY, [LABEL.warm]: 'true' }) });
    return sets.flatMap((d) => {
      const app = d.metadata?.labels?.[LABEL.instance];
      const release = Number(d.metadata?.labels?.[LABEL.release]);
      const until = d.metadata?.annotations?.[ANNOTATION.warmUntil];
      return app && until && Number.isInteger(release) ? [{ app, release, until }] : [];
    });
  }

  async dropWarm(app: string, opts: { now: number; all?: boolean }): Promise<number> {
    // Only sets that serve nothing: the Service may have moved to a set since it was marked.
    const [warm, { serving }] = await Promise.all([this.#warmSetsIn(namespaceFor(app)), this.webSets(app)]);
    const sets = warm.filter((w) => w.app === app && (opts.all || Date.parse(w.until) <= opts.now));
    const drop = sets.map((w) => w.release).filter((v) => v !== serving);
    await this.dropSets(app, drop);
    return drop.length;
  }
}
