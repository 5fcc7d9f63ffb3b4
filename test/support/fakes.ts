// Fakes at Slipway's own interfaces (Builder, Deployer), for integration tests of the transports
// and the pipeline. The product never uses these; real ones live in server/build and server/deploy.
import type { Builder, BuildRequest, BuildResult } from '../../server/build/builder.ts';
import type { ProcessType } from '../../server/model.ts';
import type { InstanceEvent } from '../../server/deploy/instance-events.ts';
import type { ScheduledRun } from '../../server/deploy/deployer.ts';
import type { AppRuntime, AutoscalerState, Autoscalers, ClusterNodes, CollectorPod, LogCollector, CronJobs, CronState, DataServices, DataState, Deployer, DrainResult, LogRequest, LogSource, OneOffPods, PodUsage, ProcessStatus, ReleasePhaseOptions, Rollouts, RunRequest, RuntimeStatus, TlsCertificates, VolumeClaims, VolumeState, VolumeUsage, WarmInstances, WarmSet, Workload, SleepWake, WakerAddress, WebTarget } from '../../server/deploy/deployer.ts';
import type { CanarySplit } from '../../server/deploy/deployer.ts';
import type { CanarySample } from '../../server/deploy/ingress-metrics.ts';
import type { CollectorDrain } from '../../server/kube/collector.ts';
import type { HostCert } from '../../server/shapes/domains.ts';
import type { NodeSummary } from '../../server/deploy/nodes.ts';
import type { DataService, DeployableRelease, QuotaPlan, Volume } from '../../server/model.ts';
import type { ProcessIo } from '../../server/kube/process-io.ts';
import type { DataCommand, StreamCommand } from '../../server/deploy/data.ts';
import { UnavailableError, UserError } from '../../server/errors.ts';
import { runLimitRefusal } from '../../server/deploy/quota.ts';
import type { ImageRegistry, RegistryTag, StorageCollection } from '../../server/build/registry.ts';
import { slotFor, type BuildQueue } from '../../server/cluster-build/queue.ts';

/** Behaviour switches a test flips between pushes. */
export interface FakeControls {
  /** Fail the build with this user-facing reason. */
  buildFailure?: string;
  /** Process types the next builds report (default: web only). */
  processes?: ProcessType[];
  /** Fail the rollout with this reason. */
  deployFailure?: string;
  /** ACME certificates are issued (else pending). */
  certificatesIssued?: boolean;
  /** Fail the release command with this reason (after printing `release output`). */
  releaseFailure?: string;
  /** The release command prints without end (until the push is aborted), as fast as it is let. */
  releaseFlood?: boolean;
  /** `logs -t` prints without end (until the client goes away), as fast as it is let. */
  logFlood?: boolean;
  /** Hold the build until this promise resolves (or the push is aborted). */
  buildGate?: Promise<void>;
  /** Hold this build until the promise it returns settles (a rejection fails the build with it); undefined: no hold. */
  holdBuild?: (req: BuildRequest) => Promise<void> | undefined;
  /** Called when a build starts, once it has its build slot if the builder has a queue (tests wait on it). */
  onBuildStart?: (req: BuildRequest) => void;
  /** Called when a build sees its abort signal. */
  onBuildAborted?: () => void;
  /**
   * Called once the pipeline has taken a build's outcome and finished with it: on the next turn
   * of the event loop after the build settles. What the pipeline does between the builder's
   * answer and releasing the deploy lock needs no I/O, so by then a failed push's lock is free.
   */
  onBuildSettled?: () => void;
  /** `logs -t` keeps streaming (after its one line) until its signal aborts, as the real one does. */
  followLogs?: boolean;
  /** Hold each rollout (after its first line) until this promise resolves (or the deploy is aborted). */
  deployGate?: Promise<void>;
  /** Called when a rollout starts (tests wait on it). */
  onDeployStart?: (release: DeployableRelease) => void;
  /** The cluster has no metrics API (usage is refused as a real cluster without metrics-server is). */
  noMetrics?: boolean;
}

/** What the flooding fakes print: `yes` output in 64 KiB chunks, and 100-byte lines in chunks of 500. */
const YES_CHUNK = Buffer.from('y\n'.repeat(32 * 1024));
const FLOOD_LINE = 'x'.repeat(100);
const FLOOD_LINES = 500;

/** Lets the event loop turn, as real streams do between chunks. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function waitOrAbort(gate: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    gate.then(resolve, reject);
  });
}

/** A builder that "builds" instantly (or when released) and reports a web process. */
export class FakeBuilder implements Builder {
  readonly name = 'fake';
  builds: BuildRequest[] = [];
  readonly controls: FakeControls;
  /** Where builds "publish" their images, when a test wants a registry. */
  registry?: FakeRegistry;
  /** Build slots: set by a test, each build first takes one as the cluster builder does (slotFor). */
  queue?: BuildQueue;
  constructor(controls: FakeControls, registry?: FakeRegistry) {
    this.controls = controls;
    this.registry = registry;
  }
  async build(req: BuildRequest): Promise<BuildResult> {
    let release: (() => void) | undefined;
    try {
      if (this.queue) release = await slotFor(this.queue, req);
      return await this.#build(req);
    } finally {
      release?.();
      const settled = this.controls.onBuildSettled;
      if (settled) setImmediate(settled);
    }
  }
  async #build(req: BuildRequest): Promise<BuildResult> {
    this.builds.push(req);
    this.controls.onBuildStart?.(req);
    req.transcript.detail('fake build: detected a fake app');
    const gate = this.controls.holdBuild?.(req) ?? this.controls.buildGate;
    if (gate) {
      try {
        await waitOrAbort(gate, req.signal);
      } catch (err) {
        this.controls.onBuildAborted?.();
        throw err;
      }
    }
    if (this.controls.buildFailure) throw new UserError(this.controls.buildFailure);
    const digest = 'sha256:' + req.commit.padEnd(64, '0').slice(0, 64);
    this.caches.add(req.app);
    this.registry?.publish(req.app, ['latest', req.tag], digest);
    return { image: `registry.test/${req.app}@${digest}`, digest, processes: this.controls.processes ?? [{ type: 'web', command: ['web'], args: [], default: true }] };
  }
  purged: string[] = [];
  /** Apps with a build cache: every app built here, until purged. */
  caches = new Set<string>();
  async purgeCache(app: string): Promise<void> {
    this.purged.push(app);
    this.caches.delete(app);
  }
  async cachedApps(): Promise<string[]> {
    return [...this.caches];
  }
  async cacheBytes(app: string): Promise<number | undefined> {
    return this.caches.has(app) ? 1000 : undefined;
  }
  prunes = 0;
  async pruneImages(): Promise<number> {
    this.prunes++;
    return 0;
  }
}

/**
 * A registry in memory, at the ImageRegistry interface: a build "publishes" its digest under
 * `latest` and `build-N` (FakeBuilder calls publish), deletes remove every tag on a digest.
 */
export class FakeRegistry implements ImageRegistry {
  readonly repos = new Map<string, Map<string, string>>();
  storageRuns = 0;
  /** Set to make collectStorage say it is not configured. */
  storageSkipped?: string;
  publish(app: string, tags: readonly string[], digest: string): void {
    const repo = this.repos.get(app) ?? new Map<string, string>();
    for (const t of tags) repo.set(t, digest);
    this.repos.set(app, repo);
  }
  async tags(app: string): Promise<RegistryTag[]> {
    return [...(this.repos.get(app) ?? new Map<string, string>())].map(([tag, digest]) => ({ tag, digest }));
  }
  async remove(app: string, digest: string): Promise<void> {
    const repo = this.repos.get(app);
    for (const [t, d] of repo ?? []) if (d === digest) repo!.delete(t);
  }
  /** Bytes each image holds, when a test sets it (default 1 MB). */
  imageBytes = 1_000_000;
  async bytes(app: string, digests: readonly string[]): Promise<number> {
    return digests.length * this.imageBytes;
  }
  /** Copies asked for, in order: from, to, digest, tag. */
  copies: { from: string; to: string; digest: string; tag: string }[] = [];
  /** The digest under a new tag of `to`, as the real one does by mounting its blobs; a digest `from` lacks is refused. */
  async copy(from: string, to: string, digest: string, tag: string): Promise<string> {
    if (![...(this.repos.get(from)?.values() ?? [])].includes(digest)) throw new Error(`the registry answered 404 for ${from}@${digest}`);
    this.copies.push({ from, to, digest, tag });
    this.publish(to, [tag], digest);
    return `registry.test/${to}@${digest}`;
  }
  async collectStorage(): Promise<StorageCollection> {
    if (this.storageSkipped) return { ran: false, reason: this.storageSkipped };
    this.storageRuns++;
    return { ran: true, ms: 1, blobsDeleted: 0, manifestsDeleted: 0 };
  }
}

/** A deployer that records what it was asked to run: one small fake per capability, sharing what the fake cluster runs. */
export class FakeDeployer implements Deployer {
  readonly name = 'fake';
  readonly controls: FakeControls;
  readonly rollout = new FakeRollouts(this);
  readonly warm = new FakeWarm();
  readonly oneOff = new FakeOneOffs(this);
  readonly logSource = new FakeLogs(this);
  readonly tls = new FakeTls(this);
  readonly cron = new FakeCron(this);
  readonly volumes = new FakeVolumes(this);
  readonly data = new FakeData();
  readonly runtime = new FakeRuntime(this);
  /** No nodes: tests of nodes put their own ClusterNodes here. */
  readonly nodes: ClusterNodes = new NoNodes();
  readonly collector = new FakeCollector();
  readonly sleep = new FakeSleep();
  readonly autoscale = new FakeAutoscalers(this);
  readonly canary = new FakeCanary();
  constructor(controls: FakeControls) {
    this.controls = controls;
  }
}

/**
 * Web sets that sleep and wake, in memory: `asleep` holds the apps whose Service points at the
 * waker; a wake takes `wakeMs` (or waits for `wakeGate`) and answers `target`, or throws `wakeFailure`.
 */
export class FakeSleep implements SleepWake {
  readonly asleep = new Map<string, WakerAddress>();
  /** Each sleep and wake, in order. */
  readonly calls: { op: 'sleep' | 'wake'; app: string; version: number }[] = [];
  wakeMs = 0;
  wakeGate: Promise<void> | undefined;
  wakeFailure: string | undefined;
  target: WebTarget = { address: '127.0.0.1', port: 5000 };
  /** Apps a wake has scaled up and that have no ready instance yet (the Service still at the waker). */
  readonly #scaledUp = new Set<string>();
  async sleep(release: DeployableRelease, waker: WakerAddress): Promise<boolean> {
    // As on a cluster: a set a wake scaled up runs instances again, and a sleep stops them.
    if (this.asleep.has(release.app) && !this.#scaledUp.has(release.app)) return false;
    this.calls.push({ op: 'sleep', app: release.app, version: release.version });
    this.asleep.set(release.app, waker);
    return true;
  }
  async wake(release: DeployableRelease, opts: { timeoutMs: number; signal: AbortSignal }): Promise<WebTarget[]> {
    this.calls.push({ op: 'wake', app: release.app, version: release.version });
    this.#scaledUp.add(release.app);
    try {
      if (this.wakeGate) await waitOrAbort(this.wakeGate, opts.signal);
      if (this.wakeMs) await new Promise((r) => setTimeout(r, this.wakeMs));
      if (this.wakeFailure) throw new UserError(this.wakeFailure);
    } finally {
      this.#scaledUp.delete(release.app);
    }
    this.asleep.delete(release.app);
    return [this.target];
  }
  async pointsAtWaker(app: string): Promise<boolean> {
    return this.asleep.has(app);
  }
  async serving(app: string): Promise<boolean> {
    return !this.asleep.has(app);
  }
}

/**
 * The autoscalers the last deploy of each app asked for, as a cluster would report them: each at
 * its min, every instance using `use` (cores) of CPU and 64 MiB of memory; `use` unset: not
 * measured yet.
 */
export class FakeAutoscalers implements Autoscalers {
  readonly #d: FakeDeployer;
  use: number | undefined;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  async states(app: string): Promise<AutoscalerState[]> {
    const r = this.#d.rollout.deployed.findLast((d) => d.app === app);
    return Object.entries(r?.autoscale ?? {}).map(([type, rule]) => ({
      type, min: rule.min, max: rule.max, target: type === 'web' ? `web-v${r!.runsAs ?? r!.version}` : type, current: rule.min, desired: rule.min,
      metrics: [
        ...(rule.cpu !== undefined ? [{ resource: 'cpu', target: rule.cpu / 100, ...(this.use !== undefined ? { current: this.use } : {}) }] : []),
        ...(rule.memory !== undefined ? [{ resource: 'memory', target: (rule.memory / 100) * 2 ** 29, ...(this.use !== undefined ? { current: 2 ** 26 } : {}) }] : []),
      ],
      ...(this.use === undefined ? { why: 'the HPA was unable to compute the replica count: no metrics yet' } : {}),
    }));
  }
}

/** The drains' log collector: records every set of drains it was applied with; `pods` is what drains:info reads. */
export class FakeCollector implements LogCollector {
  readonly applied: CollectorDrain[][] = [];
  pods_: CollectorPod[] = [];
  async apply(drains: readonly CollectorDrain[]): Promise<void> {
    this.applied.push([...drains]);
  }
  async pods(): Promise<CollectorPod[]> {
    return this.pods_;
  }
  readonly #instanceListeners = new Set<(e: InstanceEvent) => void>();
  instanceEvents(listener: (e: InstanceEvent) => void): () => void {
    this.#instanceListeners.add(listener);
    return () => this.#instanceListeners.delete(listener);
  }
  /** What the cluster would report of an app's instance (a crash, a failed health check). */
  report(e: InstanceEvent): void {
    for (const l of this.#instanceListeners) l(e);
  }
}

/** A cluster whose nodes are not this fake's business: none listed, none drained. */
class NoNodes implements ClusterNodes {
  async nodes(): Promise<NodeSummary[]> {
    return [];
  }
  async drain(node: string): Promise<DrainResult> {
    throw new UserError(`The fake cluster has no node ${node}.`);
  }
  async uncordon(node: string): Promise<void> {
    throw new UserError(`The fake cluster has no node ${node}.`);
  }
}

/** Deploys, restores, restarts and destroys in memory: `deployed` is what the fake cluster runs. */
export class FakeRollouts implements Rollouts {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  deployed: DeployableRelease[] = [];
  destroyed: string[] = [];
  async deploy(release: DeployableRelease, opts: { transcript: { detail(t: string): void }; signal?: AbortSignal; beside?: (serving: number) => Promise<void> }): Promise<void> {
    if (this.#d.controls.deployFailure) throw new UserError(this.#d.controls.deployFailure);
    this.#d.controls.onDeployStart?.(release);
    if (this.#d.controls.deployGate) {
      opts.transcript.detail('web: 0/1 ready');
      await waitOrAbort(this.#d.controls.deployGate, opts.signal ?? new AbortController().signal);
    }
    opts.transcript.detail('web: 1/1 ready');
    // A canary runs beside the serving release (the last one deployed), before the switch; if it
    // throws, the new release is not what runs.
    const serving = this.deployed.findLast((d) => d.app === release.app);
    if (opts.beside && serving && serving.version !== release.version) await opts.beside(serving.version);
    this.deployed.push(release);
  }
  async destroy(app: string): Promise<void> {
    this.destroyed.push(app);
    for (const key of this.#d.volumes.claims.keys()) if (key.startsWith(`${app}/`)) this.#d.volumes.claims.delete(key);
  }
  /** The last deploy's processes as Deployments (what a cluster would report). */
  async workloads(app: string): Promise<Workload[]> {
    const r = this.deployed.findLast((d) => d.app === app);
    return (r?.processes ?? []).filter((p) => p.type !== 'release').map((p) => ({ process: p.type, release: r!.version, replicas: r!.formation[p.type] ?? (p.type === 'web' ? 1 : 0) }));
  }
  /** Apps put back at start-up, with the version applied (null: removed). */
  restored: { app: string; version: number | null }[] = [];
  async restore(app: string, release: DeployableRelease | undefined): Promise<void> {
    this.restored.push({ app, version: release?.version ?? null });
    if (release) this.deployed.push(release);
  }
  /** The quota plans applied to apps' namespaces alone (applyQuota), in order. */
  quotas: { app: string; plan: QuotaPlan }[] = [];
  async applyQuota(app: string, plan: QuotaPlan): Promise<boolean> {
    if (!this.deployed.some((d) => d.app === app)) return false;
    this.quotas.push({ app, plan });
    return true;
  }
  restarted: { app: string; process?: string }[] = [];
  async restart(app: string, opts: { process?: string }): Promise<void> {
    this.restarted.push({ app, ...(opts.process ? { process: opts.process } : {}) });
  }
}

/** Warm sets a test puts in the fake cluster (addWarm); warmSets lists them, dropWarm stops them. */
export class FakeWarm implements WarmInstances {
  /**
   * Warm sets a test puts in the fake cluster: the app and the ProcessStatus status() reports for
   * it (with `warm`). dropWarm removes those it stops; warmSets() lists them.
   */
  sets: { app: string; status: ProcessStatus }[] = [];
  /** A warm set of `instances` web instances of `release` until `until`, as status() would report it. */
  addWarm(app: string, release: number, until: string, instances = 1): void {
    const list = Array.from({ length: instances }, (_, i) => ({ name: `web-v${release}-fake-${i + 1}`, release, state: 'Running', ready: true, restarts: 0, startedAt: null }));
    this.sets.push({ app, status: { type: 'web', desired: instances, ready: instances, instances: list, warm: { release, until } } });
  }
  /** Calls of warmSets(). */
  warmListings = 0;
  async warmSets(): Promise<WarmSet[]> {
    this.warmListings++;
    return this.sets.map((w) => ({ app: w.app, release: w.status.warm!.release, until: w.status.warm!.until }));
  }
  /** Calls of dropWarm, in order. */
  warmDrops: { app: string; now: number; all: boolean }[] = [];
  async dropWarm(app: string, opts: { now: number; all?: boolean }): Promise<number> {
    this.warmDrops.push({ app, now: opts.now, all: opts.all === true });
    const gone = this.sets.filter((w) => w.app === app && (opts.all || Date.parse(w.status.warm!.until) <= opts.now));
    this.sets = this.sets.filter((w) => !gone.includes(w));
    return gone.length;
  }
}

/** Release commands and one-off commands, recorded (and acted out: see run). */
export class FakeOneOffs implements OneOffPods {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** Release commands run, in order. */
  releasePhases: DeployableRelease[] = [];
  async releasePhase(release: DeployableRelease, opts: ReleasePhaseOptions): Promise<void> {
    this.releasePhases.push(release);
    opts.transcript.detail(`fake release command of v${release.version}`);
    if (this.#d.controls.releaseFailure) throw new UserError(this.#d.controls.releaseFailure);
    // As the real release phase relays a command's output: a chunk of lines, then wait for the pusher.
    while (this.#d.controls.releaseFlood && !opts.signal.aborted) {
      for (let i = 0; i < FLOOD_LINES; i++) opts.transcript.detail(FLOOD_LINE);
      await opts.transcript.drained();
      await nextTurn();
    }
    if (opts.signal.aborted) throw new UserError('The release command was cancelled; nothing was deployed.', { cause: opts.signal.reason });
  }
  async sweepPods(): Promise<number> {
    return 0;
  }
  /** One-off commands asked for, and whether each is still attached. */
  runs: { app: string; version: number; command: readonly string[]; timeoutSeconds: number; tty: { cols: number; rows: number } | null; resizes: { cols: number; rows: number }[]; state: 'running' | 'exited' | 'aborted' }[] = [];
  /**
   * A fake one-off command: `exit N` exits N; `cat` copies stdin to stdout until its end;
   * `sleep` waits until the client goes away; `yes` prints without end, as fast as it is let,
   * until the client goes away; anything else echoes its words and exits 0.
   */
  /** Refuses a one-off pod beyond the release's limit, as KubeDeployer does (detached ones never end here). */
  #checkRuns(release: DeployableRelease): void {
    const running = this.detached.filter((d) => d.app === release.app).length + this.runs.filter((r) => r.app === release.app && r.state === 'running').length;
    if (release.quota && running >= release.quota.runs) throw new UserError(runLimitRefusal(release.app, running, release.quota.runs));
  }
  async run(release: DeployableRelease, req: RunRequest & { io: ProcessIo; signal: AbortSignal }): Promise<number> {
    this.#checkRuns(release);
    const t = req.io.terminal;
    const entry: FakeOneOffs['runs'][number] = { app: release.app, version: release.version, command: req.command, timeoutSeconds: req.timeoutSeconds, tty: t ? { cols: t.cols, rows: t.rows } : null, resizes: [], state: 'running' };
    this.runs.push(entry);
    t?.onResize((size) => entry.resizes.push(size));
    const [cmd, ...args] = req.command;
    try {
      if (cmd === 'exit') return Number(args[0]);
      if (cmd === 'yes') {
        // As the exec relays a pod's output: a chunk, then wait until the client can take more.
        while (!req.signal.aborted) {
          await req.io.stdout(YES_CHUNK);
          await nextTurn();
        }
        throw req.signal.reason;
      }
      if (cmd === 'cat') {
        await new Promise<void>((resolve, reject) => {
          req.io.stdin.on('data', (d: Buffer) => {
            req.io.stdin.pause();
            void req.io.stdout(d).then(() => req.io.stdin.resume());
          });
          req.io.stdin.once('end', resolve);
          req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true });
        });
        return 0;
      }
      if (cmd === 'sleep') {
        await new Promise<void>((_resolve, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }));
      }
      req.io.stdout(Buffer.from(`ran ${req.command.join(' ')}${t ? ` on a ${t.cols}x${t.rows} terminal` : ''}\n`));
      return 0;
    } catch (err) {
      entry.state = 'aborted';
      throw err;
    } finally {
      if (entry.state === 'running') entry.state = 'exited';
    }
  }
  detached: { app: string; command: readonly string[]; timeoutSeconds: number }[] = [];
  async runDetached(release: DeployableRelease, req: RunRequest): Promise<string> {
    this.#checkRuns(release);
    this.detached.push({ app: release.app, command: req.command, timeoutSeconds: req.timeoutSeconds });
    return 'run-fake1';
  }
}

/** One line per `logs` call, naming what was asked for. */
export class FakeLogs implements LogSource {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** One line per call, naming what was asked for; with logFlood and -t, lines without end; with followLogs and -t, nothing more until the client goes. */
  async logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void> {
    await write(`2000-01-01T00:00:00Z app[${req.process ?? 'web'}.fake]: ${app} log (lines=${req.lines}, follow=${req.follow})`);
    while (this.#d.controls.logFlood && req.follow && !req.signal.aborted) {
      await write(`2000-01-01T00:00:00Z app[web.fake]: ${FLOOD_LINE}`);
      await nextTurn();
    }
    if (!req.follow || !this.#d.controls.followLogs) return;
    await new Promise<void>((resolve) => {
      if (req.signal.aborted) return resolve();
      req.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** Certificates of the last deploy's hosts: uploaded ones issued, ACME ones as the controls say. */
export class FakeTls implements TlsCertificates {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** Uploaded hosts are issued; ACME hosts are pending until certificatesIssued is set. */
  async certificates(release: DeployableRelease): Promise<HostCert[]> {
    return release.domains.map((host): HostCert => {
      const up = release.tls?.uploaded.find((u) => u.host === host);
      if (up) return { host, state: 'issued', source: 'uploaded', issuer: 'uploaded', notAfter: 'later' };
      if (!release.tls?.issuer) return { host, state: 'none' };
      return this.#d.controls.certificatesIssued ? { host, state: 'issued', source: 'acme', issuer: 'Fake CA', notAfter: 'later' } : { host, state: 'pending', detail: 'the fake CA is thinking' };
    });
  }
  /** Releases whose HTTPS routing was synced, in order. */
  tlsRefreshed: DeployableRelease[] = [];
  async refreshTls(release: DeployableRelease): Promise<boolean> {
    this.tlsRefreshed.push(release);
    return false;
  }
}

/** The last deploy's scheduled tasks, and the runs cron:run started. */
export class FakeCron implements CronJobs {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** Scheduled tasks started with cron:run, in order. */
  cronRuns: { app: string; id: string; job: string }[] = [];
  /** The last deploy's tasks as its CronJobs, each having run once (succeeded) if cron:run started it. */
  async cronStatus(app: string): Promise<CronState[]> {
    const r = this.#d.rollout.deployed.findLast((d) => d.app === app);
    return (r?.cron ?? []).map((t) => {
      const run = this.cronRuns.findLast((c) => c.app === app && c.id === t.id);
      return { id: t.id, suspended: t.suspended, lastScheduled: null, lastRun: run ? { job: run.job, startedAt: '2000-01-01T00:00:00.000Z', finishedAt: '2000-01-01T00:00:01.000Z', result: 'succeeded' } : null };
    });
  }
  async runCron(app: string, id: string): Promise<string> {
    if (!this.#d.rollout.deployed.findLast((d) => d.app === app)?.cron?.some((t) => t.id === id)) throw new UserError(`${app} has no scheduled task ${id} in the cluster yet; deploy it first (git push).`);
    const job = `cron-${id}-fake${this.cronRuns.length + 1}`;
    this.cronRuns.push({ app, id, job });
    return job;
  }
  /** Runs the fake cluster's schedules started (tests add them). */
  scheduled: ScheduledRun[] = [];
  async scheduledRuns(): Promise<ScheduledRun[]> {
    return this.scheduled;
  }
}

/** Volume claims in memory. */
export class FakeVolumes implements VolumeClaims {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** Volume claims by `app/name`, as a cluster would hold them. */
  readonly claims = new Map<string, Volume>();
  async applyVolume(app: string, volume: Volume): Promise<void> {
    this.claims.set(`${app}/${volume.name}`, volume);
  }
  async removeVolume(app: string, name: string): Promise<boolean> {
    return this.claims.delete(`${app}/${name}`);
  }
  /** What a kubelet measured of a claim by `app/name` (a test sets it), or why it could not be read. */
  readonly usage = new Map<string, VolumeUsage | { unknown: string }>();
  /** A claim is Bound once a deploy mounted it (as local-path binds on first use), else Pending; with its usage when a test set one. */
  async volumeStates(app: string): Promise<VolumeState[]> {
    const used = new Set(this.#d.rollout.deployed.filter((d) => d.app === app).flatMap((d) => Object.values(d.mounts ?? {}).flat().map((m) => m.volume)));
    return [...this.claims.entries()].filter(([k]) => k.startsWith(`${app}/`)).map(([k, v]) => {
      if (!used.has(v.name)) return { name: v.name, phase: 'Pending' };
      const u = this.usage.get(k);
      return { name: v.name, phase: 'Bound', capacity: v.size, ...(u && 'unknown' in u ? { usageUnknown: u.unknown } : u ? { usage: u } : {}) };
    });
  }
}

/** What the last deploy of each app runs, every instance ready, and made-up usage. */
export class FakeRuntime implements RuntimeStatus {
  readonly #d: FakeDeployer;
  constructor(d: FakeDeployer) {
    this.#d = d;
  }
  /** What the last deploy of the app asked for, each instance ready; then the app's warm sets (`warm`), as a test set them. */
  async status(app: string): Promise<ProcessStatus[]> {
    const r = this.#d.rollout.deployed.findLast((d) => d.app === app);
    const serving = (r?.processes ?? []).filter((p) => p.type !== 'release').map((p) => {
      const desired = r!.formation[p.type] ?? (p.type === 'web' ? 1 : 0);
      const instances = Array.from({ length: desired }, (_, i) => ({ name: `${p.type}-fake-${i + 1}`, release: r!.version, state: 'Running', ready: true, restarts: 0, startedAt: null }));
      return { type: p.type, desired, ready: desired, instances };
    });
    return [...serving, ...this.#d.warm.sets.filter((w) => w.app === app).map((w) => w.status)];
  }
  /** How many times overview() was called (apps:list must call it once, whatever the number of apps). */
  overviews = 0;
  /** Every app's last deploy as status() reports it, with its ACME hosts issued when certificatesIssued is set. */
  async overview(opts: { certificates: boolean }): Promise<Map<string, AppRuntime>> {
    this.overviews++;
    const out = new Map<string, AppRuntime>();
    for (const app of new Set(this.#d.rollout.deployed.map((d) => d.app))) {
      const r = this.#d.rollout.deployed.findLast((d) => d.app === app)!;
      const counts = (await this.status(app)).filter((p) => !p.warm).reduce((n, p) => ({ running: n.running + p.ready, desired: n.desired + p.desired }), { running: 0, desired: 0 });
      const acme = opts.certificates && this.#d.controls.certificatesIssued && r.tls?.issuer ? r.domains.filter((h) => !r.tls!.uploaded.some((u) => u.host === h)) : [];
      out.set(app, { ...counts, issuedHosts: acme });
    }
    return out;
  }
  /** Readings so far; each instance of `status` uses 10m more CPU per reading and 64 MiB. */
  usageReads = 0;
  async usage(app: string): Promise<{ type: string; pods: PodUsage[] }[]> {
    if (this.#d.controls.noMetrics) throw new UnavailableError('The cluster has no metrics API (metrics-server); the fake cluster was told to have none.');
    const n = ++this.usageReads;
    return (await this.status(app)).map((p) => ({
      type: p.type,
      pods: p.instances.map((i) => ({ name: i.name, process: p.type, cpuMillicores: 10 * n, memoryBytes: 64 * 2 ** 20 })),
    }));
  }
}

/** Databases as a cluster would hold them, by `app/name`; `failNext` makes the next apply throw that sentence (the objects stay, as on a cluster). */
export class FakeData implements DataServices {
  readonly running = new Map<string, DataService>();
  failNext: string | undefined;
  /** Every apply, in order (a restore applies twice: with its source's volume, then without). */
  readonly applies: DataService[] = [];
  /** Each apply waits for this first (a database that takes its time to start), after onApply says it began. */
  hold: Promise<void> | undefined;
  onApply: ((d: DataService) => void) | undefined;
  async apply(d: DataService): Promise<void> {
    this.applies.push(d);
    this.onApply?.(d);
    if (this.hold) await this.hold;
    this.running.set(`${d.app}/${d.name}`, d);
    // What `server-version` answers: 18 once an instance was started to upgrade (pg:upgrade), else 17.
    const key = `${d.app}/${d.name}`;
    if (d.upgradeFrom) this.serverVersions.set(key, '18.6 (Debian 18.6-3)');
    else if (!this.serverVersions.has(key)) this.serverVersions.set(key, '17.12 (Debian 17.12-0+deb13u1)');
    const why = this.failNext;
    this.failNext = undefined;
    if (why) throw new UserError(why);
  }
  async remove(app: string, name: string): Promise<void> {
    this.running.delete(`${app}/${name}`);
    this.serverVersions.delete(`${app}/${name}`);
  }
  /** `server-version` of each `app/name`. */
  readonly serverVersions = new Map<string, string>();
  /** What the next runs of a command answer on stdout, by its name (e.g. `row-counts`), in order; default: one table of 3 rows and the heartbeat's. */
  readonly answers = new Map<string, string[]>();
  /** The next run of this command (by name) fails with `stderr` (exit 1). */
  failOn: { command: string; stderr: string } | undefined;
  /** The heartbeat each `app/name` holds (a restored copy: the default, the same in every one). */
  readonly heartbeats = new Map<string, string>();
  async states(app: string): Promise<DataState[]> {
    return [...this.running.values()].filter((d) => d.app === app).map((d) => ({ name: d.name, ready: true, state: 'Running', restarts: 0, startedAt: null, volumes: { data: 'Bound', backup: 'Bound' }, image: d.image }));
  }
  /** Each image command run, `app/name command…`. */
  readonly commands: string[] = [];
  /** Backups taken per `app/name`, as pgBackRest's `info` lists them. */
  readonly backups = new Map<string, { label: string; type: string; timestamp: { start: number; stop: number }; info: { size: number; repository: { size: number } } }[]>();
  /** The next image command fails with this on standard error (exit 1). */
  failCommand: string | undefined;
  /** What `stats` prints per `app/name` (default: 1 MiB used on each volume with plenty left, 2 of 20 connections); not counted in `commands`, and failCommand does not apply. */
  readonly stats = new Map<string, string>();
  async command(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: DataCommand, opts: { onLine?: (line: string) => void }): Promise<{ code: number; stdout: string; stderr: string }> {
    const key = `${d.app}/${d.name}`;
    if (command[0] === 'stats') {
      return { code: 0, stdout: this.stats.get(key) ?? 'data_used 1048576\ndata_avail 99000000000\nbackup_used 1048576\nbackup_avail 99000000000\nconnections 2\nmax_connections 20\n', stderr: '' };
    }
    this.commands.push(`${key} ${command.join(' ')}`);
    if (this.failCommand) {
      const stderr = this.failCommand;
      this.failCommand = undefined;
      opts.onLine?.(stderr);
      return { code: 1, stdout: '', stderr };
    }
    if (this.failOn?.command === command[0]) {
      const stderr = this.failOn.stderr;
      this.failOn = undefined;
      return { code: 1, stdout: '', stderr };
    }
    const queued = this.answers.get(command[0])?.shift();
    if (queued !== undefined) return { code: 0, stdout: queued, stderr: '' };
    if (command[0] === 'server-version') return { code: 0, stdout: this.serverVersions.get(key) ?? '', stderr: '' };
    if (command[0] === 'row-counts') return { code: 0, stdout: 'app public.items 3\npostgres public.slipway_heartbeat 1', stderr: '' };
    if (command[0] === 'last-heartbeat') return { code: 0, stdout: this.heartbeats.get(key) ?? '2026-12-05T09:08:12.680144Z', stderr: '' };
    if (command[0] === 'heartbeat') {
      const at = new Date().toISOString();
      this.heartbeats.set(key, at);
      return { code: 0, stdout: at, stderr: '' };
    }
    const list = this.backups.get(key) ?? [];
    if (command[0] === 'backup') {
      const now = Math.floor(Date.now() / 1000);
      list.push({ label: `20261205-0000${list.length}F`, type: command[1], timestamp: { start: now - 1, stop: now }, info: { size: 1000, repository: { size: 100 } } });
      this.backups.set(key, list);
      opts.onLine?.('P00   INFO: backup command end: completed successfully');
      return { code: 0, stdout: '', stderr: '' };
    }
    if (command[0] === 'backups') return { code: 0, stdout: JSON.stringify([{ name: 'db', backup: list, archive: [{ min: '000000010000000000000001', max: '000000010000000000000003' }], status: { code: 0, message: 'ok' } }]), stderr: '' };
    if (command[0] === 'login-retire') {
      const sessions = this.sessions.get(`${key} ${command[1]}`) ?? 0;
      if (sessions === 0) this.noLogin.add(`${key} ${command[1]}`);
      return { code: 0, stdout: `${sessions}\n`, stderr: '' };
    }
    return { code: 0, stdout: '', stderr: '' };
  }
  /** Open sessions per `app/name login` (what login-retire counts; default none). */
  readonly sessions = new Map<string, number>();
  /** Logins made by login-add, `app/name login` → the role it acts as (Valkey's ACL users: null), and the password it got on standard input. */
  readonly logins = new Map<string, { owner: string | null; password: string }>();
  /** Logins whose LOGIN login-retire removed, `app/name login`. */
  readonly noLogin = new Set<string>();
  /** The archive a dump streams per `app/name` (default `PGDMP` and the key), and what each import received. */
  readonly dumps = new Map<string, Buffer>();
  readonly imports = new Map<string, Buffer>();
  /** Each Secret applied alone (credential rotation): the database as it was written. */
  readonly secrets: DataService[] = [];
  async stream(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: StreamCommand, io: ProcessIo, signal: AbortSignal): Promise<number> {
    const key = `${d.app}/${d.name}`;
    this.commands.push(`${key} ${command.join(' ')}`);
    const input = async (max: number): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of io.stdin) {
        if (signal.aborted) throw signal.reason;
        chunks.push(c as Buffer);
        n += (c as Buffer).length;
        if (n > max) break;
      }
      if (signal.aborted) throw signal.reason;
      return Buffer.concat(chunks);
    };
    const fail = async (line: string) => { await io.stderr(Buffer.from(`${line}\n`)); return 1; };
    if (command[0] === 'dump') {
      const archive = this.dumps.get(key) ?? Buffer.from(`PGDMP fake archive of ${key}`);
      for (let i = 0; i < archive.length; i += 5) await io.stdout(archive.subarray(i, i + 5));
      return 0;
    }
    if (command[0] === 'import') {
      const max = Number(command[1]);
      const archive = await input(max);
      if (archive.length > max) return fail(`slipway-postgres: import: the archive is larger than ${max} bytes`);
      if (!archive.subarray(0, 5).equals(Buffer.from('PGDMP'))) return fail('slipway-postgres: import: this is not an archive pg_restore reads (pg_dump -Fc): input file does not appear to be a valid archive');
      this.imports.set(key, archive);
      return 0;
    }
    const password = (await input(1024)).toString().split('\n')[0]!;
    this.logins.set(`${key} ${command[1]}`, { owner: command[2] ?? null, password });
    return 0;
  }
  async secret(d: DataService): Promise<void> {
    this.secrets.push(d);
    this.running.set(`${d.app}/${d.name}`, d);
  }
  /** Every drill asked for (the database as it would start), and what the next drill's checks answer (default: a heartbeat a minute before its target, amcheck clean). */
  readonly drills: DataService[] = [];
  drillAnswers: { code: number; stdout: string; stderr: string }[] | undefined;
  async drill(d: DataService, checks: readonly DataCommand[]): Promise<{ readyMs: number; results: { code: number; stdout: string; stderr: string }[] }> {
    this.drills.push(d);
    const target = d.restore?.target ? Date.parse(d.restore.target) : Date.now();
    const results = this.drillAnswers ?? checks.map((c) => ({ code: 0, stdout: c[0] === 'last-heartbeat' ? new Date(target - 41_000).toISOString() : '', stderr: '' }));
    this.drillAnswers = undefined;
    return { readyMs: 38_000, results };
  }
  /** Scratch copies a server that stopped midway left, by app (a test puts them); sweepScratch removes and names them. */
  readonly leftScratch = new Map<string, string[]>();
  /** Apps whose scratch copies were swept, in order. */
  readonly swept: string[] = [];
  async sweepScratch(app: string): Promise<string[]> {
    this.swept.push(app);
    const left = this.leftScratch.get(app) ?? [];
    this.leftScratch.delete(app);
    return left;
  }
  /** Every scratch copy a fork asked for (the parent's database as it would start), and the command run in it. */
  readonly forks: { d: DataService; command: string }[] = [];
  async fromBackup(d: DataService, command: StreamCommand, io: ProcessIo): Promise<{ readyMs: number; code: number }> {
    this.forks.push({ d, command: command.join(' ') });
    const why = this.failNext;
    this.failNext = undefined;
    if (why) throw new UserError(why);
    const archive = this.dumps.get(`${d.app}/${d.name}`) ?? Buffer.from(`PGDMP fake archive of ${d.app}/${d.name} from its backup`);
    for (let i = 0; i < archive.length; i += 5) await io.stdout(archive.subarray(i, i + 5));
    return { readyMs: 21_000, code: 0 };
  }
  /** What each console was asked for, `app/name kind`; writes the request to stdout and exits 0. */
  readonly consoles: string[] = [];
  async console(d: Pick<DataService, 'app' | 'name' | 'kind'>, io: ProcessIo): Promise<number> {
    this.consoles.push(`${d.app}/${d.name} ${d.kind}`);
    await io.stdout(Buffer.from(`${d.kind} console on ${d.name}\n`));
    return 0;
  }
}

/**
 * A canary's split in memory: records each change (`calls`), and answers each sample with the
 * counters `traffic` adds per window: a test says what each set answered in a window.
 */
export class FakeCanary implements CanarySplit {
  readonly calls: string[] = [];
  /** The counters each set gains between two samples (per window), as a test sets them. */
  traffic: { stable: { requests: number; errors: number; ms: number }; canary: { requests: number; errors: number; ms: number } } = {
    stable: { requests: 100, errors: 0, ms: 20 },
    canary: { requests: 10, errors: 0, ms: 20 },
  };
  /** Called when a canary starts (a test then promotes or aborts it by hand). */
  onStart?: (app: string) => void;
  #samples = 0;
  async start(run: DeployableRelease, canary: number, weight: number): Promise<void> {
    this.calls.push(`start ${run.app} v${canary} ${weight}`);
    this.onStart?.(run.app);
  }
  async weigh(app: string, weight: number): Promise<void> {
    this.calls.push(`weigh ${app} ${weight}`);
  }
  async abort(app: string): Promise<{ writtenAt: number; confirmedAt: number | undefined }> {
    this.calls.push(`abort ${app}`);
    return { writtenAt: Date.now(), confirmedAt: Date.now() };
  }
  async finish(app: string): Promise<void> {
    this.calls.push(`finish ${app}`);
  }
  async sample(): Promise<CanarySample> {
    const n = this.#samples++;
    const counters = (t: { requests: number; errors: number; ms: number }) => {
      const requests = t.requests * n;
      // Every request in the bucket just above its latency.
      const bounds = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, Infinity];
      const le = bounds.find((b) => b * 1000 >= t.ms)!;
      return { requests, errors: t.errors * n, buckets: bounds.map((b): [number, number] => [b, b >= le ? requests : 0]) };
    };
    return { stable: counters(this.traffic.stable), canary: counters(this.traffic.canary) };
  }
}
