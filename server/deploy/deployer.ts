import type { Volume, DeployableRelease, QuotaPlan, DataService } from '../model.ts';
import type { ProcessIo } from '../kube/process-io.ts';
import type { ExecOutput } from '../kube/exec-io.ts';
import type { DataCommand, StreamCommand } from './data.ts';
import type { Transcript } from '../output/transcript.ts';
import type { NodeSummary } from './nodes.ts';
import type { CronRun } from '../shapes/cron.ts';
import type { HostCert } from '../shapes/domains.ts';
import type { AllowedDrainAddress, CollectorDrain, CollectorSettings } from '../kube/collector.ts';
import type { InstanceEvent } from './instance-events.ts';

/** A scheduled task as the cluster has it. */
export interface CronState {
  id: string;
  suspended: boolean;
  /** When its CronJob last started a Job by its schedule. */
  lastScheduled: string | null;
  /** Its newest Job, null when it never ran (or that Job is gone). */
  lastRun: CronRun | null;
}

/** A run its CronJob started by its schedule (not cron:run's), with its app and task (the audit's cron-audit round). */
export interface ScheduledRun extends CronRun {
  app: string;
  id: string;
}

/** A volume's claim as the cluster has it (storage:list). */
export interface VolumeState {
  name: string;
  /** Bound, Pending, Lost (the claim's phase), or Terminating. */
  phase: string;
  /** What the bound volume holds (`1Gi`), once bound. */
  capacity?: string;
  /** Its file system's use, as the kubelet of the node that mounts it last measured it. */
  usage?: VolumeUsage;
  /** Why its use is not known although a running pod mounts it (one sentence). */
  usageUnknown?: string;
}

/** A volume's file system as the kubelet measures it (statfs): bytes used, and bytes it holds in all. */
export interface VolumeUsage {
  usedBytes: number;
  capacityBytes: number;
}

/** How a release command ended. */
export interface ReleasePhaseOptions {
  transcript: Transcript;
  signal: AbortSignal;
}

/** One running (or trying to run) instance of a process type, as `ps` shows it. */
export interface InstanceStatus {
  name: string;
  release: number | null;
  /** Running, Pending (why), CrashLoopBackOff (exit code 1), … */
  state: string;
  ready: boolean;
  restarts: number;
  startedAt: string | null;
}

/** What runs for one process type. */
export interface ProcessStatus {
  type: string;
  desired: number;
  ready: number;
  instances: InstanceStatus[];
  /**
   * Set on the web instances of an earlier release kept warm outside the traffic: which release
   * they run and until when (ISO time) they stay. A rollback to it only moves the traffic.
   */
  warm?: { release: number; until: string };
}

/** A warm set of web instances somewhere in the cluster (the warm-window sweep looks for expired ones). */
export interface WarmSet {
  app: string;
  /** The release its instances run. */
  release: number;
  /** ISO time its window ends. */
  until: string;
}

/** What one pod uses now, as the cluster's metrics API (metrics.k8s.io) measured it. */
export interface PodUsage {
  name: string;
  /** Its process type. */
  process: string;
  /** CPU over the metrics window, in thousandths of a core. */
  cpuMillicores: number;
  /** Working set, in bytes. */
  memoryBytes: number;
}

/** Which log lines `logs` wants. */
export interface LogRequest {
  /** Only this process type. */
  process?: string;
  /** Only this pod (a `run:detached` pod's name). */
  pod?: string;
  /** How many recent lines first (per app, merged by time). */
  lines: number;
  /** Keep streaming new lines (and new instances) until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
}

/** What `run` asks for. */
export interface RunRequest {
  /** The command and its arguments, run through the image's launcher. */
  command: readonly string[];
  /** Longest the pod may run, in seconds. */
  timeoutSeconds: number;
}

/** One process type's Deployment as the cluster has it. */
export interface Workload {
  /** The Deployment's name (the process type as a DNS label). */
  process: string;
  /** The release its pod template runs; null when it carries none. */
  release: number | null;
  replicas: number;
}

/** One app's processes and certificates as apps:list shows them, from listings across the cluster. */
export interface AppRuntime {
  /** Ready instances, over all its process types. */
  running: number;
  /** Instances its Deployments ask for. */
  desired: number;
  /** Hosts whose ACME certificate is issued (its Certificate is Ready). */
  issuedHosts: string[];
}

/** How a drain of one node went: pods evicted, left alone (why), and not evicted (why). */
export interface DrainResult {
  node: string;
  /** `namespace/name` of each pod evicted and gone from the node. */
  evicted: string[];
  /** Pods a drain leaves where they are: DaemonSet, static and ended pods, and without --force pods no controller owns. */
  skipped: { pod: string; reason: string }[];
  /** Pods that could not be evicted before the deadline (a budget still refused, or they did not stop). */
  failed: { pod: string; reason: string }[];
}

/** What a deployer on a cluster of nodes can do with those nodes (admins: nodes, nodes:drain, nodes:uncordon). */
export interface ClusterNodes {
  /** Every node with what runs on it. */
  nodes(): Promise<NodeSummary[]>;
  /**
   * Cordons the node, then evicts its pods through the Eviction API (PodDisruptionBudgets hold it
   * back; refused evictions are asked again until `timeoutMs` has passed) and waits until they are
   * gone, saying each step on `transcript`. The node stays cordoned whatever happens.
   */
  drain(node: string, opts: { force: boolean; timeoutMs: number; transcript: Transcript; signal: AbortSignal }): Promise<DrainResult>;
  /** Lets new pods be scheduled on the node again. */
  uncordon(node: string): Promise<void>;
}

/** Rolls releases out, puts them back at start-up, restarts and removes what an app runs. */
export interface Rollouts {
  /**
   * Applies the release and waits until it serves; throws (after restoring `previous`) if not.
   * With `beside` (a canary), once the new set of web instances is ready beside the serving one
   * and before the traffic moves to it, `beside` runs with the serving release: if it throws, the
   * new set goes and the previous release is put back, as when the switch fails.
   */
  deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal; beside?: (serving: number) => Promise<void> }): Promise<void>;
  /**
   * Applies `release` again without waiting for its rollout, or removes every process of the app
   * when there is none: how a server starting after a crash puts back what the database says runs.
   */
  restore(app: string, release: DeployableRelease | undefined): Promise<void>;
  /** Replaces the instances of one process type (or all) with fresh ones, without a new release. */
  restart(app: string, opts: { process?: string; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /** Removes everything the app runs. */
  destroy(app: string): Promise<void>;
  /** The app's Deployments as the cluster has them (start-up compares them with the database). */
  workloads(app: string): Promise<Workload[]>;
  /**
   * Applies the app's quota and container defaults to its namespace, when it has one (false when
   * not), without touching what runs: pods admitted before keep running, new ones are admitted
   * under the new bounds. (A preview follows its parent's quota so.)
   */
  applyQuota(app: string, plan: QuotaPlan): Promise<boolean>;
}

/** The sets of web instances kept warm beside the serving one after a deploy, for an instant rollback. */
export interface WarmInstances {
  /** Every app's warm sets, from one list across the cluster. */
  warmSets(): Promise<WarmSet[]>;
  /** Stops the app's warm sets whose window ended by `now` (ms), or all with `all`; returns how many. The caller holds the app's lock. */
  dropWarm(app: string, opts: { now: number; all?: boolean }): Promise<number>;
}

/** Pods that run one command: a release's `release` process, `run` and `run:detached`. */
export interface OneOffPods {
  /**
   * Runs the release's `release` process once, in its own pod with the release's image and
   * config, streaming its output; throws a UserError (exit code, last lines) if it fails.
   */
  releasePhase(release: DeployableRelease, opts: ReleasePhaseOptions): Promise<void>;
  /**
   * Runs a one-off command in a new pod of the release (its image and config), attached to `io`;
   * resolves with the command's exit code. The pod is removed when the command ends or `signal`
   * aborts (the client went away).
   */
  run(release: DeployableRelease, req: RunRequest & { io: ProcessIo; signal: AbortSignal }): Promise<number>;
  /** Starts a one-off command in a new pod of the release in the background; resolves with the pod's name. */
  runDetached(release: DeployableRelease, req: RunRequest): Promise<string>;
  /** Deletes the interactive one-off and release pods whose waiting process is gone (`alive` says); returns how many. */
  sweepPods(alive: (owner: string) => boolean): Promise<number>;
}

/** The app's log lines. */
export interface LogSource {
  /**
   * Writes the app's log lines (`TIME app[PROCESS.ID]: text`) as they come; the next line waits
   * until the promise `write` returns resolves (the reader keeps up), and the stream with it.
   */
  logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void>;
}

/** The certificates of an app's hosts, and the HTTPS routing that follows them. */
export interface TlsCertificates {
  /** The certificate of each host of the release (none where it has no TLS). */
  certificates(release: DeployableRelease): Promise<HostCert[]>;
  /** Applies the Ingresses again if a certificate arrived or left since (the redirect follows); true if it did. */
  refreshTls(release: DeployableRelease): Promise<boolean>;
}

/** Scheduled tasks as the cluster runs them. */
export interface CronJobs {
  /** The app's scheduled tasks as the cluster has them (suspension, newest run). */
  cronStatus(app: string): Promise<CronState[]>;
  /** Starts a scheduled task now, as a Job made from its CronJob; resolves with the Job's name. */
  runCron(app: string, id: string): Promise<string>;
  /** Every app's runs started by their schedules, as the Jobs their CronJobs keep (one list of the cluster). */
  scheduledRuns(): Promise<ScheduledRun[]>;
}

/** An app's volume claims. */
export interface VolumeClaims {
  /** Makes a volume's claim in the app's namespace (the namespace too, before a first deploy). */
  applyVolume(app: string, volume: Volume): Promise<void>;
  /** Deletes a volume's claim, and with it (reclaim policy Delete) its data; false when there was none. */
  removeVolume(app: string, name: string): Promise<boolean>;
  /** The app's volume claims as the cluster has them. */
  volumeStates(app: string): Promise<VolumeState[]>;
}

/** What a database's namespace must have before its pod: the app's guards (DeployableRelease's parts). */
export type DataGuards = Pick<DeployableRelease, 'app' | 'quota' | 'egress'>;

/** A database as the cluster has it (addons, addons:info). */
export interface DataState {
  name: string;
  ready: boolean;
  /** Running, Pending (why), CrashLoopBackOff (exit code 1), no pod, … */
  state: string;
  restarts: number;
  startedAt: string | null;
  /** The phase of its data and backup claims (Bound, Pending, absent). */
  volumes: { data: string; backup: string };
  /** The image its set runs, as Slipway named it when it applied the set (null: unknown). */
  image: string | null;
}

/** An app's databases (Postgres, Valkey). */
export interface DataServices {
  /**
   * Applies the app's guards (the namespace first when there is none), then the database's
   * objects, and waits until it accepts connections; throws one sentence when it does not start
   * by `timeoutMs` or is stuck for good (the objects stay: the caller removes them).
   */
  apply(d: DataService, guards: DataGuards, opts: { transcript: Transcript; signal: AbortSignal; timeoutMs: number }): Promise<void>;
  /** Deletes the database's set, Service, Secret and both volumes (its data goes with them). */
  remove(app: string, name: string): Promise<void>;
  /** The app's databases as the cluster has them. */
  states(app: string): Promise<DataState[]>;
  /**
   * Runs the database's own client (psql, valkey-cli) in its pod as the app's user, attached to
   * `io` (with a PTY when it has a terminal); resolves with the client's exit code.
   */
  console(d: Pick<DataService, 'app' | 'name' | 'kind'>, io: ProcessIo, signal: AbortSignal): Promise<number>;
  /**
   * Runs one of the image's own commands in the database's pod (a backup, the list of backups,
   * the heartbeat); its output lines go to `onLine` as they come, and what it printed on standard
   * output is returned with its exit code.
   */
  command(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: DataCommand, opts: { signal: AbortSignal; onLine?: (line: string) => void }): Promise<ExecOutput>;
  /**
   * A restore drill: starts a scratch copy of the database restoring from its own backup volume
   * (`d.restore`), waits until it accepts connections, runs `checks` in it in order (each
   * command's result is returned as it ended), and deletes it whatever happened. Throws one
   * sentence when the copy does not start by `timeoutMs`.
   */
  drill(d: DataService, checks: readonly DataCommand[], opts: { signal: AbortSignal; timeoutMs: number }): Promise<{ readyMs: number; results: ExecOutput[] }>;
  /**
   * A scratch copy as a drill starts one (from `d.restore`, never the live database), in which one
   * of the image's byte-stream commands runs attached to `io` (a dump to `io.stdout`: a preview's
   * copy of its parent's latest backup); deleted whatever happened. Resolves with the command's
   * exit code and how long the copy took to start; throws one sentence when it does not start.
   */
  fromBackup(d: DataService, command: StreamCommand, io: ProcessIo, opts: { signal: AbortSignal; timeoutMs: number }): Promise<{ readyMs: number; code: number }>;
  /**
   * Deletes the scratch copies (a drill's, a fork's) of the app's databases that a server which
   * stopped midway left running; their names. The start-up reconcile calls it before any job runs.
   */
  sweepScratch(app: string): Promise<string[]>;
  /**
   * Runs one of the image's byte-stream commands in the database's pod (a dump to `io.stdout`, an
   * import from `io.stdin`), paced by `io`'s reader; resolves with its exit code.
   */
  stream(d: Pick<DataService, 'app' | 'name' | 'kind'>, command: StreamCommand, io: ProcessIo, signal: AbortSignal): Promise<number>;
  /** Applies the database's Secret alone (new credentials for its next start); its pod is not restarted. */
  secret(d: DataService): Promise<void>;
}

/** What runs now and what it uses. */
export interface RuntimeStatus {
  /** What runs now, per process type. */
  status(app: string): Promise<ProcessStatus[]>;
  /**
   * Every app's processes (and with `certificates`, its issued ACME hosts), by app name, from one
   * list across the cluster per kind, whatever the number of apps (apps:list); apps running
   * nothing are absent. With `cachedOnly`, an UnavailableError rather than a list from the API
   * while the watch cache has not listed the cluster (a metrics scrape asks the API nothing).
   */
  overview(opts: { certificates: boolean; cachedOnly?: boolean }): Promise<Map<string, AppRuntime>>;
  /**
   * CPU and memory of each instance of the app's process types (per type, web first; a type
   * whose pods have not been measured yet has none), from metrics.k8s.io; an UnavailableError
   * when the cluster has no metrics API or it does not answer.
   */
  usage(app: string): Promise<{ type: string; pods: PodUsage[] }[]>;
}

/** An autoscaler as the cluster has it (ps): its bounds, the instances it found and wants, and each metric's average use now against its target. */
export interface AutoscalerState {
  /** The process type it counts the instances of. */
  type: string;
  min: number;
  max: number;
  /** The Deployment it counts. */
  target: string;
  current: number;
  desired: number;
  /** Per metric (`cpu` in cores, `memory` in bytes): the average use per instance now (unknown before the first reading) and the target. */
  metrics: { resource: string; current?: number; target: number }[];
  /** Why it cannot scale now (no metrics yet, …), when it says so. */
  why?: string;
}

/** The autoscalers of autoscaled process types (ps:autoscale); they are release objects, applied and pruned with the rest. */
export interface Autoscalers {
  /** The app's autoscalers as the cluster has them. */
  states(app: string): Promise<AutoscalerState[]>;
}

/** One collector pod as drains:info reads it: its node, whether it is ready, its metrics (Prometheus text) and recent log lines, or why they could not be read. */
export interface CollectorPod {
  pod: string;
  node: string | undefined;
  ready: boolean;
  metrics: string | undefined;
  log: string | undefined;
  error: string | undefined;
}

/** The log collector of the drains (issue 39): one per node, configured from the drains. */
export interface LogCollector {
  /** Runs the collector with these drains (none: it is removed); a change rolls its pods. */
  /** `allowed`: addresses inside the cluster's networks that admins' drains point at (the collector's egress policy lets it reach them). */
  apply(drains: readonly CollectorDrain[], settings: CollectorSettings, allowed?: readonly AllowedDrainAddress[]): Promise<void>;
  /** Each collector pod, with its metrics and recent log lines; none when it does not run. */
  pods(): Promise<CollectorPod[]>;
  /** Calls `listener` with each crash and failed health check of an app's instance as the cluster reports it; returns the function that stops it. */
  instanceEvents(listener: (e: InstanceEvent) => void): () => void;
}

/** Where the ingress reaches Slipway's waker (SLIPWAY_WAKER_ADDRESS, SLIPWAY_WAKER_PORT). */
export interface WakerAddress {
  address: string;
  port: number;
}

/** Where a woken app's web instances take requests: a ready instance's address and port. */
export interface WebTarget {
  address: string;
  port: number;
}

/** An app's web set at zero while no request comes, and back on the first one (ps:sleep, issue 40). */
export interface SleepWake {
  /**
   * Points the app's web Service at the waker as well (an EndpointSlice of its own), then stops
   * its serving web set (0 instances; the formation is kept). False when it has no web set, or its formation runs no web instance.
   */
  sleep(release: DeployableRelease, waker: WakerAddress): Promise<boolean>;
  /**
   * Starts the serving web set again at the release's count and resolves once an instance is
   * ready, with where it takes requests; then the Service no longer points at the waker. Throws
   * one sentence when none is ready by `timeoutMs`.
   */
  wake(release: DeployableRelease, opts: { timeoutMs: number; signal: AbortSignal }): Promise<WebTarget[]>;
  /** Whether the app's web Service points at the waker now. */
  pointsAtWaker(app: string): Promise<boolean>;
  /** Whether the app's serving web set has ready instances now. */
  serving(app: string): Promise<boolean>;
}

/**
 * Runs releases on a cluster, one capability per port: an operation takes the one it uses
 * (`deployer.oneOff.run(…)`), and a test fakes only that one.
 */
export interface Deployer {
  readonly name: string;
  readonly rollout: Rollouts;
  readonly warm: WarmInstances;
  readonly oneOff: OneOffPods;
  readonly logSource: LogSource;
  readonly tls: TlsCertificates;
  readonly cron: CronJobs;
  readonly volumes: VolumeClaims;
  readonly data: DataServices;
  readonly runtime: RuntimeStatus;
  /** The cluster's nodes (admins: nodes, nodes:drain, nodes:uncordon). */
  readonly nodes: ClusterNodes;
  /** The autoscalers of autoscaled process types (ps). */
  readonly autoscale: Autoscalers;
  /** The log collector of the drains; unset, drains are refused (a deployer without one). */
  readonly collector?: LogCollector;
  /** Web sets that sleep at zero and wake on a request; unset, ps:sleep is refused. */
  readonly sleep?: SleepWake;
  /** Splits an app's requests between two sets of web instances (canary releases); unset, canaries are refused. */
  readonly canary?: CanarySplit;
  /** Stops what runs in the background (watches); the server is stopping. */
  close?(): void;
}

/**
 * A canary's split of an app's requests between the serving set of web instances and a new
 * release's set beside it (issue 40): a share of the requests, sticky by a cookie, and the
 * ingress's own counters of each set.
 */
export interface CanarySplit {
  /** Sends `weight` % of the app's requests to release `canary`'s set and the rest to the serving set; resolves once the ingress routes so. */
  start(run: DeployableRelease, canary: number, weight: number): Promise<void>;
  /** Changes the canary's share; resolves once the ingress routes so. */
  weigh(app: string, weight: number): Promise<void>;
  /** Every request back to the serving set, in one write (the split's route goes); resolves with when the write was answered and when the ingress confirmed it (ms since the epoch; undefined when it cannot say). */
  abort(app: string): Promise<{ writtenAt: number; confirmedAt: number | undefined }>;
  /** Removes what is left of the split (after a promotion the web Service serves the canary's set). */
  finish(app: string): Promise<void>;
  /** The ingress's counters of each set now; a sentence (UserError) when the ingress cannot be read. */
  sample(app: string): Promise<CanarySample>;
}

/** Cumulative counters of one set of web instances as the ingress has them. */
export interface SetCounters {
  /** Requests answered. */
  requests: number;
  /** Of which with a 5xx status. */
  errors: number;
  /** The latency histogram: upper bound in seconds (Infinity last) → requests at or under it. */
  buckets: [number, number][];
}

/** Counters of both sets at one moment. */
export interface CanarySample {
  stable: SetCounters;
  canary: SetCounters;
}
