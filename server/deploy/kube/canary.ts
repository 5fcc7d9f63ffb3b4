// A canary's split on the cluster (deploy/canary.ts has its objects): started beside the serving
// set, reweighed at each step, aborted in one write (the IngressRoute goes), finished after a
// promotion; and the ingress's counters of each set, read from Traefik's metrics. Where Slipway
// can read Traefik's API (SLIPWAY_INGRESS_API), each change is confirmed there before it returns.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CanarySplit } from '../deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import { namespaceFor } from '../../kube/labels.ts';
import { UserError } from '../../errors.ts';
import { CANARY_ROUTE, CANARY_SERVICE, CANARY_SPLIT, canaryRouteObject, canaryServiceObject, splitObject } from '../canary.ts';
import { askIngressApi, traefikName } from '../ingress-sync.ts';
import { canarySample, type CanarySample } from '../ingress-metrics.ts';
import { KubePart, type KubeContext } from './context.ts';
import type { KubeTls } from './tls.ts';

/** How long a change may take to show in Traefik's API before the canary gives up on it. */
const CONFIRM_TIMEOUT_MS = 15_000;
const POLL_MS = 20;
/** Without Traefik's API: the time Traefik takes to apply a change after another one (its throttle, 200 ms, and its watch). */
const SETTLE_MS = 300;
/** Traefik's metrics of every service it has; far below this. */
const METRICS_MAX_BYTES = 16 << 20;

/** What Traefik's API says of the split (GET /api/http/services/NAME). */
interface SplitAnswer {
  weighted?: { services?: { name?: string; weight?: number }[] };
  usedBy?: string[];
}

/** A canary's split of an app's requests, on the cluster and its Traefik. */
export class KubeCanary extends KubePart implements CanarySplit {
  readonly #tls: KubeTls;

  constructor(k: KubeContext, parts: { tls: KubeTls }) {
    super(k);
    this.#tls = parts.tls;
  }

  async start(run: DeployableRelease, canary: number, weight: number): Promise<void> {
    const redirect = await this.#tls.redirectHosts(run);
    // The Services and the split before the route that names them: a route to a split Traefik
    // does not have yet would answer 404 meanwhile.
    await Promise.all([this.k.client.apply(canaryServiceObject(run.app, canary)), this.k.client.apply(splitObject(run.app, weight))]);
    await this.k.client.apply(canaryRouteObject(run, redirect, this.k.objectOptions()));
    await this.#confirm(run.app, (a) => (a?.usedBy?.length ?? 0) > 0 && canaryWeight(a) === weight, `the ingress did not route ${weight} % of the requests to the canary`);
  }

  async weigh(app: string, weight: number): Promise<void> {
    await this.k.client.apply(splitObject(app, weight));
    await this.#confirm(app, (a) => canaryWeight(a) === weight, `the ingress did not move ${weight} % of the requests to the canary`);
  }

  async abort(app: string): Promise<{ writtenAt: number; confirmedAt: number | undefined }> {
    await this.k.client.remove('traefik.io/v1alpha1', 'IngressRoute', CANARY_ROUTE, namespaceFor(app));
    const writtenAt = Date.now();
    const confirmed = await this.#confirm(app, (a) => a === undefined || (a.usedBy?.length ?? 0) === 0, 'the ingress did not drop the canary route').catch(() => false);
    return { writtenAt, confirmedAt: confirmed ? Date.now() : undefined };
  }

  async finish(app: string): Promise<void> {
    const ns = namespaceFor(app);
    // The route first: the split it names and the canary's Service go after it. The deploy ends
    // once the ingress dropped it: until then it may still send a request through the split,
    // whose own view of the web Service can lag behind the switch the deploy confirmed.
    await this.k.client.remove('traefik.io/v1alpha1', 'IngressRoute', CANARY_ROUTE, ns);
    await this.#confirm(app, (a) => a === undefined || (a.usedBy?.length ?? 0) === 0, 'the ingress did not drop the canary route').catch(() => false);
    await Promise.all([this.k.client.remove('traefik.io/v1alpha1', 'TraefikService', CANARY_SPLIT, ns), this.k.client.remove('v1', 'Service', CANARY_SERVICE, ns)]);
  }

  async sample(app: string): Promise<CanarySample> {
    const api = this.k.opts.ingressApi;
    if (!api) throw new UserError("A canary needs the ingress's metrics, and SLIPWAY_INGRESS_API (Traefik's API and metrics) is not set.");
    const answer = await askIngressApi(this.k.client, api, '/metrics', { timeoutMs: 5000, maxBytes: METRICS_MAX_BYTES });
    if ('error' in answer) throw new UserError(`Traefik's metrics at ${api}/metrics did not answer (${answer.error}).`);
    if (answer.status !== 200) throw new UserError(`Traefik's metrics at ${api}/metrics answered ${answer.status} (is its Prometheus metrics entry point the API's?).`);
    return canarySample(answer.body, namespaceFor(app), CANARY_SERVICE);
  }

  /**
   * Polls Traefik's API for the split until `done` says the change shows; without the API, waits
   * the time Traefik takes. Throws `why` past the deadline.
   */
  async #confirm(app: string, done: (a: SplitAnswer | undefined) => boolean, why: string): Promise<boolean> {
    const api = this.k.opts.ingressApi;
    if (!api) {
      await sleep(SETTLE_MS);
      return false;
    }
    const path = `/api/http/services/${encodeURIComponent(`${traefikName(`${namespaceFor(app)}-${CANARY_SPLIT}`)}@kubernetescrd`)}`;
    const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
    for (;;) {
      const answer = await askIngressApi(this.k.client, api, path, { timeoutMs: 2000, maxBytes: 1 << 20 });
      if ('error' in answer) throw new Error(`${why}: Traefik's API at ${api} did not answer (${answer.error})`);
      let json: SplitAnswer | undefined;
      if (answer.status === 200) {
        try {
          json = JSON.parse(answer.body) as SplitAnswer;
        } catch (err) {
          throw new Error(`${why}: Traefik's API answered something other than JSON`, { cause: err });
        }
      }
      if (done(json)) return true;
      if (Date.now() > deadline) throw new Error(`${why} within ${CONFIRM_TIMEOUT_MS / 1000} s`);
      await sleep(POLL_MS);
    }
  }
}

/** The canary's weight in Traefik's view of the split (undefined when it has none). */
function canaryWeight(a: SplitAnswer | undefined): number | undefined {
  return a?.weighted?.services?.find((s) => s.name?.includes(CANARY_SERVICE))?.weight;
}
