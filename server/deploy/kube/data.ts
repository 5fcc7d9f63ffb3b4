// An app's databases on the cluster: applied under the app's guards (made first when the app has
// never been deployed: no database pod runs in a namespace without its NetworkPolicies and quota),
// waited for until the server accepts connections, read back for addons, and removed with their
// volumes.
import type { V1Pod, V1PersistentVolumeClaim, V1StatefulSet } from '../../kube/types.ts';
import { ANNOTATION, LABEL, SECRET_FIELD_MANAGER, namespaceFor } from '../../kube/labels.ts';
import { consoleCommand, dataClaimName, dataCommand, dataObjectName, dataObjects, dataPodName, dataSecretObject, dataSelector, drillPodName, drillPodObject, exitReason, isScratchLabel, type DataCommand, type ScratchPurpose, type StreamCommand } from '../data.ts';
import { performance } from 'node:perf_hooks';
import { lineIo, type ExecOutput } from '../../kube/exec-io.ts';
import { podState } from '../rollout.ts';
import { UserError } from '../../errors.ts';
import type { DataGuards, DataServices, DataState } from '../deployer.ts';
import type { DataService } from '../../model.ts';
import type { ProcessIo } from '../../kube/process-io.ts';
import type { Transcript } from '../../output/transcript.ts';
import { KubePart } from './context.ts';

const POLL_MS = 250;
/** How long removing a database waits for its claims to be gone (its pod's grace period, then the volumes' release). */
const REMOVE_WAIT_MS = 90_000;

/** Databases as StatefulSets of one instance in the app's namespace. */
export class KubeData extends KubePart implements DataServices {

  async apply(d: DataService, guards: DataGuards, opts: { transcript: Transcript; signal: AbortSignal; timeoutMs: number }): Promise<void> {
    // As a first deploy would: the namespace when it is not there, then its guards, before any pod.
    await this.k.applyAppGuards(guards);
    const objects = dataObjects({ ...d, image: this.k.pullImage(d.image) }, d.image);
    const of = (kind: string) => objects.filter((o) => o.kind === kind);
    await Promise.all([...of('Secret'), ...of('ConfigMap')].map((o) => this.k.client.apply(o)));
    await Promise.all(of('PersistentVolumeClaim').map((o) => this.k.client.apply(o)));
    const [applied] = await Promise.all([...of('StatefulSet'), ...of('Service')].map((o) => this.k.client.apply(o)));
    opts.transcript.detail(`Starting ${d.kind} ${d.name} (waiting until it accepts connections)`);
    await this.#waitReady(d, applied!.metadata.generation ?? 1, opts.signal, Date.now() + opts.timeoutMs);
  }

  /**
   * Polls until the set has seen generation `generation` and its pod of that revision is ready (a
   * changed set replaces its pod: the old one, still ready for a moment, does not count). A pod of
   * an older revision that is not ready is deleted: the set's controller waits for it to become
   * ready before it replaces it (kubernetes#67250), so a database put back on the image it ran,
   * after one that never started, would otherwise wait on that pod for ever.
   */
  async #waitReady(d: DataService, generation: number, signal: AbortSignal, deadline: number): Promise<void> {
    const ns = namespaceFor(d.app);
    await this.#untilReady(`${d.kind} ${d.name}`, signal, deadline, async () => {
      const [set, pods] = await Promise.all([
        this.k.client.read<V1StatefulSet>('apps/v1', 'StatefulSet', dataObjectName(d.name), ns),
        this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: `${LABEL.data}=${d.name}` }),
      ]);
      const revision = (set?.status?.observedGeneration ?? 0) >= generation ? set?.status?.updateRevision : undefined;
      if (revision === undefined) return undefined;
      const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
      const current = (p: V1Pod) => p.metadata?.labels?.['controller-revision-hash'] === revision;
      await Promise.all(live.filter((p) => !current(p) && !podState(p).ready).map((p) => this.k.client.remove('v1', 'Pod', p.metadata!.name!, ns)));
      return live.find(current);
    });
  }

  /** Polls `pod` until it is ready; throws one sentence about `what` when it is stuck for good or ended, was cancelled, or at the deadline. */
  async #untilReady(what: string, signal: AbortSignal, deadline: number, pod: () => Promise<V1Pod | undefined>): Promise<void> {
    let last = 'no pod yet';
    for (;;) {
      if (signal.aborted) throw new UserError(`Starting ${what} was cancelled.`);
      const p = await pod();
      const state = p ? podState(p) : undefined;
      if (state?.ready) return;
      const ended = p?.status?.phase === 'Failed' || p?.status?.phase === 'Succeeded';
      if (state?.fatal || ended) {
        const cs = p?.status?.containerStatuses?.[0];
        const why = exitReason(cs?.lastState?.terminated?.message ?? cs?.state?.terminated?.message);
        throw new UserError(`${what} did not start: ${state?.fatal ?? state?.state ?? 'it ended'}${why ? `: ${why.replace(/\.$/, '')}` : ''}.`);
      }
      if (state) last = state.state;
      if (Date.now() >= deadline) throw new UserError(`${what} was not ready in time (${last}).`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async remove(app: string, name: string): Promise<void> {
    const ns = namespaceFor(app);
    const obj = dataObjectName(name);
    // The pod first (with its set), so its claims are released before they are deleted.
    await Promise.all([
      this.k.client.remove('apps/v1', 'StatefulSet', obj, ns),
      this.k.client.remove('v1', 'Service', obj, ns),
    ]);
    await Promise.all([
      this.k.client.remove('v1', 'Secret', obj, ns),
      this.k.client.remove('v1', 'PersistentVolumeClaim', dataClaimName(name, 'data'), ns),
      this.k.client.remove('v1', 'PersistentVolumeClaim', dataClaimName(name, 'backup'), ns),
    ]);
    // Until the claims are gone (they wait for the pod to go): a database made again under the
    // same name at once (pg:upgrade or pg:restore tried again) would otherwise apply its claims onto
    // the terminating ones, which then vanish and leave its pod unschedulable.
    const signal = AbortSignal.timeout(REMOVE_WAIT_MS);
    await Promise.all([
      this.#gone('v1', 'PersistentVolumeClaim', ns, dataClaimName(name, 'data'), signal),
      this.#gone('v1', 'PersistentVolumeClaim', ns, dataClaimName(name, 'backup'), signal),
    ]);
  }

  async states(app: string): Promise<DataState[]> {
    const ns = namespaceFor(app);
    const selector = dataSelector(app);
    const [sets, pods, claims] = await Promise.all([
      this.k.client.list<V1StatefulSet>('apps/v1', 'StatefulSet', ns, { labelSelector: selector }),
      this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector }),
      this.k.client.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', ns, { labelSelector: selector }),
    ]);
    return sets.map((s) => {
      const name = s.metadata?.labels?.[LABEL.data] ?? '';
      const pod = pods.find((p) => p.metadata?.labels?.[LABEL.data] === name);
      const st = pod ? podState(pod) : undefined;
      const claim = (which: 'data' | 'backup') => claims.find((c) => c.metadata?.name === dataClaimName(name, which))?.status?.phase ?? 'absent';
      return {
        name,
        ready: st?.ready ?? false,
        state: st?.state ?? 'no pod',
        restarts: st?.restarts ?? 0,
        startedAt: st?.startedAt ?? null,
        volumes: { data: claim('data'), backup: claim('backup') },
        image: s.metadata?.annotations?.[ANNOTATION.image] ?? s.spec?.template?.spec?.containers?.[0]?.image ?? null,
      };
    });
  }

  async console(d: Pick<DataService, 'app' | 'name' | 'kind'>, io: ProcessIo, signal: AbortSignal): Promise<number> {
    return this.k.client.exec(namespaceFor(d.app), dataPodName(d.name), d.kind, consoleCommand(d.kind), io, signal);
  }

  async drill(d: DataService, checks: readonly DataCommand[], opts: { signal: AbortSignal; timeoutMs: number }): Promise<{ readyMs: number; results: ExecOutput[] }> {
    return this.#scratch(d, 'drill', opts, async (ns, name) => {
      const results = [];
      for (const c of checks) results.push(await this.#exec(ns, name, d.kind, c, opts.signal));
      return results;
    }).then(({ readyMs, result }) => ({ readyMs, results: result }));
  }

  async fromBackup(d: DataService, command: StreamCommand, io: ProcessIo, opts: { signal: AbortSignal; timeoutMs: number }): Promise<{ readyMs: number; code: number }> {
    return this.#scratch(d, 'fork', opts, (ns, name) => this.k.client.exec(ns, name, d.kind, dataCommand(d.kind, command), io, opts.signal))
      .then(({ readyMs, result }) => ({ readyMs, code: result }));
  }

  async sweepScratch(app: string): Promise<string[]> {
    const ns = namespaceFor(app);
    const pods = await this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: LABEL.data });
    const scratch = pods.filter((p) => isScratchLabel(p.metadata?.labels?.[LABEL.data])).map((p) => p.metadata!.name!);
    for (const name of scratch) await this.k.client.remove('v1', 'Pod', name, ns, { gracePeriodSeconds: 0 });
    return scratch;
  }

  /** Starts a scratch copy (`purpose`'s pod), waits until it is ready, runs `use` in it, and deletes it whatever happened. */
  async #scratch<T>(d: DataService, purpose: ScratchPurpose, opts: { signal: AbortSignal; timeoutMs: number }, use: (ns: string, pod: string) => Promise<T>): Promise<{ readyMs: number; result: T }> {
    const ns = namespaceFor(d.app);
    const name = drillPodName(d.name, purpose);
    // One left by a server that stopped mid-way goes first.
    await this.k.client.remove('v1', 'Pod', name, ns, { gracePeriodSeconds: 0 });
    await this.#gone('v1', 'Pod', ns, name, AbortSignal.any([opts.signal, AbortSignal.timeout(120 * POLL_MS)]));
    const started = performance.now();
    await this.k.client.apply(drillPodObject({ ...d, image: this.k.pullImage(d.image) }, purpose));
    try {
      await this.#untilReady(`the scratch copy of ${d.name}`, opts.signal, Date.now() + opts.timeoutMs, () => this.k.client.read<V1Pod>('v1', 'Pod', name, ns));
      const readyMs = Math.round(performance.now() - started);
      return { readyMs, result: await use(ns, name) };
    } finally {
      await this.k.client.remove('v1', 'Pod', name, ns, { gracePeriodSeconds: 0 });
    }
  }

  /** Waits until the object is gone, or `signal` ends the wait. */
  async #gone(apiVersion: string, kind: string, ns: string, name: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.k.client.read(apiVersion, kind, name, ns))) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async stream(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: StreamCommand, io: ProcessIo, signal: AbortSignal): Promise<number> {
    return this.k.client.exec(namespaceFor(d.app), dataPodName(d.name), d.kind, dataCommand(d.kind, command), io, signal);
  }

  async secret(d: DataService): Promise<void> {
    await this.k.client.apply(dataSecretObject(d));
    // A change to the pod has the kubelet bring its mounted Secret up to date at once, rather
    // than at its next periodic sync (a minute or more); no restart.
    const ns = namespaceFor(d.app);
    if (await this.k.client.read('v1', 'Pod', dataPodName(d.name), ns)) {
      await this.k.client.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: dataPodName(d.name), namespace: ns, annotations: { [ANNOTATION.secretAt]: new Date().toISOString() } } }, SECRET_FIELD_MANAGER);
    }
  }

  async command(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: DataCommand, opts: { signal: AbortSignal; onLine?: (line: string) => void }): Promise<ExecOutput> {
    return this.#exec(namespaceFor(d.app), dataPodName(d.name), d.kind, command, opts.signal, opts.onLine);
  }

  /** Runs one of the image's commands in a pod: its exit code, its standard output (bounded) and the end of its standard error; each line to `onLine` as it comes. */
  async #exec(ns: string, pod: string, kind: DataService['kind'], command: DataCommand, signal: AbortSignal, onLine?: (line: string) => void): Promise<ExecOutput> {
    const out: string[] = [];
    const err: string[] = [];
    const { io, end } = lineIo((line, stream) => {
      // Standard output is data (JSON, a time), bounded; standard error is the tool's log, shown as it comes.
      if (stream === 'stdout') { if (out.length < 100_000) out.push(line); } else { err.push(line); if (err.length > 50) err.shift(); }
      onLine?.(line);
    });
    let code: number;
    try {
      code = await this.k.client.exec(ns, pod, kind, dataCommand(kind, command), io, signal);
    } finally {
      end();
    }
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }
}
