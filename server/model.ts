// The domain's nouns: what an app's release is made of, as the store keeps it, the operations
// decide it and the engines (build, deploy, cluster builds) carry it out. Types only, importing
// nothing: every layer may import it (test/unit/architecture.test.ts).

/** One process type an image can run, read from the image's buildpack metadata. */
export interface ProcessType {
  type: string;
  /** Command as the image's launcher expects it (CNB: run as `launcher <type>`). */
  command: string[];
  args: string[];
  default: boolean;
}

/** Kubernetes quantities a container gets when it sets none (memory `256Mi`, cpu `500m`). */
export interface ContainerDefaults {
  limits: { memory: string; cpu: string };
  requests: { memory: string; cpu: string };
  /**
   * Its scratch disk (writable layer, logs, emptyDirs): the kubelet evicts a pod past its limit.
   * Every container gets these, whatever else it sets; absent, none (tests of other objects).
   */
  ephemeralStorage?: { limit: string; request: string };
}

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

/** The namespace's quota: pods, and the sums of the containers' memory and CPU limits. */
export interface AppQuota {
  pods: number;
  memory: string;
  cpu: string;
  /** The sum of the containers' ephemeral-storage limits (and of their requests); absent, not counted. */
  ephemeralStorage?: string;
}

/**
 * An autoscaled process type's rule (ps:autoscale): instances from `min` to `max`, added when the
 * average use of its instances goes above a share of their limits.
 */
export interface Autoscale {
  min: number;
  max: number;
  /** Average CPU use to aim at, in percent of each instance's CPU limit. */
  cpu?: number | undefined;
  /** Average memory use to aim at, in percent of each instance's memory limit. */
  memory?: number | undefined;
  /** Seconds of lower load before instances are removed (SLIPWAY_AUTOSCALE_SCALE_DOWN_S). */
  scaleDownSeconds?: number | undefined;
}

/** Everything that bounds one app: its quota, its one-off pods at once, and the container defaults. */
export interface QuotaPlan {
  quota: AppQuota;
  /** Its volumes: how many claims, and their sizes together (the namespace's quota counts both). */
  storage?: { volumes: number; size: string };
  /** `run` / `run:detached` pods at once. */
  runs: number;
  container: ContainerDefaults;
  /** Set on a preview's plan: it is its share of `parent`'s, split between the `previews` previews:limit allows. */
  share?: { parent: string; previews: number };
}

/** The databases Slipway runs for apps. */
export type DataKind = 'postgres' | 'valkey';

/**
 * One database of an app as the deployer runs it: a StatefulSet of one instance of `image` in the
 * app's namespace, a data and a backup volume of `size`, a Service, and a Secret with its
 * credentials and TLS files. Secrets are in `credentials` and `tls`, never logged.
 */
/** Which backups a Postgres database keeps: its newest `fullBackups` full ones, or what restores to any time of the last `days` days need. */
export type BackupRetention = { fullBackups: number } | { days: number };

export interface DataService {
  app: string;
  name: string;
  kind: DataKind;
  image: string;
  size: string;
  storageClass?: string | undefined;
  /** The user, password and database (Postgres) the server is set up with. */
  credentials: { username: string; password: string; database: string };
  /** PEM: the server's key and certificate, and the authority that signed it. */
  tls: { key: string; cert: string; ca: string };
  /** Limits of its one container. */
  resources: { memory: string; cpu: string };
  /** Postgres: the most connections it accepts. */
  maxConnections: number;
  /** Postgres: seconds after which WAL with writes in it is archived (the most writes a lost data volume takes with it). */
  archiveTimeoutS: number;
  /** A preview's: its backups in scratch space that goes with its pod instead of a claim of their own (nothing to restore a preview from). */
  scratchBackups?: boolean | undefined;
  /**
   * Made from another instance's backups (point-in-time restore): that instance's backup claim,
   * mounted read-only while this one's empty data volume is filled from it, and the time to
   * recover to (ISO 8601; `immediate`: the newest backup as it ended; absent: the end of its archive).
   */
  restore?: { fromClaim: string; target?: string | undefined } | undefined;
  /**
   * Postgres: the older major whose cluster this instance's data volume may hold (a restored copy
   * of a database being upgraded); the image upgrades it in place with pg_upgrade before it serves.
   */
  upgradeFrom?: string | undefined;
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
   * The container limits of the app's databases' pods (addons:create), which run beside its
   * processes in its namespace: its quota counts them, so a release is refused before it would not fit.
   */
  databases?: readonly Required<ResourceQuantities>[];
  /** The certificate of the app's databases' authority, mounted in each of its pods; absent when it has no database. */
  dataCa?: string | undefined;
  /**
   * Volume mounts by process type (app settings, not release contents: a rollback keeps today's);
   * `run` and `release` hold what one-off and release pods mount.
   */
  mounts?: Readonly<Record<string, readonly VolumeMount[]>>;
  /**
   * Process types whose instances an autoscaler (a HorizontalPodAutoscaler) counts, between their
   * rule's min and max (ps:autoscale); their `formation` is the min. Stopped types have none.
   */
  autoscale?: Readonly<Record<string, Autoscale>>;
}
