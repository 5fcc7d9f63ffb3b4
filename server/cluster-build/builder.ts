// The cluster build backend (SLIPWAY_BUILD_BACKEND=cluster): each push is built in a pod of its own
// in the namespace slipway-builds, by the builder image's CNB lifecycle, which exports straight to
// the registry the nodes pull from. No Docker engine and no pack on the server.
//
// One build: wait for a slot (BuildQueue) → make the pod (and the Secret with the registry's
// credential, owned by the pod) → stream the pushed tree and the build env in over exec (a tar on
// stdin of the receive container: the pod needs no credential to fetch anything) → follow each
// container's log as it starts, in order, into the push and the build log → read the image
// digest from the export phase's report (its termination message) → delete the pod.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterNetwork, Config, RegistryAuth } from '../config.ts';
import { UserError } from '../errors.ts';
import { pipe } from '../exec.ts';
import type { Builder, BuildRequest, BuildResult } from '../build/builder.ts';
import { BuildLog } from '../build/build-log.ts';
import { inspectImage, processesFromLabel } from '../build/image.ts';
import { explainFailure, imageRepository, transcriptLine } from '../build/pack.ts';
import type { KubeClient } from '../deploy/kube-client.ts';
import type { V1Pod } from '../deploy/kube-types.ts';
import { log } from '../output/log.ts';
import { cacheImage, cacheImageApps, cacheImageBytes, purgeCacheImage } from './cache.ts';
import {
  BUILD_NAMESPACE, PHASES, PHASE_HEADERS, RECEIVE, RECEIVED_MARK, buildNamespace, buildNetworkPolicy, buildPod, buildSecret, ownedSelector, secretFor,
  type BuildPodSpec,
} from './pod.ts';
import { BuildQueue } from './queue.ts';

type V1ContainerStatus = NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number];

/** What the cluster builder needs from the server's config. */
export interface ClusterBuildSettings {
  /** The registry as the server reaches it (results and cache GC use this address). */
  registry: string;
  /** The registry as the cluster's nodes and pods reach it (the pod exports here). */
  registryPull: string;
  registryAuth?: Readonly<RegistryAuth> | undefined;
  buildTimeoutMs: number;
  cpu: string;
  memory: string;
  concurrency: number;
  /** Who owns the build pods (ownerId of the data dir): a server starting removes its own leftovers. */
  owner: string;
  network: Pick<ClusterNetwork, 'nodeAddresses'>;
}

/** The cluster builder's settings from the server's config. */
export function clusterBuildSettings(config: Readonly<Config>): ClusterBuildSettings {
  return {
    registry: config.registry, registryPull: config.registryPull, registryAuth: config.registryAuth, buildTimeoutMs: config.buildTimeoutMs,
    cpu: config.buildCpu, memory: config.buildMemory, concurrency: config.buildConcurrency, owner: ownerId(config.dataDir), network: config.network,
  };
}

/** A label-safe id of the server that owns build pods: a hash of its data dir. */
export function ownerId(dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
}

/** Loopback registries speak plain HTTP (as Docker and Slipway's own registry client treat them). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

/** The builder image as the nodes pull it: the server's registry address swapped for the nodes' one. */
export function pullRef(image: string, s: Pick<ClusterBuildSettings, 'registry' | 'registryPull'>): string {
  return image.startsWith(`${s.registry}/`) ? `${s.registryPull}/${image.slice(s.registry.length + 1)}` : image;
}

/** The builder's CNB user and group, from its image's CNB_USER_ID / CNB_GROUP_ID. */
export function cnbUser(env: readonly string[]): { uid: number; gid: number } | undefined {
  const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
  const uid = Number(get('CNB_USER_ID'));
  const gid = Number(get('CNB_GROUP_ID'));
  // runAsNonRoot: a builder whose build user is root cannot be run here.
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0 || gid < 0) return undefined;
  return { uid, gid };
}

/** The keys of an app's config that can be platform env files (`/platform/env/KEY`), and those that cannot. */
export function platformEnv(env: Readonly<Record<string, string>>): { files: [string, string][]; left: string[] } {
  const files: [string, string][] = [];
  const left: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) files.push([k, v]);
    else left.push(k);
  }
  return { files, left };
}

/** The sentence for a container that ended without success. */
export function explainContainer(phase: string, state: { exitCode: number; reason?: string | undefined }, tail: readonly string[], ctx: { memory: string; registry: string; minutes: number; timeoutMs: number }): string {
  if (state.reason === 'OOMKilled') return `The build ran out of memory (OOMKilled) in its ${phase} phase: it needed more than its ${ctx.memory} limit (SLIPWAY_BUILD_MEMORY).`;
  if (state.reason === 'DeadlineExceeded') return tookTooLong(ctx.timeoutMs);
  const said = explainFailure(tail, state.exitCode, { registry: ctx.registry, minutes: ctx.minutes });
  if (said.startsWith('The build failed (pack exited')) return `The build failed in its ${phase} phase (exit code ${state.exitCode}); the output above says why.`;
  return said;
}

/** The sentence for a build stopped at its deadline (SLIPWAY_BUILD_TIMEOUT_S). */
export function tookTooLong(timeoutMs: number): string {
  const limit = timeoutMs >= 120_000 ? `${Math.round(timeoutMs / 60_000)} minutes` : `${Math.round(timeoutMs / 1000)} seconds`;
  return `The build took longer than ${limit} and was stopped (SLIPWAY_BUILD_TIMEOUT_S).`;
}

/** The status of one container of a pod, init or not. */
function statusOf(pod: V1Pod | undefined, name: string): V1ContainerStatus | undefined {
  return [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])].find((c) => c.name === name);
}

/** Waiting reasons that will not fix themselves. */
const STUCK = /^(ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError|CreateContainerError|RunContainerError)$/;
/** A timestamped pod-log line: `2026-12-03T12:00:00.123456789Z text`. */
const KUBE_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ?/;
/** How often the pod's status is read while waiting for a container. */
const POLL_MS = 150;

/** Builds in pods on the cluster with the builder image's lifecycle; publishes straight to the registry. */
export class ClusterBuilder implements Builder {
  readonly name = 'cluster';
  readonly wantsDirectory = true;
  readonly settings: ClusterBuildSettings;
  readonly queue: BuildQueue;
  readonly #kube: KubeClient;
  #ready: Promise<void> | undefined;
  readonly #users = new Map<string, Promise<{ uid: number; gid: number }>>();

  constructor(kube: KubeClient, settings: ClusterBuildSettings) {
    this.#kube = kube;
    this.settings = settings;
    this.queue = new BuildQueue(settings.concurrency);
  }

  /** The namespace and its NetworkPolicy, applied once per process (again after a failure). */
  #ensureNamespace(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#kube.apply(buildNamespace());
      await this.#kube.apply(buildNetworkPolicy(this.settings.registryPull, this.settings.network));
    })().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /** The builder image's CNB user, read once per image from the registry. */
  #userOf(builderImage: string): Promise<{ uid: number; gid: number }> {
    let p = this.#users.get(builderImage);
    if (!p) {
      p = inspectImage(builderImage, this.settings.registryAuth).then(({ env }) => {
        const user = cnbUser(env);
        if (!user) throw new UserError(`The builder image ${builderImage} names no non-root build user (CNB_USER_ID, CNB_GROUP_ID): it cannot build in the cluster.`);
        return user;
      }, (err: unknown) => {
        throw new UserError(`The builder image ${builderImage} could not be read from its registry (the cluster build backend reads its build user there; name its registry, e.g. docker.io/heroku/builder:24, and check builder:set).`, { cause: err });
      });
      p.catch(() => this.#users.delete(builderImage));
      this.#users.set(builderImage, p);
    }
    return p;
  }

  /** Deletes the build pods a previous process of this server left behind (their Secrets go with them). */
  async removeLeftovers(): Promise<number> {
    const pods = await this.#kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(this.settings.owner) });
    for (const p of pods) if (p.metadata?.name) await this.#kube.remove('v1', 'Pod', p.metadata.name, BUILD_NAMESPACE, { gracePeriodSeconds: 0 });
    return pods.length;
  }

  /** This server's build pods now in the cluster (names). */
  async buildPods(): Promise<string[]> {
    const pods = await this.#kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(this.settings.owner) });
    return pods.map((p) => p.metadata?.name ?? '').filter(Boolean);
  }

  purgeCache(app: string): Promise<void> {
    return purgeCacheImage({ registry: this.settings.registry, auth: this.settings.registryAuth }, app);
  }

  cachedApps(): Promise<string[]> {
    return cacheImageApps({ registry: this.settings.registry, auth: this.settings.registryAuth });
  }

  cacheBytes(app: string): Promise<number | undefined> {
    return cacheImageBytes({ registry: this.settings.registry, auth: this.settings.registryAuth }, app);
  }

  /** Nothing to prune here: images are built on the nodes and go straight to the registry. */
  pruneImages(): Promise<number> {
    return Promise.resolve(0);
  }

  async build(req: BuildRequest): Promise<BuildResult> {
    const s = this.settings;
    const t = req.transcript;
    const release = await this.queue.acquire(req.signal, (ahead) => {
      t.detail(`Waiting for a build slot: ${ahead} ahead in line (all ${this.queue.limit} slots busy, SLIPWAY_BUILD_CONCURRENCY)`);
    });
    const logStream = new BuildLog(req.logFile, req.maxLogBytes ?? Infinity);
    const name = `${req.app.slice(0, 40)}-${randomBytes(4).toString('hex')}`;
    let created = false;
    try {
      await this.#ensureNamespace();
      const user = await this.#userOf(req.builderImage);
      const repo = imageRepository(s.registryPull, req.app);
      const spec: BuildPodSpec = {
        name, app: req.app, owner: s.owner, builderImage: pullRef(req.builderImage, s),
        imageRepo: repo, tags: [req.tag], cacheImage: cacheImage(s.registryPull, req.app),
        registry: s.registryPull, insecureRegistry: isLoopbackRegistry(s.registryPull),
        // A registry on the node's loopback (the testbed's; install.sh's own is NODE-IP:5000) is
        // reachable only from the node's own network namespace. On it, the pod shares the node's
        // network and the namespace's NetworkPolicy does not apply to it: acceptable for a
        // single-machine testbed, not for a cluster whose builds run untrusted code, which should
        // use a registry address the pod network reaches (SLIPWAY_REGISTRY_PULL).
        hostNetwork: isLoopbackRegistry(s.registryPull),
        uid: user.uid, gid: user.gid, cpu: s.cpu, memory: s.memory,
        deadlineSeconds: Math.ceil(s.buildTimeoutMs / 1000),
        ...(s.registryAuth ? { authSecret: secretFor(name) } : {}),
      };
      const { files, left } = platformEnv(req.env);
      for (const key of left) t.warn(`${key} is left out of the build: the lifecycle takes only names of letters, digits and _ (the app still gets it when it runs)`);
      const pod = await this.#kube.apply(buildPod(spec));
      created = true;
      if (s.registryAuth) await this.#kube.apply(buildSecret(spec, s.registryAuth, pod.metadata.uid ?? ''));
      return await this.#run(name, spec, req, files, logStream);
    } finally {
      if (created) {
        // The Secret goes with its owner, the pod; removed here too so it never outlives the build.
        await this.#kube.remove('v1', 'Pod', name, BUILD_NAMESPACE, { gracePeriodSeconds: 0 }).catch((err: unknown) => log.warn('could not delete a build pod', { pod: name, err }));
        if (s.registryAuth) await this.#kube.remove('v1', 'Secret', secretFor(name), BUILD_NAMESPACE).catch((err: unknown) => log.warn('could not delete a build secret', { pod: name, err }));
      }
      release();
      await logStream.end();
    }
  }

  async #run(name: string, spec: BuildPodSpec, req: BuildRequest, env: [string, string][], logStream: BuildLog): Promise<BuildResult> {
    const s = this.settings;
    const t = req.transcript;
    // The pod's own deadline (activeDeadlineSeconds) starts once a node takes it; this one also
    // covers a pod that never gets a node.
    const deadline = Date.now() + s.buildTimeoutMs + 60_000;
    const minutes = Math.round(s.buildTimeoutMs / 60000);
    const ctx = { memory: s.memory, registry: s.registry, minutes, timeoutMs: s.buildTimeoutMs };
    const tail: string[] = [];
    const line = (raw: string) => {
      logStream.line(raw);
      const text = raw.replace(KUBE_TIMESTAMP, '');
      tail.push(text);
      if (tail.length > 60) tail.shift();
      const shown = transcriptLine(text);
      if (shown?.raw) t.raw(shown.text);
      else if (shown) t.detail(shown.text);
    };
    const cancelled = () => new UserError('The build was cancelled.', { cause: req.signal.reason });

    let unschedulableSaid = false;
    /** Reads the pod until `container` has started (or ended); throws when it never will. */
    const started = async (container: string): Promise<V1ContainerStatus> => {
      for (;;) {
        if (req.signal.aborted) throw cancelled();
        if (Date.now() > deadline) throw new UserError(tookTooLong(s.buildTimeoutMs));
        const pod = await this.#kube.read<V1Pod>('v1', 'Pod', name, BUILD_NAMESPACE);
        if (!pod) throw new Error(`the build pod ${name} disappeared`);
        if (pod.status?.reason === 'DeadlineExceeded') throw new UserError(tookTooLong(s.buildTimeoutMs));
        const st = statusOf(pod, container);
        if (st?.state?.running || st?.state?.terminated) return st;
        const waiting = st?.state?.waiting;
        if (waiting?.reason && STUCK.test(waiting.reason)) {
          if (/Image|ImagePull/.test(waiting.reason)) throw new UserError(`The cluster could not pull the builder image ${spec.builderImage} (${waiting.reason}: ${(waiting.message ?? '').slice(0, 200)}); nothing was built.`);
          throw new Error(`the build pod's ${container} container cannot start: ${waiting.reason} ${waiting.message ?? ''}`);
        }
        if (pod.status?.phase === 'Failed') throw new UserError(`The build pod failed before its ${container} step (${pod.status.reason ?? 'no reason given'}: ${pod.status.message ?? ''}).`);
        const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
        if (unschedulable && !unschedulableSaid) {
          unschedulableSaid = true;
          t.detail(`Waiting for a node with room for the build (${s.cpu} CPU, ${s.memory}): ${unschedulable.message ?? ''}`);
        }
        await sleep(POLL_MS, undefined, { signal: req.signal }).catch(() => undefined);
      }
    };
    /** Reads the pod until `container` has ended. */
    const ended = async (container: string) => {
      for (;;) {
        if (req.signal.aborted) throw cancelled();
        const pod = await this.#kube.read<V1Pod>('v1', 'Pod', name, BUILD_NAMESPACE);
        // Past its deadline the kubelet kills the running container (exit 137, reason Error): the
        // pod's reason is the one that says why.
        if (pod?.status?.reason === 'DeadlineExceeded') return { exitCode: 137, reason: 'DeadlineExceeded', message: undefined };
        const term = statusOf(pod, container)?.state?.terminated;
        if (term) return term;
        if (Date.now() > deadline) throw new UserError(tookTooLong(s.buildTimeoutMs));
        await sleep(POLL_MS, undefined, { signal: req.signal }).catch(() => undefined);
      }
    };

    // receive: the tree, then the build env, then the mark that lets the phases go.
    const receiving = await started(RECEIVE);
    if (receiving.state?.terminated) throw new Error(`the build pod's receive step ended before the tree was sent: ${receiving.state.terminated.reason ?? ''} ${receiving.state.terminated.message ?? ''}`);
    await this.#send(name, ['tar', '-x', '-f', '-', '-C', '/workspace'], req.source, undefined, req.signal);
    await this.#sendEnv(name, env, req.signal);
    await this.#exec(name, ['touch', RECEIVED_MARK], Readable.from([]), req.signal);
    const received = await ended(RECEIVE);
    if (received.exitCode !== 0) throw new Error(`the build pod's receive step failed (${received.exitCode}): ${received.message ?? ''}`);

    let report = '';
    for (const phase of PHASES) {
      await started(phase);
      t.detail(`===> ${PHASE_HEADERS[phase]}`);
      logStream.line(`===> ${PHASE_HEADERS[phase]}`);
      // A container that ended already still has its whole log; one running is followed live.
      await this.#kube.followPodLog(BUILD_NAMESPACE, name, phase, { signal: req.signal }, line).catch((err: unknown) => {
        if (!req.signal.aborted) throw err;
      });
      const term = await ended(phase);
      if (term.exitCode !== 0 || term.reason === 'OOMKilled') throw new UserError(explainContainer(phase, { exitCode: term.exitCode, reason: term.reason }, tail, ctx));
      if (phase === 'export') report = term.message ?? '';
    }

    const digest = /digest\s*=\s*"(sha256:[0-9a-f]{64})"/.exec(report)?.[1];
    if (!digest) throw new Error(`the build's export succeeded but its report names no image digest: ${report.slice(0, 300)}`);
    const image = `${imageRepository(s.registry, req.app)}@${digest}`;
    const { labels } = await inspectImage(image, s.registryAuth).catch((err: unknown) => {
      throw new UserError(`The image was built but could not be read back from ${s.registry}.`, { cause: err });
    });
    const processes = processesFromLabel(labels['io.buildpacks.build.metadata']);
    if (processes.length === 0) throw new UserError('The image declares no processes: add a Procfile or a start script.');
    return { image, digest, processes };
  }

  /** Streams `tar -c` of the entries of a directory on this machine into `command` in the receive container. */
  async #send(pod: string, command: string[], dir: string, only: string | undefined, signal: AbortSignal): Promise<void> {
    // The entries by name, not `.`: the pod's volume directory belongs to root, and tar there (as
    // the builder's user) may not set its mode or times, and would fail. The names go in on
    // stdin, NUL-separated and verbatim (a name starting with `-` is a name, not an option).
    // --numeric-owner: names of this machine's users mean nothing in the pod; the files belong to
    // whoever extracts them there (the builder's CNB user).
    const names = only ? [only] : await readdir(dir);
    const tar = pipe('tar', ['-c', '-f', '-', '--numeric-owner', '-C', dir, '--null', '--verbatim-files-from', '--files-from', '-'], { signal });
    tar.stdin.end(names.map((n) => `${n}\0`).join(''));
    // Into a stream of our own at once: the exec API's websocket opens later, and the child's
    // stdout is already flowing (its data would be gone by then). The PassThrough holds it, and
    // its backpressure holds tar.
    const body = new PassThrough();
    tar.stdout.pipe(body);
    const stderr: Buffer[] = [];
    tar.stderr.on('data', (c: Buffer) => stderr.push(c));
    const [code, tarCode] = await Promise.all([this.#exec(pod, command, body, signal), tar.exited]);
    if (tarCode !== 0) throw new Error(`tar of ${dir} exited with ${tarCode}: ${Buffer.concat(stderr).toString().slice(0, 300)}`);
    if (code !== 0) throw new Error(`${command.join(' ')} in the build pod exited with ${code}`);
  }

  /** Writes the build env as `/platform/env/KEY` files (never in argv, never in the pod's spec). */
  async #sendEnv(pod: string, env: [string, string][], signal: AbortSignal): Promise<void> {
    const work = await mkdtemp(join(tmpdir(), 'slipway-build-env-'));
    try {
      await mkdir(join(work, 'env'), { mode: 0o700 });
      for (const [k, v] of env) await writeFile(join(work, 'env', k), v, { mode: 0o600 });
      await this.#send(pod, ['tar', '-x', '-f', '-', '-C', '/platform'], work, 'env', signal);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async #exec(pod: string, command: string[], stdin: Readable, signal: AbortSignal): Promise<number> {
    const out: Buffer[] = [];
    const code = await this.#kube.exec(BUILD_NAMESPACE, pod, RECEIVE, command, {
      stdin,
      stdout: async (c) => { out.push(c); },
      stderr: async (c) => { out.push(c); },
    }, signal);
    if (code !== 0) log.warn('a command in a build pod failed', { pod, command: command.join(' '), output: Buffer.concat(out).toString().slice(0, 500) });
    return code;
  }
}
