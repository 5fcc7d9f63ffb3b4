import type { BackupRetention, ContainerDefaults } from './model.ts';
import { readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { UserError } from './errors.ts';
import { parseCidr } from './cidr.ts';
import { oidcIssuer, oidcSettings, secretFile, tokenMaxTtl, type OidcSettings } from './oidc-settings.ts';
import { s3Ca, s3Credentials, s3Region, s3Target, s3Url, type S3Target } from './s3-settings.ts';
import { readPrivateFile } from './private-file.ts';

/** Everything Slipway reads from its environment, validated once and frozen. */
export interface Config {
  dataDir: string;
  reposDir: string;
  hooksDir: string;
  runDir: string;
  logsDir: string;
  /** Where pushed trees are unpacked for the build (a fast local file system pays off here). */
  tmpDir: string;
  dbFile: string;
  hostKeyFile: string;
  hookSocket: string;
  sshPort: number;
  httpPort: number;
  bind: string;
  /** Host name or address users reach this server at, for the git remotes we print. */
  publicHost: string;
  adminKeysFile: string | undefined;
  baseDomain: string;
  /** Default builder image for pack (per app overridable). */
  builderImage: string;
  registry: string;
  /** The same registry as the cluster's nodes reach it (SLIPWAY_REGISTRY_PULL; default: registry). */
  registryPull: string;
  /** The same registry as cluster build pods reach it over the pod network (SLIPWAY_BUILD_REGISTRY; default: registryPull). */
  buildRegistry: string;
  /** Registry addresses (`host:port`) that speak plain HTTP besides loopback ones (SLIPWAY_REGISTRY_HTTP). */
  registryHttp: readonly string[];
  /** Where cluster build pods may connect besides DNS and the build registry (SLIPWAY_BUILD_EGRESS). */
  buildEgress: readonly Readonly<BuildEgress>[];
  /** The Docker engine pack builds with (DOCKER_HOST, which pack reads itself; doctor checks it). */
  dockerHost: string;
  /** The pack CLI: a path, or a name looked up on PATH. */
  packBinary: string;
  /** PATH, for finding external programs at start-up. */
  searchPath: string;
  kubeconfig: string | undefined;
  ingressClass: string | undefined;
  /** Traefik's API, to know when a switch of traffic reached the ingress: SLIPWAY_INGRESS_API. */
  ingressApi: string | undefined;
  /** Largest pack git will accept in one push (receive.maxInputSize) and largest HTTP body. */
  maxPushBytes: number;
  buildTimeoutMs: number;
  /** Where builds run (SLIPWAY_BUILD_BACKEND): `pack` on the server's Docker engine, or `cluster`, a build pod per push. */
  buildBackend: 'pack' | 'cluster';
  /** A cluster build pod's CPU and memory (requests = limits): SLIPWAY_BUILD_CPU, SLIPWAY_BUILD_MEMORY. */
  buildCpu: string;
  buildMemory: string;
  /** The size limit of each of a cluster build pod's scratch volumes, /workspace and /layers (SLIPWAY_BUILD_DISK). */
  buildDisk: string;
  /** Cluster builds at once; later pushes wait in line (SLIPWAY_BUILD_CONCURRENCY). */
  buildConcurrency: number;
  /** Cluster builds one key may run at once, so that no key holds every slot (SLIPWAY_BUILD_CONCURRENCY_PER_KEY). */
  buildConcurrencyPerKey: number;
  /** Keep one started build pod waiting for the next push (SLIPWAY_BUILD_SPARE=1), in a free slot only. */
  buildSpare: boolean;
  rolloutTimeoutMs: number;
  /** Longest a release command (Procfile `release:`) may run: SLIPWAY_RELEASE_TIMEOUT_S. */
  releaseTimeoutMs: number;
  /** Longest one run of a scheduled task (app.json `cron`) may take: SLIPWAY_CRON_TIMEOUT_S. */
  cronTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** SSH LoginGraceTime: a connection must authenticate this soon after TCP accept. */
  sshLoginGraceMs: number;
  /** SSH MaxStartups (start:rate:full): random early drop of new unauthenticated connections. */
  sshMaxStartups: Readonly<MaxStartups>;
  /** Open SSH connections (authenticated or not) beyond which new ones are closed at accept. */
  sshMaxConnections: number;
  /** SSH PerSourceMaxStartups: unauthenticated connections one source address may hold; undefined is no limit. */
  sshPerSourceMaxStartups: number | undefined;
  /** SSH PerSourcePenalties: how long a source address is refused after connections that never authenticated; undefined is off. */
  sshPenalties: Readonly<SourcePenalties> | undefined;
  // --- HTTP limits and data paths (issue 8; kept in one block to ease merging). ---
  /** Largest total size of a pushed tree's files (what extracting it writes). */
  maxTreeBytes: number;
  /** Most HTTP connections open at once; more are refused at accept. */
  httpMaxConnections: number;
  /** Most HTTP connections one source address may hold open; more from it are refused at accept. */
  httpMaxConnectionsPerSource: number;
  /** Long-lived API requests (event streams of every kind) one key may hold open, counted together. */
  maxStreamsPerKey: number;
  /** Long-lived API requests one source address may hold open, whatever their keys. */
  maxStreamsPerSource: number;
  /** Node binary that runs the hook client (the one running the server). */
  nodeBinary: string;
  // --- Certificates (issue 12). ---
  /** ACME contact email (SLIPWAY_ACME_EMAIL); set, every app's hosts get certificates unless turned off. */
  acmeEmail: string | undefined;
  /** The cert-manager ClusterIssuer app certificates come from (install.sh makes it). */
  acmeIssuer: string;
  /** How long a push waits for its certificates before announcing the http:// URL. */
  certWaitMs: number;
  /** How often HTTPS routing is brought in line with issued certificates (SLIPWAY_TLS_SYNC_S). */
  tlsSyncMs: number;
  // --- Garbage collection (issue 13, item 6). ---
  /** Images of this many newest releases per app stay in the registry (SLIPWAY_KEEP_RELEASES). */
  keepReleases: number;
  /** How often the whole collection (registry storage, Docker) runs: SLIPWAY_GC_INTERVAL_S; 0 is never. */
  gcIntervalMs: number;
  /** The registry's config.yml, for `garbage-collect` on this machine (SLIPWAY_REGISTRY_GC_CONFIG); unset skips storage GC. */
  registryGcConfig: string | undefined;
  /** The distribution registry binary that runs `garbage-collect` (SLIPWAY_REGISTRY_BINARY). */
  registryBinary: string;
  // --- Quotas and caps (issue 16, items 4 and 8). ---
  /** Per app namespace (its ResourceQuota): pods, and the sums of memory and CPU limits; resource:quota changes them per app. */
  appMaxPods: number;
  appMaxMemory: string;
  appMaxCpu: string;
  /** Limits and requests of a container that sets none (the namespace's LimitRange); its scratch disk's always. */
  containerDefaults: Readonly<ContainerDefaults>;
  /** The sum of an app's containers' scratch disk limits (SLIPWAY_APP_MAX_EPHEMERAL_STORAGE); unset: the container's limit times the app's pods. */
  appMaxEphemeralStorage: string | undefined;
  /** One-off pods (`run`, `run:detached`) an app may have at once. */
  appMaxRuns: number;
  /** Procfile process types an app may have. */
  appMaxProcessTypes: number;
  /** Access tokens one key may have. */
  maxTokensPerKey: number;
  /** Largest build log kept on disk; beyond it the middle is left out (the pusher still sees every line). */
  maxBuildLogBytes: number;
  /** Largest image (its compressed layers, as the registry's manifest lists them) a push may deploy. */
  maxImageBytes: number;
  // --- Registry credential and pack's environment (issue 16, items 1 and 6). ---
  /** The registry's credential (SLIPWAY_REGISTRY_AUTH_FILE): pushes, deletes and reads need it; unset, requests go without. */
  registryAuth: Readonly<RegistryAuth> | undefined;
  /** The server's own environment variables pack may see (an allow-list); nothing of an app's config is ever added. */
  packEnv: Readonly<Record<string, string>>;
  // --- Network isolation of app namespaces (issue 16, item 3). ---
  /** The cluster's addresses app pods are kept out of, and where the ingress controller's traffic comes from. */
  network: Readonly<ClusterNetwork>;
  // --- Output backpressure (issue 16, item 2). ---
  /** How long a client may leave its output unread before its session is closed (SLIPWAY_STALL_TIMEOUT_S). */
  stallTimeoutMs: number;
  // --- HTTP API (issue 17). ---
  /** Origins whose browser pages may call the API (SLIPWAY_API_CORS_ORIGINS); empty: CORS off. */
  apiCorsOrigins: readonly string[];
  /** Peers (CIDRs) whose X-Forwarded-For names the client, for webhook throttling (SLIPWAY_TRUSTED_PROXIES; default none). */
  trustedProxies: readonly string[];
  /** The built dashboard (index.html, assets/, manifest.json from `npm run build:web`): SLIPWAY_WEB_DIR. */
  webDir: string;
  /** How long an API request may take to send its (small) body before it is cut off (SLIPWAY_API_BODY_TIMEOUT_S). */
  apiBodyTimeoutMs: number;
  // --- Persistent storage (issue 18, section 3). ---
  /** Largest volume storage:create makes (SLIPWAY_STORAGE_MAX_SIZE), a storage quantity like `10Gi`. */
  storageMaxSize: string;
  /** Volumes per app (SLIPWAY_APP_MAX_VOLUMES; its namespace's quota counts its claims). */
  appMaxVolumes: number;
  /** The sum of an app's volume sizes (SLIPWAY_APP_MAX_STORAGE; its namespace's `requests.storage`). */
  appMaxStorage: string;
  /** The StorageClass volumes are claimed from (SLIPWAY_STORAGE_CLASS); unset: the cluster's default. */
  storageClass: string | undefined;
  // --- Databases for apps (issue 37). ---
  /** The Postgres image nodes pull (SLIPWAY_POSTGRES_IMAGE; images/postgres); unset: addons:create postgres is refused. */
  postgresImage: string | undefined;
  /** The Postgres 18 image with 17's programs (SLIPWAY_POSTGRES18_IMAGE; images/postgres18); unset: pg:upgrade --to 18 is refused. */
  postgres18Image: string | undefined;
  /** The Valkey image nodes pull (SLIPWAY_VALKEY_IMAGE; images/valkey); unset: addons:create valkey is refused. */
  valkeyImage: string | undefined;
  /** Databases per app (SLIPWAY_APP_MAX_DATABASES). */
  appMaxDatabases: number;
  /** Memory and CPU limit of a database's container (SLIPWAY_DATABASE_MEMORY, SLIPWAY_DATABASE_CPU), inside the app's quota. */
  databaseMemory: string;
  databaseCpu: string;
  /** Connections a database accepts: Postgres's max_connections, Valkey's maxclients (SLIPWAY_DATABASE_MAX_CONNECTIONS). */
  databaseMaxConnections: number;
  /** Which backups each Postgres database keeps (SLIPWAY_DATABASE_BACKUP_RETENTION): a count of full backups, or an age in days. */
  databaseBackupRetention: BackupRetention;
  /** Seconds after which a Postgres database's WAL is archived even when its segment is not full (SLIPWAY_DATABASE_ARCHIVE_TIMEOUT_S). */
  databaseArchiveTimeoutS: number;
  /** How often each Postgres database gets a full backup and a restore drill (SLIPWAY_DATABASE_BACKUP_INTERVAL_S), in ms. */
  databaseBackupIntervalMs: number;
  /** Largest pg_dump archive pg:backups:restore takes (SLIPWAY_DATABASE_IMPORT_MAX_BYTES), in bytes; the new database's size bounds it too. */
  databaseImportMaxBytes: number;
  // --- Dashboard sessions (issue 19). ---
  /** Where users open the dashboard (SLIPWAY_DASHBOARD_URL, no trailing slash); unset: http://HOST:HTTP_PORT (urls.ts). */
  dashboardUrl: string | undefined;
  /** How long a dashboard session lasts without a request (SLIPWAY_SESSION_IDLE_MINUTES). */
  sessionIdleMs: number;
  /** How long a one-time link from dashboard:login may be used, once (SLIPWAY_LOGIN_LINK_TTL_S). */
  loginLinkTtlMs: number;
  // --- Metrics (issue 19). ---
  /** How often a followed metrics stream (GET /apps/APP/metrics?follow=1) sends (SLIPWAY_METRICS_INTERVAL_S). */
  metricsIntervalMs: number;
  // --- Instant rollback (issue 20). ---
  /** How long the web instances a deploy takes the traffic from stay warm, in seconds (SLIPWAY_WARM_ROLLBACK; 0: off); ps:warm per app. */
  warmRollbackSeconds: number;
  // --- Nodes (issue 21). ---
  /** k3s's node token on this server, which nodes:join-command prints (SLIPWAY_K3S_TOKEN_FILE). */
  k3sTokenFile: string;
  /** Longest a drain waits for evictions a PodDisruptionBudget refuses, and for evicted pods to stop (SLIPWAY_DRAIN_TIMEOUT_S). */
  drainTimeoutMs: number;
  // --- Slipway's own backups (issue 38). ---
  /** The age recipient (`age1…`) backups are encrypted to (SLIPWAY_BACKUP_KEY); unset, backup:create is refused. */
  backupRecipient: string | undefined;
  /** Where backup archives are written (SLIPWAY_BACKUP_DIR; default DATA_DIR/backups). */
  backupDir: string;
  /** Verified backups kept (SLIPWAY_BACKUP_KEEP). */
  backupKeep: number;
  /** Backups older than this are deleted after a verified one, the newest verified kept always (SLIPWAY_BACKUP_MAX_AGE_DAYS), in ms. */
  backupMaxAgeMs: number;
  /** How often the backup round writes one (SLIPWAY_BACKUP_INTERVAL_S); 0: only backup:create. */
  backupIntervalMs: number;
  /** doctor fails when the newest verified backup is older than this (SLIPWAY_BACKUP_STALE_H), in ms. */
  backupStaleMs: number;
  /** Where each verified backup is copied too (SLIPWAY_BACKUP_S3_URL, _REGION, _CREDENTIALS, _CA); undefined: nowhere. */
  backupS3: Readonly<S3Target> | undefined;
  // --- Platform metrics (issue 39). ---
  /** Addresses (CIDRs) that may read GET /metrics without a token (SLIPWAY_METRICS_ALLOW; default none). */
  metricsAllow: readonly string[];
  /** The OTLP/HTTP endpoint push traces are sent to (SLIPWAY_OTLP_TRACES_URL); unset, none are made. */
  otlpTracesUrl: string | undefined;
  // --- Secrets at rest (issue 38). ---
  /** Keys from SLIPWAY_STORE_KEY (base64 of 32 bytes each; the first seals), instead of the key folder's; undefined: the folder's. */
  storeKeys: readonly string[] | undefined;
  /** The store's key folder, DATA_DIR/keys (0700; store-KEYID.key files, 0600). */
  storeKeyDir: string;
  version: string;
  // --- Upgrades in place (issue 38). ---
  /** Where the store is copied before a migration (DATA_DIR/upgrades): beside the store, never in SLIPWAY_BACKUP_DIR, which holds only encrypted archives. */
  storeCopiesDir: string;
  /** While this file exists (DATA_DIR/upgrading, written by install.sh --upgrade), pushes and changes are refused; reads go on. */
  maintenanceFile: string;
  // --- Audit log (issue 39). ---
  /** Audit entries older than this are pruned (SLIPWAY_AUDIT_RETENTION_DAYS, default 400). */
  auditRetentionMs: number;
  // --- Log drains (issue 39). ---
  /** The log collector's image (SLIPWAY_COLLECTOR_IMAGE; images/collector); unset: drains:add is refused. */
  collectorImage: string | undefined;
  /** The nodes' pod log folders the collector reads (SLIPWAY_COLLECTOR_POD_LOGS), absolute paths. */
  collectorPodLogs: readonly string[];
  /** Where the collector keeps its read positions on each node (SLIPWAY_COLLECTOR_STATE_DIR). */
  collectorStateDir: string;
  /** Where the server writes its events for the drains (`app[slipway]` lines, audit entries), a folder of this node the collector reads (SLIPWAY_COLLECTOR_EVENTS_DIR). */
  collectorEventsDir: string;
  // --- Tokens and sign-in (issue 41). ---
  /** The longest lifetime an access token may have, and the one it gets without --ttl (SLIPWAY_TOKEN_MAX_TTL); undefined: tokens may last for ever. */
  tokenMaxTtlMs: number | undefined;
  /** The OpenID Connect provider the dashboard offers sign-in with (SLIPWAY_OIDC_*); undefined: none. */
  oidc: Readonly<OidcSettings> | undefined;
  // --- Apps that sleep at zero (issue 40). ---
  /** How long a preview goes without a request before its web set sleeps, in seconds (SLIPWAY_PREVIEW_SLEEP_AFTER; 0: never); ps:sleep per app. */
  previewSleepSeconds: number;
  /** The address the ingress reaches the waker at (SLIPWAY_WAKER_ADDRESS); unset: ps:sleep is refused. */
  wakerAddress: string | undefined;
  /** The waker's port (SLIPWAY_WAKER_PORT; 0: any free port). */
  wakerPort: number;
  /** Requests the waker holds at once, over every app (SLIPWAY_WAKER_MAX_HELD). */
  wakerMaxHeld: number;
  /** Longest the waker holds one request while its app wakes (SLIPWAY_WAKER_HOLD_S). */
  wakerHoldMs: number;
  /** How often the sleep round reads the ingress's request counts (SLIPWAY_SLEEP_ROUND_S). */
  sleepRoundMs: number;
  /** How often scheduled runs that ended are recorded in the audit log (SLIPWAY_CRON_AUDIT_S). */
  cronAuditMs: number;
  // --- Autoscaling (issue 40). ---
  /** Seconds an autoscaler waits on lower load before it removes instances (SLIPWAY_AUTOSCALE_SCALE_DOWN_S; its scale-down stabilization window). */
  autoscaleScaleDownSeconds: number;
}

/**
 * One destination build pods may reach, on one TCP port or on any port: a CIDR, or `internet`
 * (every address but the cluster's pods and Services, the nodes and the metadata ranges).
 */
export interface BuildEgress {
  cidr: string | 'internet';
  port?: number;
}

/** SLIPWAY_BUILD_EGRESS's default: the internet over HTTP and HTTPS, where builders download. */
export const DEFAULT_BUILD_EGRESS = 'internet:80,internet:443';

/** A user name and password for the registry's basic authentication. */
export interface RegistryAuth {
  username: string;
  password: string;
}


/** Where the ingress controller's traffic to app pods comes from. */
export type IngressSource =
  /** Pods (k3s: Traefik in kube-system): selected by their namespace's name and their labels. */
  | { kind: 'pods'; namespace: string; labels: Readonly<Record<string, string>> }
  /** A process on the nodes themselves (a host-network ingress): the node addresses. */
  | { kind: 'node' };

/** The cluster's own address ranges, which app pods may not reach (NetworkPolicy egress), and the ingress. */
export interface ClusterNetwork {
  /** Pod address ranges (SLIPWAY_POD_CIDR; k3s's default 10.42.0.0/16). */
  podCidrs: readonly string[];
  /** Service (ClusterIP) ranges (SLIPWAY_SERVICE_CIDR; k3s's default 10.43.0.0/16). */
  serviceCidrs: readonly string[];
  /** The nodes' own addresses as /32 or /128 (SLIPWAY_NODE_ADDRESSES; default: this machine's). */
  nodeAddresses: readonly string[];
  /** SLIPWAY_INGRESS_FROM. */
  ingress: Readonly<IngressSource>;
  /** SLIPWAY_WAKER_ADDRESS: the waker passes a woken app's held requests on from there, to its web port. */
  waker?: string | undefined;
}

/** OpenSSH's MaxStartups: from `start` unauthenticated connections on, drop new ones with a probability rising from `rate`% to 100% at `full`. */
export interface MaxStartups {
  start: number;
  rate: number;
  full: number;
}

/**
 * OpenSSH's PerSourcePenalties: each connection that ends unauthenticated adds time to its source
 * address's penalty (capped at `maxMs`); once at least `minMs` has accrued, the address is
 * refused at accept until the penalty runs out.
 */
export interface SourcePenalties {
  /** Ended after one or more failed authentication attempts. */
  authfailMs: number;
  /** Ended without attempting authentication. */
  noauthMs: number;
  /** Did not authenticate within the login grace time. */
  graceExceededMs: number;
  minMs: number;
  maxMs: number;
}

/** sshd's defaults (OpenSSH 9.8+, grace-exceeded as in 10.x). */
const PENALTY_DEFAULTS: SourcePenalties = { authfailMs: 5_000, noauthMs: 1_000, graceExceededMs: 10_000, minMs: 15_000, maxMs: 600_000 };

type Env = Readonly<Record<string, string | undefined>>;

/** The version `version` prints (and the Kubernetes client's User-Agent): package.json's, so there is one place to bump it. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** One environment variable the server reads: its row in docs/configuration.md and its parser, in one place. */
export interface Setting<T = unknown> {
  name: string;
  /** What an unset (or empty) variable means, in Markdown, as docs/configuration.md shows it. */
  default: string;
  /** One line for docs/configuration.md. */
  doc: string;
  /** The typed value, from the variable or its default; throws a UserError naming the variable. */
  read(env: Env): T;
}

/** A setting whose default is a value like any the user may give: `parse` always gets a string. */
function setting<T>(name: string, fallback: string, parse: (raw: string, name: string) => T, doc: string): Setting<T> {
  return { name, default: `\`${fallback}\``, doc, read: (env) => parse(env[name] || fallback, name) };
}

/** A setting whose default is computed or absent (`shown` says which): `parse` gets undefined when it is unset or empty. */
function optional<T>(name: string, shown: string, parse: (raw: string | undefined, name: string) => T, doc: string): Setting<T> {
  return { name, default: shown, doc, read: (env) => parse(env[name] || undefined, name) };
}

const text = (raw: string): string => raw;
const orUnset = (raw: string | undefined): string | undefined => raw;

function port(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${name} must be a port number (0-65535), got "${raw}".`);
  return n;
}

function positive(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${name} must be a positive number, got "${raw}".`);
  return n;
}

/** A positive number of seconds, as milliseconds. */
const seconds = (raw: string, name: string): number => positive(raw, name) * 1000;
/** A positive number of MB, as bytes. */
const megabytes = (raw: string, name: string): number => positive(raw, name) * 1024 * 1024;

function count(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${name} must be a whole number of at least 1, got "${raw}".`);
  return n;
}

/** A Postgres backup retention: a count of full backups (1-99) or an age in days (`14d`, 1-9999). */
function backupRetention(raw: string, name: string): BackupRetention {
  const m = /^([1-9]\d{0,3})d$/.exec(raw);
  if (m) return { days: Number(m[1]) };
  if (/^[1-9]\d?$/.test(raw)) return { fullBackups: Number(raw) };
  throw new UserError(`${name} must be a number of full backups from 1 to 99 (\`2\`) or an age in days (\`14d\`), got "${raw}".`);
}

function zeroOrOne(raw: string, name: string): boolean {
  if (raw !== '0' && raw !== '1') throw new UserError(`${name} must be 0 or 1, got "${raw}".`);
  return raw === '1';
}

function buildBackend(raw: string, name: string): 'pack' | 'cluster' {
  if (raw !== 'pack' && raw !== 'cluster') throw new UserError(`${name} must be "pack" or "cluster", got "${raw}".`);
  return raw;
}

/** The autoscalers' scale-down window: whole seconds from 0 to 3600 (an HPA takes at most an hour). */
function autoscaleWindow(raw: string, name: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 3600) throw new UserError(`${name} must be a whole number of seconds from 0 to 3600, got "${raw}".`);
  return n;
}

/** A whole number of at least 1, or `none` (no limit, as in sshd_config). */
function countOrNone(raw: string, name: string): number | undefined {
  return raw === 'none' ? undefined : count(raw, name);
}

/** A whole number of at least 1, or undefined when unset (its default is computed from another setting). */
function countOrUnset(raw: string | undefined, name: string): number | undefined {
  return raw === undefined ? undefined : count(raw, name);
}

/**
 * The per-source HTTP caps, defaults filled in: a quarter of the connections per source, half of
 * those for streams, so a source at its caps leaves the rest of the slots to everyone else and
 * still has connections of its own for git.
 */
function perSourceCaps(total: number, connections: number | undefined, streams: number | undefined): { httpMaxConnectionsPerSource: number; maxStreamsPerSource: number } {
  const perSource = connections ?? Math.max(1, Math.ceil(total / 4));
  if (perSource > total) throw new UserError(`SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE (${perSource}) must not be above SLIPWAY_HTTP_MAX_CONNECTIONS (${total}).`);
  const perSourceStreams = streams ?? Math.max(1, Math.floor(perSource / 2));
  if (perSourceStreams > perSource) throw new UserError(`SLIPWAY_MAX_STREAMS_PER_SOURCE (${perSourceStreams}) must not be above SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE (${perSource}).`);
  return { httpMaxConnectionsPerSource: perSource, maxStreamsPerSource: perSourceStreams };
}

/** SLIPWAY_BUILD_CONCURRENCY_PER_KEY: as set (at most SLIPWAY_BUILD_CONCURRENCY), else every slot but one (at least 1). */
function perKeyBuilds(total: number, perKey: number | undefined): number {
  const n = perKey ?? Math.max(1, total - 1);
  if (n > total) throw new UserError(`SLIPWAY_BUILD_CONCURRENCY_PER_KEY (${n}) must not be above SLIPWAY_BUILD_CONCURRENCY (${total}).`);
  return n;
}

/** An age X25519 or hybrid recipient as age prints it. */
const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{20,}$/;

/**
 * SLIPWAY_BACKUP_KEY: the public recipient `age1…`, or a file holding it (one line; `#` comments
 * allowed). A secret key (`AGE-SECRET-KEY-…`) is refused: the server only ever encrypts, so it
 * never needs it, and without it a stolen server cannot decrypt the backups it wrote.
 */
function backupRecipient(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  let text = raw.trim();
  if (!text.startsWith('age1')) {
    const path = resolve(raw);
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UserError(`${name} must be an age recipient (age1…) or a file holding one; ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
    }
    if (/AGE-SECRET-KEY-/i.test(text)) throw new UserError(`${name} ${path} holds the secret key: give the server only its public recipient (the age1… line backup:keygen printed), and keep the key file off the server.`);
    text = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join('\n');
  }
  if (!AGE_RECIPIENT.test(text)) throw new UserError(`${name} must be an age recipient like age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (printed by slipway backup:keygen FILE), or a file holding one, got "${text.slice(0, 80)}".`);
  return text;
}

/**
 * SLIPWAY_STORE_KEY: comma-separated keys of 32 bytes in base64 (the first seals new values, the
 * others only open), or a file holding them (one a line, `#` comments), as a secret manager gives them.
 */
function storeKeys(raw: string | undefined, name: string): readonly string[] | undefined {
  if (!raw) return undefined;
  let text = raw;
  if (raw.startsWith('/') || raw.startsWith('.')) {
    try {
      text = readFileSync(resolve(raw), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join(',');
    } catch (err) {
      throw new UserError(`${name} must be keys in base64 or a file holding them; ${resolve(raw)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
    }
  }
  const keys = text.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of keys) {
    if (Buffer.from(k, 'base64').length !== 32 || Buffer.from(k, 'base64').toString('base64') !== k) throw new UserError(`${name} must be one or more comma-separated keys of 32 bytes in base64 (\`openssl rand -base64 32\`), or a file holding them.`);
  }
  if (!keys.length) throw new UserError(`${name} holds no key: give one or more keys of 32 bytes in base64, or unset it to use the key folder DATA_DIR/keys.`);
  return Object.freeze(keys);
}

/** A whole number of seconds, 0 allowed (meaning off), as milliseconds. */
function secondsOrOff(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${name} must be a whole number of seconds (0 turns it off), got "${raw}".`);
  return n * 1000;
}

function maxStartups(raw: string, name: string): MaxStartups {
  // As in sshd_config, one number N means N:100:N: a hard cap with no random drop before it.
  const parts = (/^\d+$/.test(raw) ? `${raw}:100:${raw}` : raw).split(':').map(Number);
  const [start = NaN, rate = NaN, full = NaN] = parts;
  if (parts.length !== 3 || !parts.every(Number.isInteger) || start < 1 || full < start || rate < 0 || rate > 100) {
    throw new UserError(`${name} must be start:rate:full like OpenSSH's MaxStartups (e.g. 10:30:100), got "${raw}".`);
  }
  return Object.freeze({ start, rate, full });
}

/** A duration as people type it: whole seconds (`90`) or a number with `s`, `m` or `h` (`90s`, `10m`, `2h`); in seconds, undefined when it is no such thing. */
export function durationSeconds(raw: string): number | undefined {
  const m = /^(\d{1,7})([smh]?)$/.exec(raw);
  return m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600 }[m[2]!]! : undefined;
}

/** `off`, or sshd-style `KEY:DURATION` words (durations in s, m or h; bare numbers are seconds); keys not given keep sshd's defaults. */
function penalties(given: string | undefined, name: string): SourcePenalties | undefined {
  const raw = (given ?? '').trim();
  if (raw === 'off' || raw === 'no') return undefined;
  const keys: Record<string, keyof SourcePenalties> = { authfail: 'authfailMs', noauth: 'noauthMs', 'grace-exceeded': 'graceExceededMs', min: 'minMs', max: 'maxMs' };
  const out = { ...PENALTY_DEFAULTS };
  for (const word of raw === '' || raw === 'yes' ? [] : raw.split(/[\s,]+/)) {
    const m = /^([a-z-]+):(.*)$/.exec(word);
    const key = m && Object.hasOwn(keys, m[1]!) ? keys[m[1]!] : undefined;
    const seconds = m ? durationSeconds(m[2]!) : undefined;
    if (!key || seconds === undefined) throw new UserError(`${name} must be "off" or words like authfail:5s noauth:1s grace-exceeded:10s min:15s max:10m, got "${raw}".`);
    out[key] = seconds * 1000;
  }
  if (out.maxMs < out.minMs) throw new UserError(`${name}: max must not be below min, got "${raw}".`);
  return Object.freeze(out);
}

/** The longest warm window (a typo guard: a warm set costs a second set of web instances for as long as it lasts). */
export const MAX_WARM_SECONDS = 24 * 3600;

/**
 * A warm window as an admin types it: whole seconds (`300`) or a number with a unit (`90s`, `5m`,
 * `1h`), at most MAX_WARM_SECONDS; `0` is off. In seconds, or undefined when it is no such thing.
 */
export function parseWarmWindow(raw: string): number | undefined {
  const seconds = durationSeconds(raw.trim());
  return seconds !== undefined && seconds <= MAX_WARM_SECONDS ? seconds : undefined;
}

/** A warm window in the shortest of the units parseWarmWindow reads (`90s`, `5m`, `1h`); `off` for 0. */
export function formatWarmWindow(seconds: number): string {
  if (seconds === 0) return 'off';
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Longest idle time ps:sleep takes: 30 days. */
export const MAX_SLEEP_SECONDS = 30 * 86_400;

/**
 * An idle time as an admin types it (ps:sleep --after, SLIPWAY_PREVIEW_SLEEP_AFTER): whole seconds
 * or `90s`, `30m`, `2h`, `1d`, at most MAX_SLEEP_SECONDS; `0` is off. Undefined when it is no such thing.
 */
export function parseSleepAfter(raw: string): number | undefined {
  const t = raw.trim();
  const d = /^(\d{1,3})d$/.exec(t);
  const seconds = d ? Number(d[1]) * 86_400 : durationSeconds(t);
  return seconds !== undefined && seconds <= MAX_SLEEP_SECONDS ? seconds : undefined;
}

/** SLIPWAY_PREVIEW_SLEEP_AFTER: parseSleepAfter's forms, one sentence otherwise. */
function sleepAfter(raw: string, name: string): number {
  const seconds = parseSleepAfter(raw);
  if (seconds === undefined) throw new UserError(`${name} must be seconds (1800) or a duration like 90s, 30m, 2h or 1d, at most 30d (0 turns sleeping off), got "${raw}".`);
  return seconds;
}

/** SLIPWAY_WAKER_ADDRESS: one IP address (not loopback: an EndpointSlice cannot hold one); unset or empty is none. */
function wakerAddress(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  const v = raw.trim();
  if (!isIP(v) || /^127\./.test(v) || v === '::1') throw new UserError(`${name} must be an IP address of this machine that the ingress reaches (not a loopback one), got "${raw}".`);
  return v;
}

/** SLIPWAY_WARM_ROLLBACK: parseWarmWindow's forms, one sentence otherwise. */
function warmWindow(raw: string, name: string): number {
  const seconds = parseWarmWindow(raw);
  if (seconds === undefined) throw new UserError(`${name} must be seconds (300) or a duration like 90s, 5m or 1h, at most 24h (0 turns warm rollback off), got "${raw}".`);
  return seconds;
}

/** SLIPWAY_ACME_EMAIL: unset or empty is off; otherwise one plain address. */
function acmeEmail(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  if (!/^[^\s@]+@[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(raw)) throw new UserError(`${name} must be an email address, got "${raw}".`);
  return raw;
}

/**
 * A Kubernetes memory (`512Mi`, `2Gi`) or CPU (`2`, `0.5`, `500m`) quantity setting, in the plain
 * forms only (kube/quantity.ts reads every form; config sits below kube/ and cannot use it).
 */
function quantity(kind: 'memory' | 'cpu'): (raw: string, name: string) => string {
  return (raw, name) => {
    const ok = kind === 'memory' ? /^[1-9][0-9]*(Mi|Gi)$/.test(raw) : /^([1-9][0-9]*m|[0-9]+(\.[0-9]+)?)$/.test(raw) && raw !== '0';
    if (!ok) throw new UserError(kind === 'memory' ? `${name} must be a memory size like 512Mi or 2Gi, got "${raw}".` : `${name} must be a CPU amount like 2, 0.5 or 500m, got "${raw}".`);
    return raw;
  };
}

/** A storage size setting: a whole number of Mi, Gi or Ti (`10Gi`). */
function storageSize(raw: string, name: string): string {
  if (!/^[1-9][0-9]{0,5}(Mi|Gi|Ti)$/.test(raw)) throw new UserError(`${name} must be a storage size like 512Mi, 10Gi or 1Ti, got "${raw}".`);
  return raw;
}

/** The bytes of a storage size setting (storageSize's forms). */
function storageBytes(size: string): number {
  const unit = { Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[size.slice(-2) as 'Mi' | 'Gi' | 'Ti'];
  return Number(size.slice(0, -2)) * unit;
}

/** A container's scratch disk defaults: the request may not be above the limit (the API server would refuse every pod). */
function ephemeralDefaults(limit: string, request: string): { limit: string; request: string } {
  if (storageBytes(request) > storageBytes(limit)) {
    throw new UserError(`SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST (${request}) may not be above SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT (${limit}).`);
  }
  return { limit, request };
}

/** SLIPWAY_STORAGE_CLASS: unset is the cluster's default class; otherwise a StorageClass name (a DNS subdomain). */
function storageClass(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  if (raw.length > 253 || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(raw)) throw new UserError(`${name} must be a StorageClass name (lowercase letters, digits, - and .), got "${raw}".`);
  return raw;
}

/** A Kubernetes object name setting (a DNS-1123 label). */
function dnsLabel(raw: string, name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(raw)) throw new UserError(`${name} must be a Kubernetes name (lowercase letters, digits, -), got "${raw}".`);
  return raw;
}

/** SLIPWAY_BASE_DOMAIN: a DNS name, lowercased; by default the host's address under sslip.io. */
function baseDomain(raw: string | undefined, name: string): string {
  const domain = (raw || `${hostAddress()}.sslip.io`).toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) throw new UserError(`${name} must be a DNS name, got "${domain}".`);
  return domain;
}

/** This machine's addresses on its network interfaces, loopback left out (an IPv6 zone, `%eth0`, dropped). */
export function interfaceAddresses(): { address: string; family: string }[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.internal).map((a) => ({ address: a.address.replace(/%.*$/, ''), family: a.family })));
}

/** The host's first non-internal IPv4 address, for the default sslip.io base domain. */
function hostAddress(): string {
  return interfaceAddresses().find((a) => a.family === 'IPv4')?.address ?? '127.0.0.1';
}

/**
 * SLIPWAY_REGISTRY_AUTH_FILE: one line `USER:PASSWORD`, readable by its owner only (install.sh
 * writes it 0600). Unset or empty: no credential.
 */
function registryAuth(given: string | undefined, name: string): Readonly<RegistryAuth> | undefined {
  if (!given) return undefined;
  // The password opens every app's images: a file others may read is refused, not used.
  const { path, content } = readPrivateFile(given, name);
  const m = /^([^:\s]+):([^\r\n]+)\r?\n?$/.exec(content);
  if (!m) throw new UserError(`${name} ${path} must hold one line USER:PASSWORD.`);
  return Object.freeze({ username: m[1]!, password: m[2]! });
}

/**
 * The server's own variables pack runs with: what pack, its Docker client and Go need, as the
 * admin set them. Anything else (above all an app's config vars) never reaches pack's process:
 * DOCKER_HOST, DOCKER_CONFIG and the like would point it elsewhere. DOCKER_HOST and DOCKER_CONFIG
 * are added by the builder itself.
 */
export const PACK_ENV = [
  'PATH', 'HOME', 'TMPDIR', 'PACK_HOME', 'PACK_VOLUME_KEY',
  'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_API_VERSION',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR',
] as const;

function packEnv(env: Env): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of PACK_ENV) {
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return Object.freeze(out);
}

/** One CIDR setting value (or a bare address), normalised; a UserError naming the setting otherwise. */
function cidr(name: string, raw: string): string {
  try {
    return parseCidr(raw);
  } catch (err) {
    throw new UserError(`${name} must be a comma-separated list of addresses or CIDRs: ${(err as Error).message}.`, { cause: err });
  }
}

/** A comma-separated list of addresses or CIDRs, normalised and frozen; `fallback` when unset or blank. */
function cidrList(fallback: () => string[]): (raw: string | undefined, name: string) => readonly string[] {
  return (raw, name) => Object.freeze(raw === undefined || raw.trim() === ''
    ? fallback()
    : [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => cidr(name, s)))]);
}

/**
 * This machine's own addresses, every family, as /32 and /128: in install.sh's layout the server
 * runs on the k3s server node, and anything bound to 0.0.0.0 here (SSH, HTTP, the registry, the
 * kubelet) answers on each of them, the Docker and CNI bridges' included.
 */
function localAddresses(): string[] {
  return [...new Set(interfaceAddresses().map((a) => cidr('SLIPWAY_NODE_ADDRESSES', a.address)))];
}

/** SLIPWAY_INGRESS_FROM: `node`, or `NAMESPACE/KEY=VALUE[,KEY=VALUE…]` (pods with those labels in that namespace). */
function ingressSource(raw: string, name: string): Readonly<IngressSource> {
  if (raw === 'node') return Object.freeze({ kind: 'node' });
  const bad = () => new UserError(`${name} must be "node" or NAMESPACE/KEY=VALUE[,KEY=VALUE] (like kube-system/app.kubernetes.io/name=traefik), got "${raw}".`);
  const slash = raw.indexOf('/');
  if (slash < 0) throw bad();
  const namespace = raw.slice(0, slash);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace)) throw bad();
  const labels: Record<string, string> = {};
  for (const pair of raw.slice(slash + 1).split(',')) {
    const m = /^((?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.exec(pair);
    if (!m) throw bad();
    labels[m[1]!] = m[4] ?? '';
  }
  return Object.freeze({ kind: 'pods', namespace, labels });
}

/** Absolute paths, comma-separated (no `..`, no spaces): host folders a pod mounts. */
function absolutePaths(raw: string, name: string): readonly string[] {
  const paths = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bad = paths.find((p) => !/^\/[A-Za-z0-9._/-]*$/.test(p) || p.split('/').includes('..'));
  if (paths.length === 0 || bad !== undefined) throw new UserError(`${name} must be absolute paths separated by commas, like /var/log/pods, got "${raw}".`);
  return Object.freeze(paths.map((p) => p.replace(/(.)\/+$/, '$1')));
}

/** An image reference (`registry:5000/slipway/postgres:17-abc`), or undefined when unset or blank. */
function optionalImage(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^[a-z0-9][a-z0-9._:/@-]{0,254}$/i.test(raw)) throw new UserError(`${name} must be an image reference like registry.example.com/slipway/postgres:17, got "${raw}".`);
  return raw;
}

/** SLIPWAY_API_CORS_ORIGINS: comma-separated origins (`https://dash.example.com`); unset or empty is none. */
function corsOrigins(raw: string | undefined, name: string): readonly string[] {
  const list = (raw ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of list) {
    // An origin is scheme://host[:port] exactly, as browsers send it; `*` would let any page use a token.
    if (!/^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/i.test(o)) throw new UserError(`${name} must be a comma-separated list of origins like https://dash.example.com, got "${o}".`);
  }
  return Object.freeze(list.map((o) => o.toLowerCase()));
}

/** SLIPWAY_INGRESS_API: an http(s) address, or a service or pod proxy path on the cluster's API server. */
function ingressApi(raw: string | undefined, name: string): string | undefined {
  const bad = (cause?: unknown) => new UserError(`${name} must be an http:// address or an API server proxy path like /api/v1/namespaces/kube-system/services/slipway-traefik-api:9000/proxy, got "${raw}".`, { cause });
  if (!raw?.startsWith('/')) {
    try {
      return httpUrl(raw, name);
    } catch (err) {
      throw bad(err);
    }
  }
  if (!/^\/api\/v1\/namespaces\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(services|pods)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[a-z0-9-]+)?\/proxy$/.test(raw)) {
    throw bad();
  }
  return raw;
}

/** An http(s) address without query or fragment (SLIPWAY_DASHBOARD_URL, SLIPWAY_INGRESS_API); kept without its trailing slash. */
function httpUrl(raw: string | undefined, name: string): string | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // Not a URL at all: the sentence below says what is wanted.
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username || url.password) {
    throw new UserError(`${name} must be an http:// or https:// address like https://slipway.example.com, got "${raw}".`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A registry address as image names start with it: `host` or `host:port` (a DNS name, IPv4, or [IPv6]); the sentence names the setting otherwise. */
function registryAddress(raw: string, name: string, needPort: boolean): string {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/i.exec(raw);
  const portOk = m?.[3] === undefined ? !needPort : Number(m[3]) >= 1 && Number(m[3]) <= 65535;
  if (!m || !portOk) throw new UserError(`${name} must be ${needPort ? 'HOST:PORT addresses' : 'a registry address like registry.example.com or 10.0.0.5:5000'} (a host name, IPv4 address or [IPv6] address${needPort ? ', then : and a port' : ''}), got "${raw}".`);
  return raw.toLowerCase();
}

/** SLIPWAY_BUILD_REGISTRY: unset is SLIPWAY_REGISTRY_PULL (filled in by loadConfig). */
function optionalRegistry(raw: string | undefined, name: string): string | undefined {
  return raw ? registryAddress(raw.trim(), name, false) : undefined;
}

/** SLIPWAY_REGISTRY_HTTP: comma-separated `host:port` registry addresses; unset or empty is none. */
function registryList(raw: string | undefined, name: string): readonly string[] {
  const list = (raw ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  return Object.freeze([...new Set(list.map((a) => registryAddress(a, name, true)))]);
}

/**
 * SLIPWAY_BUILD_EGRESS: comma-separated `CIDR` (any port) or `CIDR:PORT` (that TCP port), an
 * address standing for its /32 or /128, or `internet` / `internet:PORT`; `none` is none. An IPv6
 * entry with a port is written `fd00::/64:443` (the prefix length tells where the address ends).
 */
export function parseBuildEgress(raw: string | undefined, name = 'SLIPWAY_BUILD_EGRESS'): readonly Readonly<BuildEgress>[] {
  const out: Readonly<BuildEgress>[] = [];
  const entries = (raw ?? DEFAULT_BUILD_EGRESS).split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 1 && entries[0] === 'none') return Object.freeze(out);
  for (const entry of entries) {
    const internet = /^internet(?::(.*))?$/.exec(entry);
    if (internet) {
      const p = internet[1];
      if (p !== undefined && !(/^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535)) throw new UserError(`${name} must be a comma-separated list of CIDR, CIDR:PORT, internet or internet:PORT, got "${entry}": the port must be 1-65535.`);
      out.push(Object.freeze(p === undefined ? { cidr: 'internet' } : { cidr: 'internet', port: Number(p) }));
      continue;
    }
    // A port follows a prefix length (`/N:PORT`) or an IPv4 address (`A.B.C.D:PORT`).
    const m = /^(.*\/\d{1,3}|\d+\.\d+\.\d+\.\d+):([^:/]*)$/.exec(entry);
    const port = m ? Number(m[2]) : undefined;
    if (m && !(/^\d{1,5}$/.test(m[2]!) && port! >= 1 && port! <= 65535)) throw new UserError(`${name} must be a comma-separated list of CIDR or CIDR:PORT (like 10.0.0.0/8 or 203.0.113.9/32:443), got "${entry}": the port must be 1-65535.`);
    let cidr: string;
    try {
      cidr = parseCidr(m ? m[1]! : entry);
    } catch (err) {
      throw new UserError(`${name} must be a comma-separated list of CIDR or CIDR:PORT (like 10.0.0.0/8 or 203.0.113.9/32:443): ${(err as Error).message}.`, { cause: err });
    }
    out.push(Object.freeze(port === undefined ? { cidr } : { cidr, port }));
  }
  return Object.freeze(out);
}

/**
 * Every environment variable the server reads, one row each: docs/configuration.md is generated
 * from this table (`npm run docs`). A key that is a field of Config lands there as read; the few
 * others are assembled in loadConfig. To add a setting: one row here, one field in Config.
 */
const SETTINGS = {
  dataDir: setting('SLIPWAY_DATA_DIR', './data', (raw) => resolve(raw), 'Database (`slipway.db`, 0600), repositories, host key, build logs.'),
  tmpDir: optional('SLIPWAY_TMP_DIR', '`DATA_DIR/tmp`', (raw) => (raw ? resolve(raw) : undefined), "Where a pushed tree is written for its build (removed after; a crash's leftovers are removed at start-up)."),
  sshPort: setting('SLIPWAY_SSH_PORT', '2222', port, 'SSH port (git and commands).'),
  httpPort: setting('SLIPWAY_HTTP_PORT', '8080', port, 'HTTP port (git over HTTP, and the API under /api/v1).'),
  bind: setting('SLIPWAY_BIND', '0.0.0.0', text, 'Listen address of both ports.'),
  publicHost: optional('SLIPWAY_HOST', 'first non-loopback IPv4', (raw) => raw || hostAddress(), 'Host name printed in git remotes.'),
  adminKeysFile: optional('SLIPWAY_ADMIN_KEYS', '—', orUnset, 'An authorized_keys file whose keys become admins at start-up (idempotent).'),
  baseDomain: optional('SLIPWAY_BASE_DOMAIN', '`<host IPv4>.sslip.io`', baseDomain, 'Apps answer at `http://APP.BASE_DOMAIN`.'),
  sshLoginGraceMs: setting('SLIPWAY_SSH_LOGIN_GRACE_S', '60', seconds, 'An SSH connection must authenticate this soon after TCP accept, or it is closed.'),
  // One source holds at most 64 unauthenticated connections, so a global random drop that
  // starts at 128 is never set off by a single source: its burst (a CI runner's 50 clones) and
  // everyone else get in, while many flooding sources are still dropped as sshd would.
  sshMaxStartups: setting('SLIPWAY_SSH_MAX_STARTUPS', '128:30:256', maxStartups, "sshd's MaxStartups (`start:rate:full`) for connections not yet authenticated, from all sources together."),
  sshPerSourceMaxStartups: setting('SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS', '64', countOrNone, "sshd's PerSourceMaxStartups: connections not yet authenticated from one address; `none` for no limit."),
  sshPenalties: optional('SLIPWAY_SSH_PER_SOURCE_PENALTIES', "sshd's defaults", penalties, "sshd's PerSourcePenalties: `off`, or words like `authfail:5s noauth:1s grace-exceeded:10s min:15s max:10m` (the ones not given keep their default)."),
  sshMaxConnections: setting('SLIPWAY_SSH_MAX_CONNECTIONS', '500', count, 'Open SSH connections, authenticated or not, beyond which new ones are closed at accept.'),
  httpMaxConnections: setting('SLIPWAY_HTTP_MAX_CONNECTIONS', '256', (raw, name) => Math.floor(positive(raw, name)), 'Most HTTP connections open at once; more are refused at accept.'),
  httpMaxConnectionsPerSource: optional('SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE', 'a quarter of `SLIPWAY_HTTP_MAX_CONNECTIONS` (64)', countOrUnset, 'HTTP connections one source address may hold open; more from it are closed at accept, so one address cannot take the slots everyone else needs. At most `SLIPWAY_HTTP_MAX_CONNECTIONS`; behind a proxy, the proxy is one address.'),
  maxStreamsPerKey: setting('SLIPWAY_MAX_STREAMS_PER_KEY', '20', count, 'Long-lived API requests one key (all its tokens and dashboard sessions) may hold open, every kind counted together: `/events`, followed logs, job transcripts and metrics streams; one more is answered 429.'),
  maxStreamsPerSource: optional('SLIPWAY_MAX_STREAMS_PER_SOURCE', 'half of `SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE` (32)', countOrUnset, 'Long-lived API requests (as above) one source address may hold open, whatever keys it uses; one more is answered 429. It may not be above `SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE`; kept below it (as by default), a source holding its streams still has connections of its own left for git.'),
  httpRequestTimeoutMs: setting('SLIPWAY_HTTP_TIMEOUT_S', '3600', seconds, 'Longest HTTP request, in seconds (a push lasts as long as its build).'),
  stallTimeoutMs: setting('SLIPWAY_STALL_TIMEOUT_S', '120', seconds, "How long a client may leave its output unread (an SSH command, a push's transcript) before its session is closed."),
  maxPushBytes: setting('SLIPWAY_MAX_PUSH_MB', '1024', megabytes, "Largest push (git's `receive.maxInputSize`) and largest HTTP body, in MB."),
  maxTreeBytes: setting('SLIPWAY_MAX_TREE_MB', '2048', megabytes, "Largest total size of the files in a pushed commit, in MB."),
  builderImage: setting('SLIPWAY_BUILDER', 'heroku/builder:24', text, 'Default CNB builder image (`builder:set` changes it at run time).'),
  packBinary: setting('SLIPWAY_PACK', 'pack', text, 'The pack CLI: a path, or a name looked up on `PATH`.'),
  dockerHost: setting('DOCKER_HOST', 'unix:///var/run/docker.sock', text, 'The Docker engine pack builds with (doctor checks it).'),
  searchPath: optional('PATH', '—', (raw) => raw ?? '', 'Where external programs (git, pack, the registry binary) are looked up.'),
  buildTimeoutMs: setting('SLIPWAY_BUILD_TIMEOUT_S', '900', seconds, 'Build deadline, in seconds.'),
  buildBackend: setting('SLIPWAY_BUILD_BACKEND', 'pack', buildBackend, 'Where builds run: `pack` (the Docker engine at DOCKER_HOST) or `cluster` (a pod per build in the namespace `slipway-builds`, exporting straight to the registry; no Docker engine or pack needed here).'),
  buildCpu: setting('SLIPWAY_BUILD_CPU', '1', quantity('cpu'), 'CPU of a cluster build pod (its request and limit).'),
  buildMemory: setting('SLIPWAY_BUILD_MEMORY', '2Gi', quantity('memory'), 'Memory of a cluster build pod (its request and limit); a build that needs more fails with OOMKilled.'),
  buildConcurrency: setting('SLIPWAY_BUILD_CONCURRENCY', '2', count, 'Cluster builds at once; later pushes wait in line, taken in turn across keys (round-robin), and say their place.'),
  buildConcurrencyPerKey: optional('SLIPWAY_BUILD_CONCURRENCY_PER_KEY', 'one less than `SLIPWAY_BUILD_CONCURRENCY` (at least 1)', countOrUnset, "Cluster builds one key may run at once (the key a build runs as: its pusher, or the key that connected a sync), so one key's pushes cannot hold every build slot while another key's wait; its next build waits, saying so, even while a slot is free. At most `SLIPWAY_BUILD_CONCURRENCY`; set it equal to let one key take every slot."),
  buildDisk: setting('SLIPWAY_BUILD_DISK', '10Gi', storageSize, "Size limit of each of a cluster build pod's scratch volumes (the app's tree in `/workspace`, its layers and cache in `/layers`); a build that writes more is stopped and fails with one sentence."),
  buildSpare: setting('SLIPWAY_BUILD_SPARE', '1', zeroOrOne, "1: a cluster build pod is started before a push needs it, while a build slot is free (its CPU and memory are held while it waits); 0: each build starts its own pod."),
  maxBuildLogBytes: setting('SLIPWAY_MAX_BUILD_LOG_MB', '5', (raw, name) => Math.floor(megabytes(raw, name)), 'Largest build log kept on disk, in MB (its first lines and last 64 KB, a marker line between); the pusher still sees every line.'),
  maxImageBytes: setting('SLIPWAY_MAX_IMAGE_MB', '2048', megabytes, "Largest app image in MB (config and compressed layers, as the registry's manifest lists them); a larger one fails its push."),
  registry: setting('SLIPWAY_REGISTRY', '127.0.0.1:5000', text, 'OCI registry app images are pushed to.'),
  registryPull: optional('SLIPWAY_REGISTRY_PULL', '`SLIPWAY_REGISTRY`', orUnset, "The same registry as the cluster's nodes reach it (install.sh: NODE-IP:5000)."),
  buildRegistry: optional('SLIPWAY_BUILD_REGISTRY', '`SLIPWAY_REGISTRY_PULL`', optionalRegistry, "The same registry as cluster build pods reach it over the pod network (they export there and may connect nowhere else but DNS and SLIPWAY_BUILD_EGRESS); on loopback, build pods run on the node's network instead, outside their NetworkPolicy."),
  registryHttp: optional('SLIPWAY_REGISTRY_HTTP', '—', registryList, 'Registry addresses (`HOST:PORT`, comma-separated) that speak plain HTTP, not HTTPS, to cluster builds (loopback addresses always do; install.sh sets its own registry\'s).'),
  buildEgress: optional('SLIPWAY_BUILD_EGRESS', '`internet:80,internet:443`', (raw, name) => parseBuildEgress(raw, name), 'Where cluster build pods may also connect besides DNS and the build registry: `CIDR` (any port), `CIDR:PORT` (that TCP port), `internet` or `internet:PORT` (every address but the cluster\'s pods and Services, the nodes and the metadata ranges), comma-separated; `none` for nothing more. Narrow it to the package registries buildpacks download from, or their proxy.'),
  registryAuth: optional('SLIPWAY_REGISTRY_AUTH_FILE', '—', registryAuth, "The registry's credential: a file holding one line `USER:PASSWORD`, readable by its owner only (a file others may read is refused)."),
  keepReleases: setting('SLIPWAY_KEEP_RELEASES', '10', count, 'The images of this many newest releases per app stay in the registry.'),
  gcIntervalMs: setting('SLIPWAY_GC_INTERVAL_S', '21600', secondsOrOff, 'How often the whole garbage collection runs, in seconds (`0`: never, only after deploys and `gc`).'),
  registryGcConfig: optional('SLIPWAY_REGISTRY_GC_CONFIG', '—', (raw) => (raw ? resolve(raw) : undefined), "The registry's `config.yml` on this machine, for its `garbage-collect`; unset, storage is not collected."),
  registryBinary: setting('SLIPWAY_REGISTRY_BINARY', 'docker-registry', text, 'The distribution registry binary that runs `garbage-collect` (upstream calls it `registry`).'),
  kubeconfig: optional('KUBECONFIG', '—', orUnset, 'The cluster apps are deployed to (k3s writes `/etc/rancher/k3s/k3s.yaml`): its current context, whose user signs in with a client certificate, a token (or token file) or a password; a user that needs an exec plugin or an auth provider is refused.'),
  ingressClass: optional('SLIPWAY_INGRESS_CLASS', "the cluster's default", orUnset, "IngressClass of the apps' Ingresses (k3s's default is Traefik)."),
  ingressApi: optional('SLIPWAY_INGRESS_API', '—', ingressApi, "Traefik's API (its `api.insecure` entry point): `http://HOST:PORT`, or a proxy path on the cluster's API server (`/api/v1/namespaces/kube-system/services/slipway-traefik-api:9000/proxy`, what install.sh sets on k3s). A deploy says `Released` once Traefik routes to the new instances only; unset, once the Service's EndpointSlices list them and a further 0.3 s has passed."),
  rolloutTimeoutMs: setting('SLIPWAY_ROLLOUT_TIMEOUT_S', '300', seconds, 'Rollout deadline, in seconds.'),
  releaseTimeoutMs: setting('SLIPWAY_RELEASE_TIMEOUT_S', '600', seconds, 'Longest a release command (Procfile `release:`) may run, in seconds.'),
  cronTimeoutMs: setting('SLIPWAY_CRON_TIMEOUT_S', '3600', seconds, "Longest one run of a scheduled task (app.json `cron`) may take, in seconds; then it is stopped and counts as failed."),
  acmeEmail: optional('SLIPWAY_ACME_EMAIL', '—', acmeEmail, "ACME contact email; set, every app's hosts get certificates."),
  acmeIssuer: setting('SLIPWAY_ACME_ISSUER', 'slipway-acme', dnsLabel, 'The cert-manager ClusterIssuer app certificates come from (install.sh makes it).'),
  certWaitMs: setting('SLIPWAY_CERT_WAIT_S', '20', seconds, "How long a push waits for its default host's certificate before it ends with the http:// URL and why."),
  tlsSyncMs: setting('SLIPWAY_TLS_SYNC_S', '10', seconds, 'How often, in seconds, hosts whose certificate was issued since are moved to HTTPS and redirected.'),
  appMaxPods: setting('SLIPWAY_APP_MAX_PODS', '10', count, "Pods per app at once (its namespace's ResourceQuota; one-off, release and rolling-out pods count); `resource:quota --pods` per app."),
  appMaxMemory: setting('SLIPWAY_APP_MAX_MEMORY', '2Gi', quantity('memory'), "The sum of an app's containers' memory limits; `resource:quota --memory` per app."),
  appMaxCpu: setting('SLIPWAY_APP_MAX_CPU', '4', quantity('cpu'), "The sum of an app's containers' CPU limits; `resource:quota --cpu` per app."),
  containerMemoryLimit: setting('SLIPWAY_CONTAINER_MEMORY_LIMIT', '256Mi', quantity('memory'), "Memory limit of a container that sets none (the namespace's LimitRange)."),
  containerCpuLimit: setting('SLIPWAY_CONTAINER_CPU_LIMIT', '500m', quantity('cpu'), 'CPU limit of a container that sets none.'),
  containerMemoryRequest: setting('SLIPWAY_CONTAINER_MEMORY_REQUEST', '128Mi', quantity('memory'), 'Memory request of a container that sets none.'),
  containerCpuRequest: setting('SLIPWAY_CONTAINER_CPU_REQUEST', '50m', quantity('cpu'), 'CPU request of a container that sets none.'),
  containerEphemeralLimit: setting('SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT', '1Gi', storageSize, "Scratch disk of every app container (its writable layer, logs and emptyDirs: `/tmp` and the like); the kubelet evicts a pod that writes more."),
  containerEphemeralRequest: setting('SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST', '64Mi', storageSize, 'Scratch disk the scheduler reserves for every app container; at most `SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT`.'),
  appMaxEphemeralStorage: optional('SLIPWAY_APP_MAX_EPHEMERAL_STORAGE', "`SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT` × the app's pods (10Gi)", (raw, name) => (raw ? storageSize(raw, name) : undefined), "The sum of an app's containers' scratch disk limits (its namespace's quota of `limits.ephemeral-storage` and `requests.ephemeral-storage`)."),
  appMaxRuns: setting('SLIPWAY_APP_MAX_RUNS', '2', count, 'One-off pods (`run`, `run:detached`) an app may have at once.'),
  appMaxProcessTypes: setting('SLIPWAY_APP_MAX_PROCESS_TYPES', '20', count, 'Procfile process types an app may have; a push with more is rejected before it deploys.'),
  maxTokensPerKey: setting('SLIPWAY_MAX_TOKENS_PER_KEY', '50', count, 'Access tokens one key may hold.'),
  podCidrs: optional('SLIPWAY_POD_CIDR', '`10.42.0.0/16`', cidrList(() => ['10.42.0.0/16']), "The cluster's pod ranges (comma-separated; k3s's default), which app pods may not reach outside their own app."),
  serviceCidrs: optional('SLIPWAY_SERVICE_CIDR', '`10.43.0.0/16`', cidrList(() => ['10.43.0.0/16']), "The cluster's Service (ClusterIP) ranges (k3s's default), kept from app pods likewise."),
  nodeAddresses: optional('SLIPWAY_NODE_ADDRESSES', "this machine's addresses", cidrList(localAddresses), "The nodes' own addresses (IPs or CIDRs, comma-separated), which app pods may not reach; list every node's when the cluster has more than this one."),
  ingressFrom: setting('SLIPWAY_INGRESS_FROM', 'kube-system/app.kubernetes.io/name=traefik', ingressSource, "Where the ingress controller's requests to app pods come from: `NAMESPACE/KEY=VALUE[,…]` (its pods) or `node` (an ingress on the nodes themselves)."),
  trustedProxies: optional('SLIPWAY_TRUSTED_PROXIES', '— (none)', cidrList(() => []), "Addresses (IPs or CIDRs, comma-separated) of the reverse proxies in front of the HTTP port, such as the cluster's ingress: only from these is X-Forwarded-For believed, for counting failed webhook deliveries per sender. Unset, every request counts as its TCP peer's."),
  apiCorsOrigins: optional('SLIPWAY_API_CORS_ORIGINS', '— (CORS off)', corsOrigins, 'Origins (comma-separated, like `https://dash.example.com`) whose browser pages may call the API.'),
  webDir: optional('SLIPWAY_WEB_DIR', '`web/dist` of the checkout', (raw) => resolve(raw ?? join(import.meta.dirname, '..', 'web', 'dist')), 'The built dashboard the HTTP port serves at `/` (`npm run build:web` writes it; without it the dashboard pages answer 503).'),
  apiBodyTimeoutMs: setting('SLIPWAY_API_BODY_TIMEOUT_S', '10', seconds, 'How long an API request may take to send its (small) body before it is cut off, in seconds.'),
  storageMaxSize: setting('SLIPWAY_STORAGE_MAX_SIZE', '10Gi', storageSize, 'Largest volume `storage:create` makes (`512Mi`, `10Gi`, `1Ti`).'),
  appMaxVolumes: setting('SLIPWAY_APP_MAX_VOLUMES', '10', count, "Volumes per app, a database's two (data, backups) included (its namespace's quota counts its claims)."),
  appMaxStorage: setting('SLIPWAY_APP_MAX_STORAGE', '20Gi', storageSize, "The sum of an app's volume sizes (its namespace's quota of `requests.storage`)."),
  storageClass: optional('SLIPWAY_STORAGE_CLASS', "the cluster's default", storageClass, "The StorageClass volumes are claimed from; install.sh sets `slipway-volumes` on its k3s, whose volumes hold no more than their size (k3s's own default, `local-path`, ignores sizes). A volume keeps the class it was made with."),
  postgresImage: optional('SLIPWAY_POSTGRES_IMAGE', '— (no Postgres)', optionalImage, 'The Postgres 17 image (built from Debian\'s packages: images/postgres) that `addons:create APP postgres` runs; the testbed and install.sh build it.'),
  postgres18Image: optional('SLIPWAY_POSTGRES18_IMAGE', '— (no upgrade to 18)', optionalImage, "The Postgres 18 image, with Postgres 17's programs beside it for pg_upgrade (images/postgres18), that `pg:upgrade APP --to 18` upgrades a copy of a database with and that upgraded databases run (keep it set while any does); the testbed builds it."),
  valkeyImage: optional('SLIPWAY_VALKEY_IMAGE', '— (no Valkey)', optionalImage, 'The Valkey 8 image (images/valkey) that `addons:create APP valkey` runs.'),
  appMaxDatabases: setting('SLIPWAY_APP_MAX_DATABASES', '4', count, 'Databases (Postgres and Valkey together, restored copies included) an app may have.'),
  databaseMemory: setting('SLIPWAY_DATABASE_MEMORY', '256Mi', quantity('memory'), "Memory limit of a database's container (counted in its app's quota)."),
  databaseCpu: setting('SLIPWAY_DATABASE_CPU', '500m', quantity('cpu'), "CPU limit of a database's container (counted in its app's quota)."),
  databaseMaxConnections: setting('SLIPWAY_DATABASE_MAX_CONNECTIONS', '20', count, 'Connections a database accepts at once (Postgres: max_connections; Valkey: maxclients).'),
  databaseBackupRetention: setting('SLIPWAY_DATABASE_BACKUP_RETENTION', '2', backupRetention, "Which backups each Postgres database keeps on its backup volume: a number of full backups (`2`: the newest two, each with its differential and incremental backups and the WAL since), or an age (`14d`: what a restore to any time of the last 14 days needs, however many full backups that is). Each backup applies it when it ends (pgBackRest's expire)."),
  databaseBackupIntervalMs: setting('SLIPWAY_DATABASE_BACKUP_INTERVAL_S', '86400', seconds, 'How often, in seconds, each Postgres database gets a full backup onto its backup volume and then a restore drill (its latest backup restored into a scratch copy and checked); the `db-backups` round looks every 10 minutes.'),
  databaseArchiveTimeoutS: setting('SLIPWAY_DATABASE_ARCHIVE_TIMEOUT_S', '60', count, "Seconds after which a Postgres database's write-ahead log is archived to its backup volume even when its segment is not full: the most recent writes a lost data volume can take with it (a restore recovers everything before)."),
  databaseImportMaxBytes: setting('SLIPWAY_DATABASE_IMPORT_MAX_BYTES', '4Gi', (raw, name) => storageBytes(storageSize(raw, name)), 'Largest `pg_dump` archive `pg:backups:restore` (and `POST /api/v1/apps/APP/addons/import`) takes, as a size (`4Gi`); the new database\'s size bounds it too, and a bigger upload is cut off with one sentence and the new database removed.'),
  dashboardUrl: optional('SLIPWAY_DASHBOARD_URL', '`http://HOST:HTTP_PORT`', httpUrl, 'Where users open the dashboard: `dashboard:login` prints its one-time links here, and browser requests from this origin may use a session.'),
  sessionIdleMs: setting('SLIPWAY_SESSION_IDLE_MINUTES', '30', (raw, name) => positive(raw, name) * 60_000, 'A dashboard session ends after this many minutes without a request (and 12 hours after its login in any case).'),
  loginLinkTtlMs: setting('SLIPWAY_LOGIN_LINK_TTL_S', '60', seconds, 'How long, in seconds, a one-time link `dashboard:login` prints may be used (once); a shorter time leaves a leaked link less time to be used.'),
  metricsIntervalMs: setting('SLIPWAY_METRICS_INTERVAL_S', '15', seconds, "How often, in seconds, a followed metrics stream (`GET /api/v1/apps/APP/metrics?follow=1`) sends the app's CPU and memory; the metrics API measures about every 15 s."),
  warmRollbackSeconds: setting('SLIPWAY_WARM_ROLLBACK', '5m', warmWindow, "How long the previous release's web instances stay up, outside the traffic, after a deploy, so a rollback to it only moves the traffic: seconds (`300`) or `90s`, `5m`, `1h` (at most `24h`); `0` turns it off; `ps:warm APP DURATION` per app."),
  k3sTokenFile: setting('SLIPWAY_K3S_TOKEN_FILE', '/var/lib/rancher/k3s/server/node-token', (raw) => resolve(raw), "k3s's node token, which `nodes:join-command` prints for a new node to join with (install.sh copies it to `/etc/slipway/k3s-node-token`, readable by the server's user only)."),
  backupRecipient: optional('SLIPWAY_BACKUP_KEY', '— (no backups)', backupRecipient, "The age public recipient (`age1…`, printed by `slipway backup:keygen FILE`) Slipway's own backups are encrypted to, or a file holding it; the secret key file is refused (keep it off the server: a stolen server then cannot read its old backups)."),
  backupDir: optional('SLIPWAY_BACKUP_DIR', '`DATA_DIR/backups`', (raw) => (raw ? resolve(raw) : undefined), "Where `backup:create` writes Slipway's own encrypted archives (put it on another disk, or copy them off the machine)."),
  backupKeep: setting('SLIPWAY_BACKUP_KEEP', '7', count, 'Verified backups kept; older ones are deleted after each new verified one.'),
  backupMaxAgeMs: setting('SLIPWAY_BACKUP_MAX_AGE_DAYS', '30', (raw, name) => positive(raw, name) * 86_400_000, 'Backups older than this many days are deleted after each new verified one (the newest verified backup is always kept).'),
  backupIntervalMs: setting('SLIPWAY_BACKUP_INTERVAL_S', '0', secondsOrOff, "How often, in seconds, the `self-backup` round writes and verifies a backup of Slipway itself (`0`: only `backup:create`)."),
  backupS3Url: optional('SLIPWAY_BACKUP_S3_URL', '— (no copy off the machine)', s3Url, 'An S3-compatible bucket each verified backup is copied to, then read back and checked against the archive\'s hash: `https://ENDPOINT/BUCKET[/FOLDER]` (path-style; http:// only on loopback). Retention deletes the copy with the archive.'),
  backupS3Region: setting('SLIPWAY_BACKUP_S3_REGION', 'us-east-1', s3Region, 'The region requests to `SLIPWAY_BACKUP_S3_URL` are signed for.'),
  backupS3Credentials: optional('SLIPWAY_BACKUP_S3_CREDENTIALS', '—', s3Credentials, 'A file holding `ACCESS_KEY_ID:SECRET_ACCESS_KEY` on one line, readable by its owner only (needed with `SLIPWAY_BACKUP_S3_URL`).'),
  backupS3Ca: optional('SLIPWAY_BACKUP_S3_CA', "— (the system's authorities)", s3Ca, 'A file of PEM certificates to trust for `SLIPWAY_BACKUP_S3_URL` besides the system\'s (a private endpoint\'s authority).'),
  backupStaleMs: setting('SLIPWAY_BACKUP_STALE_H', '26', (raw, name) => positive(raw, name) * 3_600_000, '`doctor` fails when backups are configured and the newest verified one is older than this many hours.'),
  drainTimeoutMs: setting('SLIPWAY_DRAIN_TIMEOUT_S', '300', seconds, 'How long `nodes:drain` asks again for evictions a PodDisruptionBudget refuses (an instance waits for its replacement elsewhere) and waits for evicted pods to stop, in seconds.'),
  metricsAllow: optional('SLIPWAY_METRICS_ALLOW', '— (none)', cidrList(() => []), "Addresses (IPs or CIDRs, comma-separated) from which `GET /metrics` (the platform's Prometheus metrics) may be read without a token, such as the Prometheus server's; from anywhere else it takes an admin's token. The TCP peer counts, never X-Forwarded-For."),
  otlpTracesUrl: optional('SLIPWAY_OTLP_TRACES_URL', '— (no traces)', httpUrl, "An OpenTelemetry collector's OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`): each push is sent there as a trace of its stages (receive, build, release, rollout, switch), so a slow push shows where its time went."),
  auditRetentionMs: setting('SLIPWAY_AUDIT_RETENTION_DAYS', '400', (raw, name) => positive(raw, name) * 86_400_000, 'Audit log entries older than this many days are deleted by the `audit` round, which first records where the chain then starts (docs/audit.md).'),
  storeKeys: optional('SLIPWAY_STORE_KEY', '— (the key folder `DATA_DIR/keys`)', storeKeys, "The key Slipway's store seals its secrets with (config values, database passwords, TLS keys, webhook secrets), from a secret manager: 32 bytes in base64 (`openssl rand -base64 32`), or several comma-separated (the first seals; the others only open values sealed before, while `secrets:rotate-key` moves them to the first), or a file holding them. Unset, the key is a file in `DATA_DIR/keys`, made at the first start."),
  collectorImage: optional('SLIPWAY_COLLECTOR_IMAGE', '— (no drains)', optionalImage, "The log collector's image (the OpenTelemetry Collector built by ocb: images/collector, testbed/tools/collector) that Slipway runs on every node for the log drains; the testbed builds it."),
  collectorPodLogs: setting('SLIPWAY_COLLECTOR_POD_LOGS', '/var/log/pods', absolutePaths, "The nodes' pod log folders (the kubelet's `podLogsDir`; absolute paths, comma-separated) the log collector reads."),
  collectorEventsDir: optional('SLIPWAY_COLLECTOR_EVENTS_DIR', '`DATA_DIR/drain-events`', (raw, name) => (raw ? absolutePaths(raw, name)[0]! : undefined), "Where the server writes its own events for the log drains (`app[slipway]` lines: builds, releases, rollbacks, scaling, crashes, backups; and the audit log's entries for global drains); the collector on the server's node reads them there, so it must be a folder of that node."),
  collectorStateDir: setting('SLIPWAY_COLLECTOR_STATE_DIR', '/var/lib/slipway/collector', (raw, name) => absolutePaths(raw, name)[0]!, "The folder on each node where the log collector keeps how far it read each log, so a restart neither loses nor repeats lines."),
  tokenMaxTtlMs: optional('SLIPWAY_TOKEN_MAX_TTL', '— (tokens may last for ever)', tokenMaxTtl, 'The longest an access token may last (`90d`, `12h`, `3600` seconds): `tokens:create --ttl` may ask for less, and a token made without `--ttl` gets this; a token past its expiry is refused at once. Tokens made before it was set keep their own expiry (none).'),
  oidcIssuer: optional('SLIPWAY_OIDC_ISSUER', '— (no OpenID Connect sign-in)', oidcIssuer, "An OpenID Connect provider's issuer URL (`https://accounts.example.com`; http:// only on loopback): the dashboard's login page offers \"Sign in with …\" there, for accounts an admin bound to a key with `keys:oidc`. Register `DASHBOARD_URL/login/oidc/callback` as the client's redirect URI."),
  oidcClientId: optional('SLIPWAY_OIDC_CLIENT_ID', '—', orUnset, 'The client id the OpenID Connect provider gave Slipway (needed with `SLIPWAY_OIDC_ISSUER`).'),
  oidcClientSecret: optional('SLIPWAY_OIDC_CLIENT_SECRET', '— (a public client: PKCE alone)', orUnset, 'The client secret the provider gave Slipway; prefer `SLIPWAY_OIDC_CLIENT_SECRET_FILE`.'),
  oidcClientSecretFile: optional('SLIPWAY_OIDC_CLIENT_SECRET_FILE', '—', secretFile, 'A file holding the client secret on one line, readable by its owner only (a file others may read is refused).'),
  oidcName: optional('SLIPWAY_OIDC_NAME', "the issuer's host", orUnset, 'What the login page\'s button says after "Sign in with" (`Google`, `Keycloak`…).'),
  previewSleepSeconds: setting('SLIPWAY_PREVIEW_SLEEP_AFTER', '30m', sleepAfter, "How long a preview goes without a request through the ingress before its web instances are stopped (it sleeps at zero and wakes on its next request, which is held meanwhile): seconds (`1800`) or `90s`, `30m`, `2h`, `1d`; `0` keeps previews running; `ps:sleep APP --after` per app (apps never sleep unless told). Needs `SLIPWAY_WAKER_ADDRESS`."),
  wakerAddress: optional('SLIPWAY_WAKER_ADDRESS', '— (nothing sleeps)', wakerAddress, "The IP address of this machine the ingress reaches Slipway's waker at (install.sh: the node's address): a sleeping app's web Service points there, and the waker holds each request while it wakes the app, then passes it on. Unset, `ps:sleep` is refused and previews do not sleep."),
  wakerPort: setting('SLIPWAY_WAKER_PORT', '8090', port, "The waker's port, on `SLIPWAY_WAKER_ADDRESS` (it serves only requests for sleeping apps' hosts: nothing else of Slipway answers there)."),
  wakerMaxHeld: setting('SLIPWAY_WAKER_MAX_HELD', '100', count, 'Requests the waker holds at once, for all sleeping apps together; one more is answered 503 with Retry-After.'),
  wakerHoldMs: setting('SLIPWAY_WAKER_HOLD_S', '30', seconds, 'Longest the waker holds a request while its app wakes, in seconds; then it is answered 503 with Retry-After.'),
  sleepRoundMs: setting('SLIPWAY_SLEEP_ROUND_S', '30', seconds, "How often, in seconds, the `sleep` round reads the ingress's request counts (Traefik's metrics at `SLIPWAY_INGRESS_API/metrics`) and puts idle apps to sleep."),
  cronAuditMs: setting('SLIPWAY_CRON_AUDIT_S', '60', seconds, "How often, in seconds, the `cron-audit` round records in the audit log the runs of scheduled tasks that their schedules started and that ended since (keep it below the shortest schedule's interval: a CronJob keeps only its last few runs)."),
  autoscaleScaleDownSeconds: setting('SLIPWAY_AUTOSCALE_SCALE_DOWN_S', '300', autoscaleWindow, "How long, in seconds (0 to 3600), an autoscaled process type's load must stay low before its autoscaler removes instances (the HorizontalPodAutoscaler's scale-down stabilization window; Kubernetes' default is 300); a change reaches each autoscaler at its app's next deploy or `ps:autoscale`."),
} satisfies Record<string, Setting>;

type Settings = typeof SETTINGS;
type Values = { [K in keyof Settings]: ReturnType<Settings[K]['read']> };

/** The settings table as docs/configuration.md lists it: name, default and doc of each variable, in table order. */
export const settingsReference: readonly Pick<Setting, 'name' | 'default' | 'doc'>[] = Object.values(SETTINGS).map(({ name, default: d, doc }) => ({ name, default: d, doc }));

/** Checks `value` as the server would read it for the variable `name`; throws that setting's UserError, or says it is not one. */
export function checkSetting(name: string, value: string): void {
  const s = Object.values(SETTINGS).find((x) => x.name === name);
  if (!s) throw new UserError(`${name} is not a setting Slipway reads.`);
  s.read({ [name]: value });
}

/** Reads and validates the environment once; the only place that reads process.env. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const values = Object.fromEntries(Object.entries(SETTINGS).map(([key, s]) => [key, s.read(env)])) as Values;
  const { containerMemoryLimit, containerCpuLimit, containerMemoryRequest, containerCpuRequest, containerEphemeralLimit, containerEphemeralRequest, podCidrs, serviceCidrs, nodeAddresses, ingressFrom, httpMaxConnectionsPerSource, maxStreamsPerSource, buildConcurrencyPerKey, oidcIssuer: issuer, oidcClientId: clientId, oidcClientSecret: clientSecret, oidcClientSecretFile: clientSecretFile, oidcName: oidcLabel, backupS3Url, backupS3Region, backupS3Credentials, backupS3Ca, ...fields } = values;
  const { dataDir } = fields;
  const runDir = join(dataDir, 'run');
  return Object.freeze({
    ...fields,
    ...perSourceCaps(fields.httpMaxConnections, httpMaxConnectionsPerSource, maxStreamsPerSource),
    buildConcurrencyPerKey: perKeyBuilds(fields.buildConcurrency, buildConcurrencyPerKey),
    reposDir: join(dataDir, 'repos'),
    hooksDir: join(dataDir, 'hooks'),
    runDir,
    logsDir: join(dataDir, 'logs'),
    tmpDir: fields.tmpDir ?? join(dataDir, 'tmp'),
    collectorEventsDir: fields.collectorEventsDir ?? join(dataDir, 'drain-events'),
    dbFile: join(dataDir, 'slipway.db'),
    hostKeyFile: join(dataDir, 'ssh_host_ed25519_key'),
    backupDir: fields.backupDir ?? join(dataDir, 'backups'),
    storeKeyDir: join(dataDir, 'keys'),
    hookSocket: join(runDir, 'hook.sock'),
    registryPull: fields.registryPull ?? fields.registry,
    buildRegistry: fields.buildRegistry ?? fields.registryPull ?? fields.registry,
    nodeBinary: process.execPath,
    containerDefaults: Object.freeze({
      limits: Object.freeze({ memory: containerMemoryLimit, cpu: containerCpuLimit }),
      requests: Object.freeze({ memory: containerMemoryRequest, cpu: containerCpuRequest }),
      ephemeralStorage: Object.freeze(ephemeralDefaults(containerEphemeralLimit, containerEphemeralRequest)),
    }),
    packEnv: packEnv(env),
    network: Object.freeze({ podCidrs, serviceCidrs, nodeAddresses, ingress: ingressFrom, waker: fields.wakerAddress }),
    version: PACKAGE_VERSION,
    storeCopiesDir: join(dataDir, 'upgrades'),
    maintenanceFile: join(dataDir, 'upgrading'),
    oidc: oidcSettings({ issuer, clientId, clientSecret, clientSecretFile, name: oidcLabel }),
    backupS3: s3Target({ url: backupS3Url, region: backupS3Region, credentials: backupS3Credentials, ca: backupS3Ca }),
  });
}
