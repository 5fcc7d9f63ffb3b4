// A release's rollout: its objects applied (guards first, Ingresses last), what it no longer has
// pruned, the wait until every process type is ready (with the diagnosis when it is not), the
// switch of the traffic, and the previous release put back on any failure.
import type { CoreV1Event, V1Deployment, V1Pod, V1Secret, KubeObject } from '../../kube/types.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import type { Transcript } from '../../output/transcript.ts';
import { ANNOTATION, LABEL, RESTART_FIELD_MANAGER, appSelector, namespaceFor, processName, selectorString } from '../../kube/labels.ts';
import { splitLogLine } from '../logs.ts';
import { crashLines, podState, processTypeOf, readinessFailure, readyPodsOf, recentWarnings, rolloutState, whyNotReady } from '../rollout.ts';
import { RELEASE_TYPE, cutover, runView, replicasFor, restartPatch } from '../workload.ts';
import type { Rollouts, Workload } from '../deployer.ts';
import type { DeployableRelease, HealthChecks, QuotaPlan } from '../../model.ts';
import { quotaObjects } from '../quota.ts';
import { ContentChecks, MAX_CONTENT_BODY_BYTES } from '../content-check.ts';
import { WEB } from '../network.ts';
import { isWarm, KubePart, type KubeContext } from './context.ts';
import { setReady, type KubeWebSets } from './web-sets.ts';
import { applyWorkload } from './autoscale.ts';
import { startReplicas } from '../autoscale.ts';
import type { KubeCron } from './cron.ts';
import type { KubeTls } from './tls.ts';
import { inSpan } from '../../observe/traces.ts';

/** The kinds a release creates per process type; whatever of these a release no longer has is pruned. */
const PRUNED: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  // egress-allow goes when its last exception does.
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  // A type's budget goes when it runs fewer than two instances, or goes itself.
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  // A type's autoscaler goes with ps:autoscale:off, ps:stop, or the type.
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
];

/** Why a rollout did not finish, before the previous release is restored. */
class RolloutFailure extends Error {
  /**
   * Instances of the failed release may have become ready and replaced old ones (a content check
   * can fail after the kubelet found its instance ready): restoring then waits until the old
   * release serves again.
   */
  replacedOld = false;
}

/** Whether a Deployment is no set of web instances, or the set of release `version`. */
function ownSet(d: V1Deployment, version: number): boolean {
  const release = d.metadata?.labels?.[LABEL.release];
  return release === undefined || release === String(version);
}

/** Rolls an app's releases out on the cluster, and puts back, restarts or removes what it runs. */
export class KubeRollouts extends KubePart implements Rollouts {
  readonly #sets: KubeWebSets;
  readonly #cron: KubeCron;
  readonly #tls: KubeTls;

  constructor(k: KubeContext, parts: { sets: KubeWebSets; cron: KubeCron; tls: KubeTls }) {
    super(k);
    this.#sets = parts.sets;
    this.#cron = parts.cron;
    this.#tls = parts.tls;
  }

  async deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal; beside?: (serving: number) => Promise<void> }): Promise<void> {
    const t = opts.transcript;
    // The objects of a release that runs another one's instances (a rollback) are that release's.
    const run = runView(release);
    const previous = opts.previous && runView(opts.previous);
    const before = await this.#sets.webSets(release.app);
    const atomic = cutover(run);
    // Serving stays where it is until the new set is ready; a first deploy serves its own at once.
    const serving = atomic ? before.serving ?? run.version : undefined;
    const created = atomic && !before.sets.has(run.version);
    // A new set starts: older warm sets make room for it (in the app's quota); they take no traffic.
    // They go while the namespace and its guards are applied, and are gone before the new set's
    // Deployment is applied (#applyRelease waits for them first).
    const makingRoom = created ? this.#sets.dropSets(release.app, [...before.sets.keys()].filter((v) => v !== before.serving)) : undefined;
    // Anything found in the namespace shows it is there: it need not be applied before its guards.
    const namespacePresent = before.serving !== undefined || before.sets.size > 0 || before.legacy;
    // A warm set with every instance asked for ready (a rollback within the window) takes the
    // traffic first: the rest of the release follows, and none of it changes what that set serves.
    const warm = before.sets.get(run.version);
    // An autoscaled warm set is ready at the count it was left with, within the rule's bounds.
    const warmWant = run.autoscale?.web ? startReplicas(run.autoscale.web, warm?.spec?.replicas) : replicasFor(run, WEB);
    const early = !opts.beside && atomic && this.k.opts.waitForRollout && before.serving !== undefined && before.serving !== run.version && warm !== undefined && setReady(warm, warmWant);
    if (early) await inSpan('switch', { 'slipway.app': release.app, 'slipway.release': release.version }, () => this.#sets.switchTo(run, before, t, opts.signal));
    try {
      await this.#applyRelease(run, previous, early ? run.version : serving, { beforePods: makingRoom, namespacePresent });
    } catch (err) {
      // Some objects may be applied already: put the previous release back so a rejected push
      // leaves the cluster as it was. The apply error is the one the user needs to see.
      if (created) await this.#sets.dropSets(release.app, [run.version]).catch((e: unknown) => log.error('removing a new set of web instances after a failed apply failed', { app: release.app, err: e }));
      if (previous) {
        await this.#applyRelease(previous, undefined, before.serving).catch((restoreErr: unknown) =>
          log.error('restoring the previous release after a failed apply failed too', { app: release.app, version: previous.version, err: restoreErr }));
      }
      throw err;
    }
    t.detail(`Applied v${release.version}${run.version !== release.version ? ` (the instances of v${run.version})` : ''}: ${release.processes.filter((p) => p.type !== RELEASE_TYPE).map((p) => `${p.type}=${replicasFor(release, p.type)}`).join(', ')}`);
    if (this.k.opts.waitForRollout) {
      try {
        await this.#waitForRollout(release.app, run.version, t, opts.signal, release.checks);
      } catch (err) {
        if (!(err instanceof RolloutFailure)) throw err;
        // Once its diagnosis is read, the failed set goes (it never took traffic).
        const dropFailed = created ? () => this.#sets.dropSets(release.app, [run.version]) : async () => {};
        throw await this.#giveUp(release, opts.previous, err, t, opts.signal, before.serving, dropFailed);
      }
    }
    // Scheduled tasks only once the release runs: a release that fails its rollout never starts
    // a task with its image or config, and its predecessor's CronJobs stay as they were. Then the
    // switch; if either fails, the traffic and the tasks stay (or go back) where they were.
    try {
      const tasks = await this.#cron.apply(run);
      if (tasks) t.detail(`Scheduled ${tasks}`);
      // A canary runs beside the serving set before the switch; if it is aborted, the rest goes back below.
      const serving = before.serving;
      if (atomic && opts.beside && serving !== undefined && serving !== run.version && replicasFor(run, WEB) > 0) await opts.beside(serving);
      if (atomic && !early) await inSpan('switch', { 'slipway.app': release.app, 'slipway.release': release.version }, () => this.#sets.switchTo(run, before, t, opts.signal));
    } catch (err) {
      // The traffic is where it was (a failed switch moved it back): so is the rest.
      if (created) await this.#sets.dropSets(release.app, [run.version]).catch((e: unknown) => log.error('removing a new set of web instances failed', { app: release.app, err: e }));
      if (previous) {
        await this.#applyRelease(previous, undefined, before.serving).then(() => this.#cron.apply(previous)).catch((restoreErr: unknown) =>
          log.error('restoring the previous release after a failed switch or scheduled tasks failed too', { app: release.app, version: previous.version, err: restoreErr }));
      }
      throw err;
    }
    if (atomic) await this.#sets.retire(run, before, t);
  }

  async applyQuota(app: string, plan: QuotaPlan): Promise<boolean> {
    if (!(await this.k.client.read('v1', 'Namespace', namespaceFor(app)))) return false;
    await Promise.all(quotaObjects(app, plan).map((o) => this.k.client.apply(o)));
    return true;
  }

  /**
   * Applies a release's objects, then deletes what it no longer has (process types, old Secrets).
   * The web Service keeps sending traffic to release `serving`'s set of instances; the sets
   * themselves (and an app's older `web` Deployment) are left to deploy's switch and #retire.
   * `beforePods` (older sets going) is waited for beside the guards, before anything that starts
   * pods; with `namespacePresent` the namespace is applied beside its guards (applyGuards).
   */
  async #applyRelease(release: DeployableRelease, previous: DeployableRelease | undefined, serving: number | undefined = release.version, opts: { beforePods?: Promise<void> | undefined; namespacePresent?: boolean } = {}): Promise<void> {
    const namespace = opts.namespacePresent ? 'present' : 'apply';
    const [{ guards, rest }] = await Promise.all([
      this.#tls.redirectHosts(release).then((redirect) => this.k.applyGuards(release, { redirect, serving, namespace })),
      opts.beforePods,
    ]);
    // Ingresses last and in order (the redirecting one first: a host moving between them is never
    // in neither), after the TLS Secrets and Middleware they name.
    await Promise.all(rest.filter((o) => o.kind !== 'Ingress').map((o) => applyWorkload(this.k.client, o, release, serving)));
    for (const o of rest.filter((o) => o.kind === 'Ingress')) await this.k.client.apply(o);
    await this.#prune(release.app, [...guards, ...rest], [release.version, previous?.version, serving], cutover(release));
    // Also without a TLS plan: removing the last uploaded certificate (with ACME off) leaves a
    // release with none, and its Secret holds a private key that must not stay behind.
    await this.#tls.prune(release, rest);
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
      ...PRUNED.filter((k) => this.k.opts.network || k.kind !== 'NetworkPolicy').map(async ({ apiVersion, kind }) => {
        const wanted = new Set(keep.filter((o) => o.kind === kind).map((o) => o.metadata.name));
        const existing = await this.k.client.list<KubeObject>(apiVersion, kind, ns, { labelSelector: selector });
        for (const o of existing) if (kind === 'Deployment' && o.metadata.labels?.[LABEL.release] !== undefined) existingSets.push(Number(o.metadata.labels[LABEL.release]));
        await Promise.all(existing.filter((o) => !wanted.has(o.metadata.name) && !left(kind, o)).map((o) => this.k.client.remove(apiVersion, kind, o.metadata.name, ns)));
      }),
    ]);
    await Promise.all([
      (async () => {
        const secrets = await this.k.client.list<V1Secret>('v1', 'Secret', ns, { labelSelector: selector });
        // Release Secrets only: TLS Secrets (which have no release) are #pruneTls's. Every set of
        // web instances still there (serving, warm) keeps its release's config.
        const kept = [...keepReleases, ...(sets ? existingSets : [])];
        const stale = secrets.filter((s) => s.metadata?.labels?.[LABEL.release] !== undefined && !kept.includes(Number(s.metadata.labels[LABEL.release])));
        await Promise.all(stale.map((s) => this.k.client.remove('v1', 'Secret', s.metadata!.name!, ns)));
      })(),
    ]);
  }

  /**
   * Polls until every Deployment of the app finished rolling out (as kubectl decides it, its own
   * ready pods counting as available as soon as they show: rolloutState), showing
   * `web: 1/2 ready` as counts change. Throws RolloutFailure at once when a pod of the release is
   * stuck for good (CrashLoopBackOff, ImagePullBackOff, …), and at the deadline.
   */
  async #waitForRollout(app: string, version: number, t: Transcript, signal: AbortSignal, checks?: HealthChecks): Promise<void> {
    const ns = namespaceFor(app);
    const deadline = Date.now() + this.k.opts.rolloutTimeoutMs;
    const shown = new Map<string, string>();
    const content = new ContentChecks(checks);
    for (;;) {
      if (signal.aborted) throw new RolloutFailure('the deploy was cancelled');
      const [deployments, pods] = await Promise.all([
        this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
        this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) }) }),
      ]);
      // Of the sets of web instances, only this release's rolls out; the others (serving, warm) stand.
      // Each counts its own ready pods: the one place their readiness shows without delay.
      const own = deployments.filter((d) => ownSet(d, version));
      const readyCounts = own.map((d) => readyPodsOf(d, pods));
      const states = own.map((d, i) => rolloutState(d, readyCounts[i]));
      const podStates = pods.map(podState);
      for (const [i, s] of states.entries()) {
        if (s.desired === 0 && !shown.has(s.name)) continue;
        const line = `${s.type}: ${Math.min(readyCounts[i]!, s.desired)}/${s.desired} ready`;
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
        const events = await this.k.client.list<CoreV1Event>('v1', 'Event', ns, { fieldSelector: 'type=Warning' });
        const unhealthy = readinessFailure(pods, events, checks, Date.now());
        if (unhealthy) throw new RolloutFailure(unhealthy);
      }
      // Dokku's `content`: asked of each new instance from the moment its container runs.
      if (content.any) {
        const due = content.due(pods, Date.now());
        const answers = await Promise.all(due.map((d) => this.k.client.proxyGet(ns, d.pod, d.port, d.check.path, { timeoutMs: (d.check.timeout ?? 1) * 1000, maxBytes: MAX_CONTENT_BODY_BYTES })));
        due.forEach((d, i) => {
          if (content.record(d, answers[i]!, Date.now())) t.detail(`${d.type} instance ${d.pod}: GET ${d.check.path} contains ${JSON.stringify(d.check.content)}`);
        });
        if (content.failure) throw Object.assign(new RolloutFailure(content.failure), { replacedOld: true });
      }
      if (states.every((s) => s.done) && content.allPassed(pods)) return;
      if (Date.now() >= deadline) throw new RolloutFailure(`after ${Math.round(this.k.opts.rolloutTimeoutMs / 1000)} s, ${whyNotReady(states, podStates)}`);
      try {
        await sleep(Math.min(this.k.opts.pollMs, Math.max(0, deadline - Date.now())), undefined, { signal });
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
    const deadline = Date.now() + this.k.opts.rolloutTimeoutMs;
    const selector = selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) });
    for (;;) {
      const left = (await this.k.client.list<V1Pod>('v1', 'Pod', namespaceFor(app), { labelSelector: selector })).filter((p) => p.metadata?.labels?.[LABEL.process] !== RELEASE_TYPE);
      if (left.length === 0) return;
      if (signal.aborted) throw new RolloutFailure('the deploy was cancelled');
      if (Date.now() >= deadline) throw new RolloutFailure(`after ${Math.round(this.k.opts.rolloutTimeoutMs / 1000)} s, ${left.map((p) => p.metadata?.name).join(', ')} had not stopped`);
      try {
        await sleep(this.k.opts.pollMs, undefined, { signal });
      } catch {
        // Aborted while sleeping: the check at the top of the loop says so.
      }
    }
  }

  /** Whether any pod of the app is terminating. */
  async #anyTerminating(app: string): Promise<boolean> {
    const pods = await this.k.client.list<V1Pod>('v1', 'Pod', namespaceFor(app), { labelSelector: appSelector(app) });
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
        if (failure.replacedOld && this.k.opts.waitForRollout) {
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
      this.k.client.list<V1Pod>('v1', 'Pod', ns, { labelSelector: selectorString({ [LABEL.instance]: app, [LABEL.release]: String(version) }) }),
      this.k.client.list<CoreV1Event>('v1', 'Event', ns, { fieldSelector: 'type=Warning' }),
      this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) }),
    ]);
    const states = pods.map(podState);
    const out = recentWarnings(events, [...states.map((p) => p.name), ...deployments.map((d) => d.metadata?.name ?? '')]);
    // A whole new set starts at once: the instance stuck for good says most, then one that restarted.
    const crashed = states.find((p) => p.started && p.fatal) ?? states.find((p) => p.started && p.restarts > 0) ?? states.find((p) => p.started && !p.ready);
    if (crashed) {
      const text = await this.k.client.podLog(ns, crashed.name, crashed.process, { previous: crashed.restarts > 0, tailLines: 60 });
      const lines = crashLines(text.split('\n').filter(Boolean).map((l) => splitLogLine(l).text)).map((l) => '  ' + l);
      if (lines.length) out.push(`Last log lines of ${crashed.name}:`, ...lines);
    }
    return out;
  }

  async workloads(app: string): Promise<Workload[]> {
    const deployments = await this.k.client.list<V1Deployment>('apps/v1', 'Deployment', namespaceFor(app), { labelSelector: appSelector(app) });
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
      const before = await this.#sets.webSets(app);
      await this.#applyRelease(run, undefined, run.version);
      await this.#sets.dropSets(app, [...before.sets].filter(([v, d]) => v !== run.version && !isWarm(d)).map(([v]) => v));
      if (before.legacy && cutover(run)) await this.k.client.remove('apps/v1', 'Deployment', WEB, namespaceFor(app));
      await this.#cron.apply(run);
    } else {
      await this.#prune(app, [], []);
      await this.#cron.prune(app, new Set());
    }
  }

  async destroy(app: string): Promise<void> {
    const ns = namespaceFor(app);
    if (!(await this.k.client.remove('v1', 'Namespace', ns))) return;
    // Wait for it to be gone: until then, creating the app again would fail to deploy into it.
    const deadline = Date.now() + this.k.opts.rolloutTimeoutMs;
    while (await this.k.client.read('v1', 'Namespace', ns)) {
      if (Date.now() >= deadline) throw new UserError(`Kubernetes is still deleting namespace ${ns} after ${Math.round(this.k.opts.rolloutTimeoutMs / 1000)} s; run apps:destroy ${app} again later.`);
      await sleep(500);
    }
  }

  async restart(app: string, opts: { process?: string; transcript: Transcript; signal: AbortSignal }): Promise<void> {
    const ns = namespaceFor(app);
    // A warm set takes no traffic: restarting it would only spend its instances.
    const deployments = (await this.k.client.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: appSelector(app) })).filter((d) => !isWarm(d));
    const targets = opts.process === undefined ? deployments : deployments.filter((d) => rolloutState(d).name === processName(opts.process!));
    if (targets.length === 0) throw new UserError(opts.process === undefined ? `${app} runs no processes yet.` : `${app} has no ${opts.process} process.`);
    const at = new Date().toISOString();
    await Promise.all(targets.map((d) => this.k.client.apply(restartPatch(app, d.metadata!.name!, at), RESTART_FIELD_MANAGER)));
    opts.transcript.detail(`Restarting ${targets.map(processTypeOf).join(', ')}`);
    if (!this.k.opts.waitForRollout) return;
    const version = Number(targets[0]!.spec?.template?.metadata?.labels?.[LABEL.release]);
    try {
      await this.#waitForRollout(app, version, opts.transcript, opts.signal);
    } catch (err) {
      if (!(err instanceof RolloutFailure)) throw err;
      await this.#showDiagnosis(app, version, opts.transcript);
      throw new UserError(`The restarted instances of ${app} did not become ready: ${err.message}; the instances from before keep serving.`);
    }
  }
}
