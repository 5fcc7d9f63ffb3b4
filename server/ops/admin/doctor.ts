import { dockerApi } from '../../build/docker.ts';
import { createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { Config } from '../../config.ts';
import { run } from '../../exec.ts';
import { findProgram } from '../../backends.ts';
import { registryAuthHeaders, registryBase } from '../../build/image.ts';
import type { KubeClient } from '../../kube/client.ts';
import { checkBuildPods } from '../../cluster-build/doctor.ts';
import { askIngressApi } from '../../deploy/ingress-sync.ts';
import { plainHttpCheck } from './plain-http.ts';
import { requireAdmin } from '../access.ts';
import { unprovenDatabases } from '../data/drills.ts';
import type { Actor } from '../actor.ts';
import type { BackgroundRounds, Services } from '../../context.ts';
import type { CheckOutcome, DoctorCheck } from '../../health.ts';
import { dashboardSiteCheck } from './dashboard-site.ts';
import { backupFreshness } from '../self-backup/backups.ts';
import { eventsNodeCheck } from '../drains/events-node.ts';

/** One check's name and what it found. */
export interface CheckResult { name: string; outcome: CheckOutcome }

/** One check as doctor --json shows it: its name and outcome side by side. */
export type DoctorResult = { name: string } & CheckOutcome;

const FREE_DISK_MIN = 5 * 1024 ** 3;
const KUBE_MIN_MINOR = 31;
const CLUSTER_CHECK_MS = 20_000;

/** Runs every check, one after the other (they share the engine and the registry). */
export async function runChecks(checks: readonly DoctorCheck[], signal: AbortSignal): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    let outcome: CheckOutcome;
    try {
      outcome = await c.run(signal);
    } catch (err) {
      outcome = { ok: false, detail: (err as Error).message, fix: c.fix };
    }
    results.push({ name: c.name, outcome });
  }
  return results;
}



async function fetchOk(url: string, init: RequestInit, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new Error(`${what}: ${new URL(url).host} is not reachable`, { cause: err });
  }
  if (res.status === 401) throw new Error(`${what}: the registry asks for a credential Slipway does not have or that it refuses (401)`);
  if (!res.ok) throw new Error(`${what}: the registry answered ${res.status}`);
  return res;
}

/** The API answers, a node is Ready on a supported Kubernetes, and the ingress class exists. */
async function clusterCheck(config: Readonly<Config>, kube: KubeClient): Promise<CheckOutcome> {
  interface Node { metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { kubeletVersion?: string } } }
  interface IngressClass { metadata?: { name?: string; annotations?: Record<string, string> } }
  const nodes = await kube.list<Node>('v1', 'Node', undefined);
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  if (!ready.length) return { ok: false, detail: `the API at ${kube.server} answers but no node is Ready (${nodes.length} nodes)`, fix: 'check the nodes: kubectl get nodes; journalctl -u k3s' };
  const version = ready[0]!.status?.nodeInfo?.kubeletVersion ?? '';
  const minor = Number(/^v1\.(\d+)/.exec(version)?.[1] ?? 0);
  if (minor < KUBE_MIN_MINOR) return { ok: false, detail: `node ${ready[0]!.metadata?.name} runs Kubernetes ${version}`, fix: `Slipway needs Kubernetes 1.${KUBE_MIN_MINOR} or later` };
  const classes = await kube.list<IngressClass>('networking.k8s.io/v1', 'IngressClass', undefined);
  const names = classes.map((c) => c.metadata?.name ?? '');
  const wanted = config.ingressClass ?? classes.find((c) => c.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true')?.metadata?.name;
  if (!wanted || !names.includes(wanted)) {
    return { ok: false, detail: config.ingressClass ? `no IngressClass ${config.ingressClass} (have: ${names.join(', ') || 'none'})` : `no default IngressClass (have: ${names.join(', ') || 'none'})`, fix: 'install an ingress controller (k3s has Traefik) or set SLIPWAY_INGRESS_CLASS' };
  }
  const storage = await storageClassState(kube, config);
  if (!storage.ok) return storage;
  return { ok: true, detail: `API ${kube.server}, ${ready.length}/${nodes.length} nodes Ready (${version}), ingress class ${wanted}, ${storage.detail}` };
}

/**
 * The class volumes are claimed from: SLIPWAY_STORAGE_CLASS must exist; without it the cluster's
 * default is used, and a cluster without one only matters to apps with volumes (their claims stay
 * Pending), so that is said, not failed.
 */
async function storageClassState(kube: KubeClient, config: Readonly<Config>): Promise<CheckOutcome> {
  interface StorageClass { metadata?: { name?: string; annotations?: Record<string, string> } }
  const classes = await kube.list<StorageClass>('storage.k8s.io/v1', 'StorageClass', undefined);
  const names = classes.map((c) => c.metadata?.name ?? '');
  if (config.storageClass) {
    if (!names.includes(config.storageClass)) return { ok: false, detail: `no StorageClass ${config.storageClass} (SLIPWAY_STORAGE_CLASS; have: ${names.join(', ') || 'none'})`, fix: 'correct SLIPWAY_STORAGE_CLASS in /etc/slipway/slipway.env, or unset it for the default class' };
    return { ok: true, detail: `storage class ${config.storageClass}` };
  }
  const byDefault = classes.find((c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata?.name;
  return { ok: true, detail: byDefault ? `storage class ${byDefault} (default)` : 'no default storage class (volumes would stay Pending; k3s has local-path)' };
}

/** `p`, or a rejection after `ms` or when `signal` aborts (an API address that drops packets would hang). */
async function bounded<T>(p: Promise<T>, ms: number, signal: AbortSignal, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, stop]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** The pack backend's checks: the Docker engine, pack, and the builder image in the engine. */
function packChecks(config: Readonly<Config>, rerun: string): DoctorCheck[] {
  return [
    {
      name: 'docker',
      fix: 'check DOCKER_HOST in /etc/slipway/slipway.env',
      async run(signal) {
        const r = await dockerApi(config.dockerHost, 'GET', '/version', { signal }).catch((err: Error) => ({ status: 0, body: err.message }));
        if (r.status !== 200) return { ok: false, detail: r.status ? `the engine at ${config.dockerHost} answered ${r.status}` : r.body, fix: `start it (systemctl start docker) or set DOCKER_HOST in /etc/slipway/slipway.env; the slipway user must be in the socket's group` };
        return { ok: true, detail: `Docker ${(JSON.parse(r.body) as { Version?: string }).Version ?? '?'} at ${config.dockerHost}` };
      },
    },
    {
      name: 'pack',
      async run(signal) {
        const pack = findProgram(config.packBinary, config.searchPath);
        if (!pack) return { ok: false, detail: `${config.packBinary} not found`, fix: `install pack or set SLIPWAY_PACK; ${rerun}` };
        const r = await run(pack, ['version'], { signal, timeoutMs: 20_000 });
        if (r.exitCode !== 0) return { ok: false, detail: `${pack} version exited ${r.exitCode}`, fix: rerun };
        return { ok: true, detail: `pack ${r.stdout.trim()} (${pack})` };
      },
    },
    {
      name: 'builder',
      fix: 'check the Docker engine (the docker line above)',
      async run(signal) {
        const r = await dockerApi(config.dockerHost, 'GET', `/images/${encodeURIComponent(config.builderImage)}/json`, { signal });
        if (r.status === 404) return { ok: false, detail: `${config.builderImage} is not in the Docker engine`, fix: `pull it: docker pull ${config.builderImage} (or ${rerun})` };
        if (r.status !== 200) return { ok: false, detail: `the engine answered ${r.status} for ${config.builderImage}`, fix: 'check the Docker engine' };
        return { ok: true, detail: `${config.builderImage} present` };
      },
    },
  ];
}

/** The checks for a server's config; each is a small function over one dependency. */
export function doctorChecks(config: Readonly<Config>, services: Pick<Services, 'nativeCrypto' | 'kube' | 'rounds'> & Partial<Pick<Services, 'store'>>): DoctorCheck[] {
  const kube = services.kube;
  const rerun = 're-run install.sh (it keeps your data)';
  // The cluster build backend needs no Docker engine and no pack: a test pod of the builder instead.
  const buildChecks: DoctorCheck[] = config.buildBackend === 'cluster' ? [{
    name: 'build pods',
    fix: 'check KUBECONFIG and that the kubeconfig\'s user may manage pods in the namespace slipway-builds',
    async run(signal) {
      if (!kube) return { ok: false, detail: 'KUBECONFIG is not set (SLIPWAY_BUILD_BACKEND=cluster builds in the cluster)', fix: `set it in /etc/slipway/slipway.env or ${rerun}` };
      return checkBuildPods(kube, config, config.builderImage, signal);
    },
  }] : packChecks(config, rerun);
  return [
    ...buildChecks,
    {
      name: 'registry',
      fix: 'start the registry (systemctl start docker-registry), correct SLIPWAY_REGISTRY / SLIPWAY_REGISTRY_PULL, or give its credential in SLIPWAY_REGISTRY_AUTH_FILE (/etc/slipway/slipway.env)',
      async run(signal) {
        // Push a small blob to the address Slipway pushes to, then read it back from the address
        // nodes pull from (same scheme: a plain-HTTP registry is plain HTTP at both), with the
        // credential the server and the nodes hold.
        const blob = Buffer.from(`slipway doctor ${config.registry}\n`);
        const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
        const push = registryBase(config.registry);
        const pull = `${new URL(push).protocol}//${config.registryPull}`;
        const repo = 'slipway/doctor';
        const auth = registryAuthHeaders(config.registryAuth);
        const started = await fetchOk(`${push}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth, signal }, `push to ${config.registry}`);
        const location = new URL(started.headers.get('location') ?? '', `${push}/`);
        location.searchParams.set('digest', digest);
        await fetchOk(location.href, { method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream', ...auth }, signal }, `push to ${config.registry}`);
        const back = await fetchOk(`${pull}/v2/${repo}/blobs/${digest}`, { headers: auth, signal }, `pull from ${config.registryPull}`);
        if (!Buffer.from(await back.arrayBuffer()).equals(blob)) return { ok: false, detail: `pull from ${config.registryPull} gave other bytes than were pushed`, fix: 'SLIPWAY_REGISTRY and SLIPWAY_REGISTRY_PULL must name the same registry' };
        // Whoever reaches an open registry (a build's code on the host network, a pod) can read
        // every app's layers and overwrite its images: the same blob without credentials must be refused.
        const anonymous = await fetch(`${push}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', signal });
        if (anonymous.status !== 401) {
          return { ok: false, detail: `${config.registry} answers ${anonymous.status} to a request without credentials: anyone who reaches it can read and overwrite app images`, fix: 'turn on the registry\'s htpasswd auth and put its credential in SLIPWAY_REGISTRY_AUTH_FILE (install.sh does both for the registry it installs; --registry-auth FILE for another one)' };
        }
        return { ok: true, detail: `push to ${config.registry}, pull from ${config.registryPull}, refused without credentials` };
      },
    },
    {
      name: 'cluster',
      fix: 'check that the API server runs (systemctl status k3s) and KUBECONFIG in /etc/slipway/slipway.env',
      async run(signal) {
        if (!kube) return { ok: false, detail: 'KUBECONFIG is not set', fix: `set it in /etc/slipway/slipway.env or ${rerun}` };
        try {
          return await bounded(clusterCheck(config, kube), CLUSTER_CHECK_MS, signal, `the Kubernetes API did not answer within ${CLUSTER_CHECK_MS / 1000} s`);
        } catch (err) {
          // A user without cluster rights is not a stopped API server: say what it lacks.
          if (/\b403\b/.test((err as Error).message)) return { ok: false, detail: (err as Error).message, fix: "the kubeconfig's user needs cluster-wide rights (list nodes, ingress and storage classes, manage namespaces)" };
          throw err;
        }
      },
    },
    {
      name: 'ingress',
      fix: "correct SLIPWAY_INGRESS_API (Traefik's `traefik` entry point with `api.insecure`), or unset it",
      async run(signal) {
        // Optional: without it a switch of traffic is confirmed by the EndpointSlices alone.
        if (!config.ingressApi) return { ok: true, detail: "SLIPWAY_INGRESS_API is unset: a deploy's switch of traffic is confirmed by the Service's EndpointSlices" };
        if (!kube) return { ok: false, detail: `SLIPWAY_INGRESS_API is set, but KUBECONFIG is not: Traefik's API is asked through the cluster's API server` };
        // Asked as the deployer asks it (a proxy path through the cluster's API server).
        const answer = await askIngressApi(kube, config.ingressApi, '/api/version', { timeoutMs: 3000, maxBytes: 64 * 1024, signal });
        if ('error' in answer) return { ok: false, detail: `Traefik's API at ${config.ingressApi} is not reachable: ${answer.error}` };
        if (answer.status !== 200) return { ok: false, detail: `Traefik's API at ${config.ingressApi} answered ${answer.status} to /api/version` };
        const v = ((): { Version?: string } => { try { return JSON.parse(answer.body) as { Version?: string }; } catch { return {}; } })();
        return { ok: true, detail: `Traefik ${v.Version ?? '(version unknown)'} at ${config.ingressApi}: a switch of traffic is confirmed by its routes` };
      },
    },
    dashboardSiteCheck(config),
    {
      name: 'disk',
      fix: `create ${config.dataDir} or set SLIPWAY_DATA_DIR`,
      async run() {
        const s = await statfs(config.dataDir);
        const free = s.bavail * s.bsize;
        const gib = (free / 1024 ** 3).toFixed(1);
        if (free < FREE_DISK_MIN) return { ok: false, detail: `${gib} GiB free under ${config.dataDir}`, fix: 'free space: docker image prune, repo:purge-cache APP, or grow the disk' };
        return { ok: true, detail: `${gib} GiB free under ${config.dataDir}` };
      },
    },
    {
      name: 'ssh crypto',
      async run() {
        if (!services.nativeCrypto) return { ok: false, detail: 'not known in this process', fix: 'run doctor over SSH or with the local slipway CLI' };
        if (!services.nativeCrypto()) return { ok: false, detail: "ssh2's native crypto binding did not load (transfers about 10x slower)", fix: `rebuild the npm dependencies with g++ and make present: ${rerun}` };
        return { ok: true, detail: "ssh2's native crypto binding loaded" };
      },
    },
    plainHttpCheck(config),
    ...(config.collectorImage && kube ? [eventsNodeCheck(config, kube)] : []),
    ...(services.store ? [databasesCheck(services.store)] : []),
    ...(config.backupRecipient ? [selfBackupCheck(config)] : []),
    ...roundChecks(services.rounds),
  ];
}

/** Every Postgres database passed its last restore drill, and one older than a day had one in the last 26 hours. */
function databasesCheck(store: Services['store']): DoctorCheck {
  return {
    name: 'database backups',
    async run() {
      const unproven = unprovenDatabases({ store });
      if (unproven.length === 0) return { ok: true, detail: 'every Postgres database passed its last restore drill, within 26 h (or is younger than that)' };
      return { ok: false, detail: `backups not proven by a restore: ${unproven.join('; ')}`, fix: 'pg:backups:verify APP NAME runs a drill now and says which step fails' };
    },
  };
}

/** When backups are configured: the newest verified backup of Slipway is younger than SLIPWAY_BACKUP_STALE_H. */
function selfBackupCheck(config: Readonly<Config>): DoctorCheck {
  return {
    name: 'slipway backups',
    fix: `check that ${config.backupDir} can be read`,
    async run() {
      return backupFreshness(config, Date.now()) ?? { ok: true, detail: 'backups are not configured (SLIPWAY_BACKUP_KEY)' };
    },
  };
}

/** One check per background round: it passes while its last round succeeded (or none ran yet). */
function roundChecks(rounds: BackgroundRounds | undefined): DoctorCheck[] {
  return (rounds?.list() ?? []).map((r) => ({
    name: `round ${r.name}`,
    async run() {
      const every = r.intervalMs > 0 ? `every ${Math.round(r.intervalMs / 1000)} s` : 'on demand only';
      const last = r.lastFinished ? `, last ended ${r.lastFinished}` : ', not run yet';
      const detail = `${r.what} (${every}; ${r.runs} run${r.runs === 1 ? '' : 's'}${last}${r.running ? ', running now' : ''})`;
      if (r.lastError === null) return { ok: true, detail };
      return { ok: false, detail: `${detail}: the last one failed: ${r.lastError}`, fix: `see the server's log; rounds:run ${r.name} runs it again now` };
    },
  }));
}

/** doctor --json (admins only): every check's name and outcome, in order. */
export async function runDoctor(actor: Actor): Promise<DoctorResult[]> {
  requireAdmin(actor, 'Only admins may run doctor.');
  const { services } = actor;
  const checks = services.doctorChecks?.() ?? doctorChecks(services.config, services);
  const results = await runChecks(checks, actor.signal ?? new AbortController().signal);
  return results.map((r) => ({ name: r.name, ...r.outcome }));
}
