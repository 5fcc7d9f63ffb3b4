import type { Readable } from 'node:stream';
import type { ProcessType } from '../build/builder.ts';
import type { Transcript } from '../output/transcript.ts';
import type { ContainerDefaults } from '../config.ts';
import type { NodeSummary } from './nodes.ts';

/** What a release serves over TLS; absent on a release, Slipway leaves TLS alone (no email set, nothing uploaded). */
export interface TlsPlan {
  /** The ClusterIssuer of automatic certificates; undefined when they are off for the app. */
  issuer: string | undefined;
  /** Uploaded certificates by host (these hosts get no ACME certificate). */
  uploaded: readonly { host: string; certPem: string; keyPem: string }[];
}

/** Which probe a health check becomes: Kubernetes' startup, liveness or readiness probe. */
export type CheckType = 'startup' | 'liveness' | 'readiness';

/** An HTTP health check of a process type (app.json `healthchecks`, Dokku's shape, or checks:set). */
export interface HealthCheck {
  type: CheckType;
  /** HTTP path probed with GET; 2xx and 3xx pass. */
  path: string;
  /** Container port; default the process's PORT. */
  port?: number;
  /** Seconds after the container starts before the first probe. */
  initialDelay?: number;
  /** Seconds one probe may take. */
  timeout?: number;
  /** Failed probes in a row before the check counts as failed. */
  attempts?: number;
  /** Seconds between probes. */
  wait?: number;
  /**
   * Text the response body must contain (Dokku's `content`). Kubernetes probes look at the status
   * only, so the deployer checks this itself on each new instance during the rollout.
   */
  content?: string;
}

/** Health checks by process type. */
export type HealthChecks = Readonly<Record<string, readonly HealthCheck[]>>;

/** Kubernetes quantities for one container (`512Mi`, `500m`). */
export interface ResourceQuantities {
  memory?: string;
  cpu?: string;
}

/** Limits (resource:limit) and requests (resource:reserve) of one process type. */
export interface ProcessResources {
  limits?: ResourceQuantities;
  requests?: ResourceQuantities;
}

/** An exception to an app's network isolation (egress:allow): its pods may reach `cidr`, on `port` only when given. */
export interface EgressRule {
  cidr: string;
  port?: number | undefined;
}

/** What a scheduled task does when its previous run is still going (app.json `concurrency_policy`, Dokku's words). */
export type ConcurrencyPolicy = 'allow' | 'forbid' | 'replace';

/** A scheduled task (app.json `cron`, Dokku's shape): a command run through the launcher on a schedule. */
export interface CronTask {
  /** Stable while the command and schedule stay the same (cron-spec.ts derives it). */
  id: string;
  /** Run as the launcher runs a Procfile command (a process type's name runs that process). */
  command: string;
  /** Five cron fields or a macro (`@daily`), in UTC. */
  schedule: string;
  concurrencyPolicy: ConcurrencyPolicy;
  /** app.json `maintenance: true`: declared but not scheduled. */
  maintenance?: boolean;
}

/** A scheduled task as the deployer applies it: suspended by cron:suspend or by app.json `maintenance`. */
export interface ScheduledTask extends CronTask {
  suspended: boolean;
}

/** How the newest run of a scheduled task went, from the Jobs its CronJob made. */
export interface CronRun {
  /** The Job's name (its pods' logs are under `logs APP -p cron`). */
  job: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: 'succeeded' | 'failed' | 'running';
  /** Why it failed, in Kubernetes' words (DeadlineExceeded, BackoffLimitExceeded…). */
  reason?: string;
}

/** A scheduled task as the cluster has it. */
export interface CronState {
  id: string;
  suspended: boolean;
  /** When its CronJob last started a Job by its schedule. */
  lastScheduled: string | null;
  /** Its newest Job, null when it never ran (or that Job is gone). */
  lastRun: CronRun | null;
}

/** The namespace's quota: pods, and the sums of the containers' memory and CPU limits. */
export interface AppQuota {
  pods: number;
  memory: string;
  cpu: string;
}

/** Everything that bounds one app: its quota, its one-off pods at once, and the container defaults. */
export interface QuotaPlan {
  quota: AppQuota;
  /** Its volumes: how many claims, and their sizes together (the namespace's quota counts both). */
  storage?: { volumes: number; size: string };
  /** `run` / `run:detached` pods at once. */
  runs: number;
  container: ContainerDefaults;
}

/** An app's persistent volume: a ReadWriteOnce PersistentVolumeClaim of `size` in its namespace. */
export interface Volume {
  name: string;
  /** A storage quantity (`1Gi`). */
  size: string;
  /** The StorageClass to claim from; absent: the cluster's default (k3s: local-path). */
  storageClass?: string | undefined;
}

/** A volume mounted into a process type's containers at an absolute path. */
export interface VolumeMount {
  volume: string;
  path: string;
}

/** A volume's claim as the cluster has it (storage:list). */
export interface VolumeState {
  name: string;
  /** Bound, Pending, Lost (the claim's phase), or Terminating. */
  phase: string;
  /** What the bound volume holds (`1Gi`), once bound. */
  capacity?: string;
}

/** A release as the deployer sees it: what to run, with which config, how many of each. */
export interface DeployableRelease {
  app: string;
  version: number;
  /**
   * The release whose instances run this one (their Deployment, pods and config Secret are named
   * after it): a rollback's target, so a target still warm only takes the traffic back. Absent:
   * `version`.
   */
  runsAs?: number | undefined;
  /**
   * Seconds the web instances this deploy takes the traffic from stay up beside it, warm, for an
   * instant rollback (ps:warm, SLIPWAY_WARM_ROLLBACK); 0 or absent: they drain and stop.
   */
  warmSeconds?: number | undefined;
  /** The commit the image was built from (SOURCE_VERSION), when known. */
  commit?: string | null;
  /** Image pinned by digest. */
  image: string;
  processes: ProcessType[];
  /** App config (secret values). Never logged, never in argv, never in annotations. */
  config: Readonly<Record<string, string>>;
  /** Desired replicas per process type; a type absent here runs 1 for `web`, 0 otherwise. */
  formation: Readonly<Record<string, number>>;
  /** Host names the web process answers on, the default one first. */
  domains: string[];
  /** What is served over HTTPS; absent, Slipway manages no TLS (no ACME email, nothing uploaded). */
  tls?: TlsPlan;
  /** Limits and requests by process type, already resolved from the app's defaults; `run` is what one-off pods get. */
  resources?: Readonly<Record<string, ProcessResources>>;
  /** HTTP health checks by process type; a web process without a readiness check gets a TCP one. */
  checks?: HealthChecks;
  /** The app's quota, one-off pod limit and container defaults; absent, the namespace is left unbounded (tests of other objects). */
  quota?: QuotaPlan;
  /** Addresses the app's pods may reach besides the internet (egress:allow). */
  egress?: readonly EgressRule[];
  /** Scheduled tasks (app.json `cron`), applied as CronJobs once the release's rollout succeeded. */
  cron?: readonly ScheduledTask[];
  /** Every volume of the app: its claims are made before any pod. */
  volumes?: readonly Volume[];
  /**
   * Volume mounts by process type (app settings, not release contents: a rollback keeps today's);
   * `run` and `release` hold what one-off and release pods mount.
   */
  mounts?: Readonly<Record<string, readonly VolumeMount[]>>;
}

/** A host's certificate as `certs` shows it. */
export interface HostCert {
  host: string;
  state: 'issued' | 'pending' | 'failed' | 'none';
  /** issued: the issuer's name and the expiry; pending: what it waits for; failed: why (one sentence). */
  issuer?: string;
  notAfter?: string;
  detail?: string;
  source?: 'acme' | 'uploaded';
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

/** A terminal's size in character cells. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The terminal of a one-off run with a PTY: its size now, and later changes. */
export interface Terminal extends TerminalSize {
  onResize(listener: (size: TerminalSize) => void): void;
}

/**
 * The raw byte streams a one-off command talks to. Output is paced by its reader: each write
 * resolves once the reader can take more (at once while it keeps up), and the command's stream
 * is held until then, so a client that does not read stops the command instead of filling the
 * server's memory. A write never rejects: a reader that went away is the abort signal's business.
 */
export interface ProcessIo {
  /** Its standard input; the command sees end of file when this ends. */
  stdin: Readable;
  stdout(chunk: Buffer): Promise<void>;
  stderr(chunk: Buffer): Promise<void>;
  /** Present when the caller has a terminal: the command gets a PTY of this size. */
  terminal?: Terminal;
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

/** Runs releases on a cluster. */
export interface Deployer {
  readonly name: string;
  /** Applies the release and waits until it serves; throws (after restoring `previous`) if not. */
  deploy(release: DeployableRelease, opts: { previous?: DeployableRelease; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /**
   * Runs the release's `release` process once, in its own pod with the release's image and
   * config, streaming its output; throws a UserError (exit code, last lines) if it fails.
   */
  releasePhase(release: DeployableRelease, opts: ReleasePhaseOptions): Promise<void>;
  /** Removes everything the app runs. */
  destroy(app: string): Promise<void>;
  /** Every app's warm sets, from one list across the cluster. */
  warmSets(): Promise<WarmSet[]>;
  /** Stops the app's warm sets whose window ended by `now` (ms), or all with `all`; returns how many. The caller holds the app's lock. */
  dropWarm(app: string, opts: { now: number; all?: boolean }): Promise<number>;
  /** What runs now, per process type. */
  status(app: string): Promise<ProcessStatus[]>;
  /**
   * Every app's processes (and with `certificates`, its issued ACME hosts), by app name, from one
   * list across the cluster per kind, whatever the number of apps (apps:list); apps running
   * nothing are absent.
   */
  overview(opts: { certificates: boolean }): Promise<Map<string, AppRuntime>>;
  /**
   * CPU and memory of each instance of the app's process types (per type, web first; a type
   * whose pods have not been measured yet has none), from metrics.k8s.io; an UnavailableError
   * when the cluster has no metrics API or it does not answer.
   */
  usage(app: string): Promise<{ type: string; pods: PodUsage[] }[]>;
  /** Replaces the instances of one process type (or all) with fresh ones, without a new release. */
  restart(app: string, opts: { process?: string; transcript: Transcript; signal: AbortSignal }): Promise<void>;
  /**
   * Runs a one-off command in a new pod of the release (its image and config), attached to `io`;
   * resolves with the command's exit code. The pod is removed when the command ends or `signal`
   * aborts (the client went away).
   */
  run(release: DeployableRelease, req: RunRequest & { io: ProcessIo; signal: AbortSignal }): Promise<number>;
  /** Starts a one-off command in a new pod of the release in the background; resolves with the pod's name. */
  runDetached(release: DeployableRelease, req: RunRequest): Promise<string>;
  /**
   * Writes the app's log lines (`TIME app[PROCESS.ID]: text`) as they come; the next line waits
   * until the promise `write` returns resolves (the reader keeps up), and the stream with it.
   */
  logs(app: string, req: LogRequest, write: (line: string) => Promise<void>): Promise<void>;
  /** The certificate of each host of the release (none where it has no TLS). */
  certificates?(release: DeployableRelease): Promise<HostCert[]>;
  /** The app's Deployments as the cluster has them (start-up compares them with the database). */
  workloads(app: string): Promise<Workload[]>;
  /**
   * Applies `release` again without waiting for its rollout, or removes every process of the app
   * when there is none: how a server starting after a crash puts back what the database says runs.
   */
  restore(app: string, release: DeployableRelease | undefined): Promise<void>;
  /** Deletes the interactive one-off and release pods whose waiting process is gone (`alive` says); returns how many. */
  sweepPods(alive: (owner: string) => boolean): Promise<number>;
  /** The app's scheduled tasks as the cluster has them (suspension, newest run). */
  cronStatus(app: string): Promise<CronState[]>;
  /** Starts a scheduled task now, as a Job made from its CronJob; resolves with the Job's name. */
  runCron(app: string, id: string): Promise<string>;
  /** Applies the Ingresses again if a certificate arrived or left since (the redirect follows); true if it did. */
  refreshTls?(release: DeployableRelease): Promise<boolean>;
  /** Makes a volume's claim in the app's namespace (the namespace too, before a first deploy). */
  applyVolume(app: string, volume: Volume): Promise<void>;
  /** Deletes a volume's claim, and with it (reclaim policy Delete) its data; false when there was none. */
  removeVolume(app: string, name: string): Promise<boolean>;
  /** The app's volume claims as the cluster has them. */
  volumeStates(app: string): Promise<VolumeState[]>;
  /** The cluster's nodes, when the deployer manages a cluster of them. */
  readonly cluster?: ClusterNodes;
}
