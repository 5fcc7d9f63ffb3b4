import { readFileSync, statSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { UserError } from './errors.ts';
import { parseCidr } from './cidr.ts';

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
  /** The Docker engine pack builds with (DOCKER_HOST, which pack reads itself; doctor checks it). */
  dockerHost: string;
  /** The pack CLI: a path, or a name looked up on PATH. */
  packBinary: string;
  /** PATH, for finding external programs at start-up. */
  searchPath: string;
  kubeconfig: string | undefined;
  ingressClass: string | undefined;
  /** Largest pack git will accept in one push (receive.maxInputSize) and largest HTTP body. */
  maxPushBytes: number;
  buildTimeoutMs: number;
  rolloutTimeoutMs: number;
  /** Longest a release command (Procfile `release:`) may run: SLIPWAY_RELEASE_TIMEOUT_S. */
  releaseTimeoutMs: number;
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
  /** Limits and requests of a container that sets none (the namespace's LimitRange). */
  containerDefaults: Readonly<ContainerDefaults>;
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
  /** How long an API request may take to send its (small) body before it is cut off (SLIPWAY_API_BODY_TIMEOUT_S). */
  apiBodyTimeoutMs: number;
  version: string;
}

/** A user name and password for the registry's basic authentication. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** Kubernetes quantities a container gets when it sets none (memory `256Mi`, cpu `500m`). */
export interface ContainerDefaults {
  limits: { memory: string; cpu: string };
  requests: { memory: string; cpu: string };
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

/** The version `version` prints: package.json's, so there is one place to bump it. */
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`${name} must be a port number (0-65535), got "${raw}".`);
  return n;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${name} must be a positive number, got "${raw}".`);
  return n;
}

function maxStartups(env: Env, name: string, fallback: string): MaxStartups {
  const raw = env[name] || fallback;
  // As in sshd_config, one number N means N:100:N: a hard cap with no random drop before it.
  const parts = (/^\d+$/.test(raw) ? `${raw}:100:${raw}` : raw).split(':').map(Number);
  const [start = NaN, rate = NaN, full = NaN] = parts;
  if (parts.length !== 3 || !parts.every(Number.isInteger) || start < 1 || full < start || rate < 0 || rate > 100) {
    throw new UserError(`${name} must be start:rate:full like OpenSSH's MaxStartups (e.g. 10:30:100), got "${raw}".`);
  }
  return Object.freeze({ start, rate, full });
}

/** A whole number of at least 1, or `none` (no limit, as in sshd_config). */
function countOrNone(env: Env, name: string, fallback: number): number | undefined {
  if (env[name] === 'none') return undefined;
  return count(env, name, fallback);
}

/** `off`, or sshd-style `KEY:DURATION` words (durations in s, m or h; bare numbers are seconds); keys not given keep sshd's defaults. */
function penalties(env: Env, name: string): SourcePenalties | undefined {
  const raw = (env[name] ?? '').trim();
  if (raw === 'off' || raw === 'no') return undefined;
  const keys: Record<string, keyof SourcePenalties> = { authfail: 'authfailMs', noauth: 'noauthMs', 'grace-exceeded': 'graceExceededMs', min: 'minMs', max: 'maxMs' };
  const out = { ...PENALTY_DEFAULTS };
  for (const word of raw === '' || raw === 'yes' ? [] : raw.split(/[\s,]+/)) {
    const m = /^([a-z-]+):(\d{1,7})([smh]?)$/.exec(word);
    const key = m && Object.hasOwn(keys, m[1]!) ? keys[m[1]!] : undefined;
    if (!m || !key) throw new UserError(`${name} must be "off" or words like authfail:5s noauth:1s grace-exceeded:10s min:15s max:10m, got "${raw}".`);
    out[key] = Number(m[2]) * { '': 1000, s: 1000, m: 60_000, h: 3_600_000 }[m[3]!]!;
  }
  if (out.maxMs < out.minMs) throw new UserError(`${name}: max must not be below min, got "${raw}".`);
  return Object.freeze(out);
}

function count(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${name} must be a whole number of at least 1, got "${raw}".`);
  return n;
}

/** A whole number of seconds, 0 allowed (meaning off), as milliseconds. */
function secondsOrOff(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${name} must be a whole number of seconds (0 turns it off), got "${raw}".`);
  return n * 1000;
}

/** SLIPWAY_ACME_EMAIL: unset or empty is off; otherwise one plain address. */
function acmeEmail(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!/^[^\s@]+@[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(raw)) throw new UserError(`SLIPWAY_ACME_EMAIL must be an email address, got "${raw}".`);
  return raw;
}

/**
 * A Kubernetes memory (`512Mi`, `2Gi`) or CPU (`2`, `0.5`, `500m`) quantity setting, in the plain
 * forms only (deploy/quantity.ts reads every form; config sits below deploy/ and cannot use it).
 */
function quantitySetting(env: Env, name: string, fallback: string, kind: 'memory' | 'cpu'): string {
  const raw = env[name] || fallback;
  const ok = kind === 'memory' ? /^[1-9][0-9]*(Mi|Gi)$/.test(raw) : /^([1-9][0-9]*m|[0-9]+(\.[0-9]+)?)$/.test(raw) && raw !== '0';
  if (!ok) throw new UserError(kind === 'memory' ? `${name} must be a memory size like 512Mi or 2Gi, got "${raw}".` : `${name} must be a CPU amount like 2, 0.5 or 500m, got "${raw}".`);
  return raw;
}

/** A Kubernetes object name setting (a DNS-1123 label). */
function dnsLabel(name: string, raw: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(raw)) throw new UserError(`${name} must be a Kubernetes name (lowercase letters, digits, -), got "${raw}".`);
  return raw;
}

/** The host's first non-internal IPv4 address, for the default sslip.io base domain. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * SLIPWAY_REGISTRY_AUTH_FILE: one line `USER:PASSWORD`, readable by its owner only (install.sh
 * writes it 0600). Unset or empty: no credential.
 */
function registryAuth(path: string | undefined): Readonly<RegistryAuth> | undefined {
  if (!path) return undefined;
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`SLIPWAY_REGISTRY_AUTH_FILE ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
  }
  // The password opens every app's images: a file others may read is refused, not used.
  if ((mode & 0o077) !== 0) throw new UserError(`SLIPWAY_REGISTRY_AUTH_FILE ${path} may be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it.`);
  const m = /^([^:\s]+):([^\r\n]+)\r?\n?$/.exec(text);
  if (!m) throw new UserError(`SLIPWAY_REGISTRY_AUTH_FILE ${path} must hold one line USER:PASSWORD.`);
  return Object.freeze({ username: m[1]!, password: m[2]! });
}

/**
 * The server's own variables pack runs with: what pack, its Docker client and Go need, as the
 * admin set them. Anything else (above all an app's config vars) never reaches pack's process:
 * DOCKER_HOST, DOCKER_CONFIG and the like would point it elsewhere. DOCKER_HOST and DOCKER_CONFIG
 * are added by the builder itself.
 */
const PACK_ENV = [
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

function cidrList(env: Env, name: string, fallback: () => string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback();
  return [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => cidr(name, s)))];
}

/**
 * This machine's own addresses, every family, as /32 and /128: in install.sh's layout the server
 * runs on the k3s server node, and anything bound to 0.0.0.0 here (SSH, HTTP, the registry, the
 * kubelet) answers on each of them, the Docker and CNI bridges' included.
 */
function localAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.add(cidr('SLIPWAY_NODE_ADDRESSES', a.address.replace(/%.*$/, '')));
  }
  return [...out];
}

/** SLIPWAY_INGRESS_FROM: `node`, or `NAMESPACE/KEY=VALUE[,KEY=VALUE…]` (pods with those labels in that namespace). */
function ingressSource(raw: string): IngressSource {
  if (raw === 'node') return { kind: 'node' };
  const bad = () => new UserError(`SLIPWAY_INGRESS_FROM must be "node" or NAMESPACE/KEY=VALUE[,KEY=VALUE] (like kube-system/app.kubernetes.io/name=traefik), got "${raw}".`);
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
  return { kind: 'pods', namespace, labels };
}

/** SLIPWAY_API_CORS_ORIGINS: comma-separated origins (`https://dash.example.com`); unset or empty is none. */
function corsOrigins(raw: string | undefined): readonly string[] {
  const list = (raw ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of list) {
    // An origin is scheme://host[:port] exactly, as browsers send it; `*` would let any page use a token.
    if (!/^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/i.test(o)) throw new UserError(`SLIPWAY_API_CORS_ORIGINS must be a comma-separated list of origins like https://dash.example.com, got "${o}".`);
  }
  return Object.freeze(list.map((o) => o.toLowerCase()));
}

/** Reads and validates the environment once; the only place that reads process.env. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const dataDir = resolve(env.SLIPWAY_DATA_DIR || './data');
  const bind = env.SLIPWAY_BIND || '0.0.0.0';
  const baseDomain = (env.SLIPWAY_BASE_DOMAIN || `${hostAddress()}.sslip.io`).toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(baseDomain)) {
    throw new UserError(`SLIPWAY_BASE_DOMAIN must be a DNS name, got "${baseDomain}".`);
  }
  const runDir = join(dataDir, 'run');
  return Object.freeze({
    dataDir,
    reposDir: join(dataDir, 'repos'),
    hooksDir: join(dataDir, 'hooks'),
    runDir,
    logsDir: join(dataDir, 'logs'),
    tmpDir: resolve(env.SLIPWAY_TMP_DIR || join(dataDir, 'tmp')),
    dbFile: join(dataDir, 'slipway.db'),
    hostKeyFile: join(dataDir, 'ssh_host_ed25519_key'),
    hookSocket: join(runDir, 'hook.sock'),
    sshPort: port(env, 'SLIPWAY_SSH_PORT', 2222),
    httpPort: port(env, 'SLIPWAY_HTTP_PORT', 8080),
    bind,
    publicHost: env.SLIPWAY_HOST || hostAddress(),
    adminKeysFile: env.SLIPWAY_ADMIN_KEYS || undefined,
    baseDomain,
    builderImage: env.SLIPWAY_BUILDER || 'heroku/builder:24',
    registry: env.SLIPWAY_REGISTRY || '127.0.0.1:5000',
    registryPull: env.SLIPWAY_REGISTRY_PULL || env.SLIPWAY_REGISTRY || '127.0.0.1:5000',
    dockerHost: env.DOCKER_HOST || 'unix:///var/run/docker.sock',
    packBinary: env.SLIPWAY_PACK || 'pack',
    searchPath: env.PATH ?? '',
    kubeconfig: env.KUBECONFIG || undefined,
    ingressClass: env.SLIPWAY_INGRESS_CLASS || undefined,
    maxPushBytes: positive(env, 'SLIPWAY_MAX_PUSH_MB', 1024) * 1024 * 1024,
    buildTimeoutMs: positive(env, 'SLIPWAY_BUILD_TIMEOUT_S', 900) * 1000,
    rolloutTimeoutMs: positive(env, 'SLIPWAY_ROLLOUT_TIMEOUT_S', 300) * 1000,
    releaseTimeoutMs: positive(env, 'SLIPWAY_RELEASE_TIMEOUT_S', 600) * 1000,
    httpRequestTimeoutMs: positive(env, 'SLIPWAY_HTTP_TIMEOUT_S', 3600) * 1000,
    sshLoginGraceMs: positive(env, 'SLIPWAY_SSH_LOGIN_GRACE_S', 60) * 1000,
    // One source holds at most 64 unauthenticated connections, so a global random drop that
    // starts at 128 is never set off by a single source: its burst (a CI runner's 50 clones) and
    // everyone else get in, while many flooding sources are still dropped as sshd would.
    sshMaxStartups: maxStartups(env, 'SLIPWAY_SSH_MAX_STARTUPS', '128:30:256'),
    sshMaxConnections: count(env, 'SLIPWAY_SSH_MAX_CONNECTIONS', 500),
    sshPerSourceMaxStartups: countOrNone(env, 'SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS', 64),
    sshPenalties: penalties(env, 'SLIPWAY_SSH_PER_SOURCE_PENALTIES'),
    // --- HTTP limits and data paths (issue 8). ---
    maxTreeBytes: positive(env, 'SLIPWAY_MAX_TREE_MB', 2048) * 1024 * 1024,
    httpMaxConnections: Math.floor(positive(env, 'SLIPWAY_HTTP_MAX_CONNECTIONS', 256)),
    nodeBinary: process.execPath,
    // --- Certificates (issue 12). ---
    acmeEmail: acmeEmail(env.SLIPWAY_ACME_EMAIL),
    acmeIssuer: dnsLabel('SLIPWAY_ACME_ISSUER', env.SLIPWAY_ACME_ISSUER || 'slipway-acme'),
    certWaitMs: positive(env, 'SLIPWAY_CERT_WAIT_S', 20) * 1000,
    tlsSyncMs: positive(env, 'SLIPWAY_TLS_SYNC_S', 10) * 1000,
    // --- Garbage collection (issue 13, item 6). ---
    keepReleases: count(env, 'SLIPWAY_KEEP_RELEASES', 10),
    gcIntervalMs: secondsOrOff(env, 'SLIPWAY_GC_INTERVAL_S', 6 * 3600),
    registryGcConfig: env.SLIPWAY_REGISTRY_GC_CONFIG ? resolve(env.SLIPWAY_REGISTRY_GC_CONFIG) : undefined,
    registryBinary: env.SLIPWAY_REGISTRY_BINARY || 'docker-registry',
    // --- Quotas and caps (issue 16, items 4 and 8): sized for a 2 GiB VM (see the README). ---
    appMaxPods: count(env, 'SLIPWAY_APP_MAX_PODS', 10),
    appMaxMemory: quantitySetting(env, 'SLIPWAY_APP_MAX_MEMORY', '2Gi', 'memory'),
    appMaxCpu: quantitySetting(env, 'SLIPWAY_APP_MAX_CPU', '4', 'cpu'),
    containerDefaults: Object.freeze({
      limits: Object.freeze({
        memory: quantitySetting(env, 'SLIPWAY_CONTAINER_MEMORY_LIMIT', '256Mi', 'memory'),
        cpu: quantitySetting(env, 'SLIPWAY_CONTAINER_CPU_LIMIT', '500m', 'cpu'),
      }),
      requests: Object.freeze({
        memory: quantitySetting(env, 'SLIPWAY_CONTAINER_MEMORY_REQUEST', '128Mi', 'memory'),
        cpu: quantitySetting(env, 'SLIPWAY_CONTAINER_CPU_REQUEST', '50m', 'cpu'),
      }),
    }),
    appMaxRuns: count(env, 'SLIPWAY_APP_MAX_RUNS', 2),
    appMaxProcessTypes: count(env, 'SLIPWAY_APP_MAX_PROCESS_TYPES', 20),
    maxTokensPerKey: count(env, 'SLIPWAY_MAX_TOKENS_PER_KEY', 50),
    maxBuildLogBytes: Math.floor(positive(env, 'SLIPWAY_MAX_BUILD_LOG_MB', 5) * 1024 * 1024),
    maxImageBytes: positive(env, 'SLIPWAY_MAX_IMAGE_MB', 2048) * 1024 * 1024,
    // --- Registry credential and pack's environment (issue 16, items 1 and 6). ---
    registryAuth: registryAuth(env.SLIPWAY_REGISTRY_AUTH_FILE ? resolve(env.SLIPWAY_REGISTRY_AUTH_FILE) : undefined),
    packEnv: packEnv(env),
    // --- Network isolation (issue 16, item 3): k3s's defaults, and this machine's addresses. ---
    network: Object.freeze({
      podCidrs: Object.freeze(cidrList(env, 'SLIPWAY_POD_CIDR', () => ['10.42.0.0/16'])),
      serviceCidrs: Object.freeze(cidrList(env, 'SLIPWAY_SERVICE_CIDR', () => ['10.43.0.0/16'])),
      nodeAddresses: Object.freeze(cidrList(env, 'SLIPWAY_NODE_ADDRESSES', localAddresses)),
      ingress: Object.freeze(ingressSource(env.SLIPWAY_INGRESS_FROM || 'kube-system/app.kubernetes.io/name=traefik')),
    }),
    // --- Output backpressure (issue 16, item 2). ---
    stallTimeoutMs: positive(env, 'SLIPWAY_STALL_TIMEOUT_S', 120) * 1000,
    // --- HTTP API (issue 17). ---
    apiCorsOrigins: corsOrigins(env.SLIPWAY_API_CORS_ORIGINS),
    apiBodyTimeoutMs: positive(env, 'SLIPWAY_API_BODY_TIMEOUT_S', 10) * 1000,
    version: PACKAGE_VERSION,
  });
}
