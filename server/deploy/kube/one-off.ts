// Pods that run one command with a release's image and config: the release phase (streamed to
// the pusher), `run` (attached to the client) and `run:detached`, each under the app's guards.
import type { V1Pod } from '../../kube/types.ts';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { ANNOTATION, LABEL, MANAGED_BY, namespaceFor, selectorString } from '../../kube/labels.ts';
import { runLimitRefusal } from '../quota.ts';
import { podState } from '../rollout.ts';
import { RELEASE_TYPE, RUN_PROCESS, runView, releaseCommand, releasePodObject, runCommand, runPodName, runPodObject } from '../workload.ts';
import type { OneOffPods, ReleasePhaseOptions, RunRequest } from '../deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import type { ProcessIo } from '../../kube/process-io.ts';
import { processOwner } from '../../process.ts';
import { KubePart } from './context.ts';

/** Longest line of a release command's output shown whole; one printed without a newline is cut here. */
const MAX_RELEASE_LINE = 64 * 1024;

/** One-off pods: the release command, `run` and `run:detached`, and the sweep of those left behind. */
export class KubeOneOffs extends KubePart implements OneOffPods {

  async releasePhase(given: DeployableRelease, opts: ReleasePhaseOptions): Promise<void> {
    // A rollback's release command runs with its target's objects (config Secret), as its instances do.
    const release = runView(given);
    const proc = release.processes.find((p) => p.type === RELEASE_TYPE);
    if (!proc) return;
    const t = opts.transcript;
    const ns = namespaceFor(release.app);
    const deadlineS = Math.max(1, Math.round(this.k.opts.releaseTimeoutMs / 1000));
    const image = this.k.pullImage(release.image);
    // The new release's config Secret is what the release command reads; the rollout applies it
    // again unchanged, and a release that never rolls out has it pruned by the next one. The
    // namespace's policies, quota and defaults come first, so the release pod is created under them.
    const secret = (await this.k.applyGuards(release, { namespace: 'create' })).rest.find((o) => o.kind === 'Secret');
    await this.k.client.apply(secret!);
    const pod = releasePodObject({ ...release, image }, proc, deadlineS, processOwner());
    const name = pod.metadata.name;
    // Its own process only waits, so nothing is lost by removing the pod at once (a leftover of
    // an interrupted push here, and this one when its command is done).
    const now = { gracePeriodSeconds: 0 };
    await this.k.client.remove('v1', 'Pod', name, ns, now);
    await this.k.client.apply(pod);
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
      const stop = AbortSignal.any([opts.signal, AbortSignal.timeout(this.k.opts.releaseTimeoutMs)]);
      let code: number | undefined;
      try {
        code = await this.k.client.exec(ns, name, pod.spec!.containers[0]!.name, releaseCommand(proc), { stdin: Readable.from([]), stdout: out, stderr: out }, stop);
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
      await this.k.client.remove('v1', 'Pod', name, ns, now).catch((err: unknown) => log.warn('could not remove a release pod', { app: release.app, pod: name, err }));
    }
  }

  /** Whether the release pod is gone or has ended (its deadline, most often) within a few seconds. */
  async #releasePodStopped(ns: string, name: string): Promise<boolean> {
    for (const end = Date.now() + 5000; Date.now() < end;) {
      const p = await this.k.client.read<V1Pod>('v1', 'Pod', name, ns).catch(() => undefined);
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
      return await this.k.client.exec(ns, pod, RUN_PROCESS, runCommand(req.command), req.io, req.signal);
    } finally {
      // At once (no grace period): its own process only waits, and a pod that is terminating still
      // counts against the app's one-off quota, which would refuse the next `run` for a while.
      await this.k.client.remove('v1', 'Pod', pod, ns, { gracePeriodSeconds: 0 }).catch((err: unknown) => log.warn('could not remove a run pod', { app: release.app, pod, err }));
    }
  }

  async runDetached(release: DeployableRelease, req: RunRequest): Promise<string> {
    return this.#startRunPod(runView(release), req, 'detached');
  }

  async sweepPods(alive: (owner: string) => boolean): Promise<number> {
    // Every namespace: the pods of all apps, found by the label all of Slipway's objects carry.
    const pods = await this.k.client.list<V1Pod>('v1', 'Pod', undefined, { labelSelector: selectorString({ [LABEL.managedBy]: MANAGED_BY }) });
    const orphans = pods.filter((p) => {
      const owner = p.metadata?.annotations?.[ANNOTATION.owner];
      return owner !== undefined && !alive(owner);
    });
    await Promise.all(orphans.map((p) => this.k.client.remove('v1', 'Pod', p.metadata!.name!, p.metadata!.namespace!, { gracePeriodSeconds: 0 })));
    return orphans.length;
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
    await this.k.applyGuards(release, { namespace: 'create' });
    const selector = selectorString({ [LABEL.instance]: release.app, [LABEL.process]: RUN_PROCESS });
    const pods = await this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selector });
    const active = (p: V1Pod) => (p.status?.phase === 'Running' || p.status?.phase === 'Pending' || !p.status?.phase) && !p.metadata?.deletionTimestamp;
    await Promise.all(pods.filter((p) => !active(p)).map((p) => this.k.client.remove('v1', 'Pod', p.metadata!.name!, ns, { gracePeriodSeconds: 0 })));
    const running = pods.filter(active).length;
    if (release.quota && running >= release.quota.runs) throw new UserError(runLimitRefusal(release.app, running, release.quota.runs));
    const name = runPodName();
    // An interactive pod lives as long as this process waits on it: its owner says which process that is.
    const owner = mode === 'interactive' ? { owner: processOwner() } : {};
    await this.k.client.apply(runPodObject({ ...release, image: this.k.pullImage(release.image) }, { name, command: req.command, deadlineSeconds: req.timeoutSeconds, mode, ...owner }));
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
      const p = await this.k.client.read<V1Pod>('v1', 'Pod', name, ns);
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
}
