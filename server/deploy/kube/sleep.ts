// Web sets that sleep at zero (issue 40): to sleep, the web Service also points at the waker (an
// EndpointSlice of Slipway's own), then the serving set goes to 0 instances; to wake, the set goes
// back to its count, and once an instance is ready the waker's slice goes. The order keeps some
// endpoint behind the Service at every moment: the ingress never answers "no service".
import type { V1Deployment, V1Pod, V1Service } from '../../kube/types.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { LABEL, SLEEP_FIELD_MANAGER, namespaceFor, selectorString } from '../../kube/labels.ts';
import type { DeployableRelease } from '../../model.ts';
import type { SleepWake, WakerAddress, WebTarget } from '../deployer.ts';
import { WEB } from '../network.ts';
import { readyAndStaying } from '../rollout.ts';
import { PORT, replicasFor, webSetName } from '../workload.ts';
import { WAKER_SLICE, replicasPatch, wakerSliceObject } from '../sleep-objects.ts';
import { KubePart } from './context.ts';

/** How often a wake looks for a ready instance. */
const WAKE_POLL_MS = 50;

/** An app's web set put to sleep and woken, on the cluster. */
export class KubeSleep extends KubePart implements SleepWake {
  /** The release the web Service sends traffic to (its selector), if any. */
  async #serving(app: string): Promise<number | undefined> {
    const svc = await this.k.client.read<V1Service>('v1', 'Service', WEB, namespaceFor(app));
    const v = svc?.spec?.selector?.[LABEL.release];
    return v === undefined ? undefined : Number(v);
  }

  async sleep(release: DeployableRelease, waker: WakerAddress): Promise<boolean> {
    const { app } = release;
    const serving = await this.#serving(app);
    if (serving === undefined) return false;
    // A set already at 0 (ps:scale web=0 does not count: its formation asks for none) still gets the waker.
    const set = await this.k.client.read<V1Deployment>('apps/v1', 'Deployment', webSetName(serving), namespaceFor(app));
    if (!set || replicasFor(release, WEB) === 0) return false;
    // The waker first: while the instances stop, a request goes to one of them or to the waker.
    await this.k.client.apply(wakerSliceObject(app, waker));
    await this.k.client.apply(replicasPatch(app, serving, 0), SLEEP_FIELD_MANAGER);
    return true;
  }

  async wake(release: DeployableRelease, opts: { timeoutMs: number; signal: AbortSignal }): Promise<WebTarget[]> {
    const { app } = release;
    const ns = namespaceFor(app);
    const serving = await this.#serving(app) ?? release.version;
    await this.k.client.apply(replicasPatch(app, serving, Math.max(1, replicasFor(release, WEB))), SLEEP_FIELD_MANAGER);
    const selector = selectorString({ [LABEL.instance]: app, [LABEL.process]: WEB, [LABEL.release]: String(serving) });
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const pods = await this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector });
      const ready = pods.filter((p) => readyAndStaying(p) && p.status?.podIP).map((p) => ({ address: p.status!.podIP!, port: PORT }));
      if (ready.length) {
        // An instance serves: the ingress may go straight to it (the Service's own slice has it now).
        await this.k.client.remove('discovery.k8s.io/v1', 'EndpointSlice', WAKER_SLICE, ns);
        return ready;
      }
      if (opts.signal.aborted) throw new UserError(`The wake of ${app} was cancelled.`, { cause: opts.signal.reason });
      if (Date.now() >= deadline) throw new UserError(`${app} did not wake: no web instance was ready within ${Math.round(opts.timeoutMs / 1000)} s.`);
      await sleep(WAKE_POLL_MS);
    }
  }

  async pointsAtWaker(app: string): Promise<boolean> {
    return Boolean(await this.k.client.read('discovery.k8s.io/v1', 'EndpointSlice', WAKER_SLICE, namespaceFor(app)));
  }

  async serving(app: string): Promise<boolean> {
    const serving = await this.#serving(app);
    if (serving === undefined) return false;
    const set = await this.k.client.read<V1Deployment>('apps/v1', 'Deployment', webSetName(serving), namespaceFor(app));
    return (set?.spec?.replicas ?? 0) > 0 && (set?.status?.readyReplicas ?? 0) > 0;
  }
}
