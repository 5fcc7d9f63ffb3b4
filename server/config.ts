import { readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { UserError } from './errors.ts';

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
  // --- Output backpressure (issue 16, item 2). ---
  /** How long a client may leave its output unread before its session is closed (SLIPWAY_STALL_TIMEOUT_S). */
  stallTimeoutMs: number;
  version: string;
}

/** OpenSSH's MaxStartups: from `start` unauthenticated connections on, drop new ones with a probability rising from `rate`% to 100% at `full`. */
export interface MaxStartups {
  start: number;
  rate: number;
  full: number;
}

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
    sshMaxStartups: maxStartups(env, 'SLIPWAY_SSH_MAX_STARTUPS', '10:30:100'),
    sshMaxConnections: count(env, 'SLIPWAY_SSH_MAX_CONNECTIONS', 500),
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
    // --- Output backpressure (issue 16, item 2). ---
    stallTimeoutMs: positive(env, 'SLIPWAY_STALL_TIMEOUT_S', 120) * 1000,
    version: PACKAGE_VERSION,
  });
}
