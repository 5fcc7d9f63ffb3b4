// The cluster build backend (SLIPWAY_BUILD_BACKEND=cluster): each push is built in a pod of its own
// in the namespace slipway-builds, by the builder image's CNB lifecycle, which exports straight to
// the registry the nodes pull from. No Docker engine and no pack on the server.
//
// One build: wait for a slot (BuildQueue) → take the spare pod (started before, while a slot was
// free) or start one (with the Secret holding its credential for the registry gate, gate.ts, owned
// by the pod), and let that credential reach the app's own repositories → stream
// the pushed tree and the build env in over exec (a tar on stdin: the pod needs no credential to
// fetch anything) → run each lifecycle phase over exec, in order, its output line by line into the
// push and the build log → read the image digest from the export phase's report → delete the pod,
// and start the next spare.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryAuth } from '../config.ts';
import { UserError } from '../errors.ts';
import { pipe } from '../exec.ts';
import type { Builder, BuildRequest, BuildResult } from '../build/builder.ts';
import { BuildLog } from '../build/build-log.ts';
import { builtOn, inspectImage, parseImageRef, processesFromLabel } from '../build/image.ts';
import { imageRepository, transcriptLine } from '../build/pack.ts';
import type { KubeClient } from '../kube/client.ts';
import type { V1Node, V1Pod } from '../kube/types.ts';
import { buildNodeAffinity } from '../kube/placement.ts';
import { BUILDS_NODE_LABEL } from '../kube/labels.ts';
import { execOutput, lineIo } from '../kube/exec-io.ts';
import { log } from '../output/log.ts';
import { cacheImage, cacheImageApps, cacheImageBytes, cacheRepository, purgeCacheImage } from './cache.ts';
import {
  BUILD_CONTAINER, BUILD_NAMESPACE, PHASES, PHASE_HEADERS, appLabels, buildNamespace, buildNetworkPolicy, buildPod,
  buildSecret, gatePolicy, gatePolicyName, ownedSelector, phaseExec, secretFor, splitHostPort, type BuildPodSpec, type PhaseTarget,
} from './pod.ts';
import { RegistryGate, type GateCredential } from './gate.ts';
import { BuildQueue, slotFor } from './queue.ts';
import {
  buildRef, builderRunImage, cnbUser, evicted, explainContainer, isLoopbackRegistry, isPlainHttpRegistry, platformEnv, pullRef, serverRef, tookTooLong, type BuilderInfo,
} from './refs.ts';
import type { ClusterBuildSettings } from './settings.ts';

export { clusterBuildSettings, ownerId, type ClusterBuildSettings } from './settings.ts';

/** Waiting reasons that will not fix themselves. */
const STUCK = /^(ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError|CreateContainerError|RunContainerError)$/;
/** A container's configuration may fail for a moment (the kubelet has not yet synced the pod's new Secret); it counts as stuck after this. */
const CONFIG_GRACE_MS = 30_000;
/** How often the pod's status is read while waiting for its containers to start. */
const POLL_MS = 100;
/** A spare pod's own deadline (the kubelet's): lowered to the build's when a push takes it. */
const SPARE_DEADLINE_SECONDS = 6 * 3600;
/** The field manager of a spare's claim (its label and lowered deadline), apart from the pod's own. */
const CLAIM_MANAGER = 'slipway-build-claim';
/** The container's memory cgroup: its `oom_kill` count says whether the kernel killed for memory (cgroup v2, then v1). */
const OOM_COUNT = ['sh', '-c', 'cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control'];

/** Rejects once `signal` aborts (at once if it has). */
function cancelledBy(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const cancel = () => reject(new UserError('The build was cancelled.', { cause: signal.reason }));
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
  });
}

/** A build pod started (or starting) before a push needs it. */
interface Spare {
  builderImage: string;
  /** Set once the pod is created. */
  name: string;
  /** When its creation was asked for: its age is at most the time since. */
  since: number;
  /** Resolves once both its containers run. */
  ready: Promise<void>;
  /** No push will take it (the server stops, or builds use another builder image): remove it once it exists. */
  dropped: boolean;
  /** Why no node takes it yet (the scheduler's message), and who is to hear it: the push waiting for it. */
  unschedulable?: string;
  onUnschedulable?: (why: string) => void;
}

/** Builds in pods on the cluster with the builder image's lifecycle; publishes straight to the registry. */
export class ClusterBuilder implements Builder {
  readonly name = 'cluster';
  readonly wantsDirectory = true;
  readonly settings: ClusterBuildSettings;
  readonly queue: BuildQueue;
  readonly #kube: KubeClient;
  #ready: Promise<void> | undefined;
  #spare: Spare | undefined;
  readonly #closing = new AbortController();
  readonly #users = new Map<string, Promise<BuilderInfo>>();
  /** The registry gate build pods talk to, once started (none: they talk to the registry itself). */
  #gate: { gate: RegistryGate; address: string } | undefined;

  constructor(kube: KubeClient, settings: ClusterBuildSettings) {
    this.#kube = kube;
    this.settings = settings;
    this.queue = new BuildQueue(settings.concurrency, settings.concurrencyPerKey);
  }

  /** The namespace and its NetworkPolicy, and the registry gate, set up once per process (again after a failure). */
  #ensureNamespace(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#kube.apply(buildNamespace());
      await this.#kube.apply(buildNetworkPolicy(this.settings.buildRegistry, this.settings.network, this.settings.egress));
      await this.#startGate();
    })().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /**
   * The registry gate, on the address build pods reach the registry at (SLIPWAY_BUILD_REGISTRY's
   * host, or the node's loopback), when the registry has a credential to keep from them. A build
   * registry named by a DNS name, or not of this machine, has no gate: pods then hold the
   * registry's own credential, as doctor says.
   */
  async #startGate(): Promise<void> {
    const s = this.settings;
    const { host } = splitHostPort(s.buildRegistry);
    if (this.#gate || !s.registryAuth || !/^(\d+\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) return;
    const gate = new RegistryGate(s.registry, s.registryAuth);
    const address = await gate.listen(host).catch((err: unknown) => {
      log.warn('the registry gate could not listen where build pods reach the registry; build pods get the registry\'s own credential', { host, err });
      return undefined;
    });
    if (!address) return;
    // On the pod network the namespace's policy opens the registry's port only: this server's pods may reach the gate's too.
    if (!isLoopbackRegistry(s.buildRegistry)) await this.#kube.apply(gatePolicy(s.owner, address));
    this.#gate = { gate, address };
  }

  /** The registry as this server's build pods reach it: the gate, or the build registry itself. */
  #podRegistry(): string {
    return this.#gate?.address ?? this.settings.buildRegistry;
  }

  /** The builder image's CNB user and run image, read once per image from the registry. */
  #userOf(builderImage: string): Promise<BuilderInfo> {
    let p = this.#users.get(builderImage);
    if (!p) {
      p = inspectImage(builderImage, this.settings.registryAuth).then(({ env, labels }) => {
        const user = cnbUser(env);
        if (!user) throw new UserError(`The builder image ${builderImage} names no non-root build user (CNB_USER_ID, CNB_GROUP_ID): it cannot build in the cluster.`);
        return { ...user, runImage: builderRunImage(labels) };
      }, (err: unknown) => {
        throw new UserError(`The builder image ${builderImage} could not be read from its registry (the cluster build backend reads its build user there; name its registry, e.g. docker.io/heroku/builder:24, and check builder:set).`, { cause: err });
      });
      p.catch(() => this.#users.delete(builderImage));
      this.#users.set(builderImage, p);
    }
    return p;
  }

  /** Deletes the build pods (and their Secrets) a previous process of this server left behind. */
  async removeLeftovers(): Promise<number> {
    const selector = { labelSelector: ownedSelector(this.settings.owner) };
    const pods = await this.#kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, selector);
    for (const p of pods) if (p.metadata?.name) await this.#kube.remove('v1', 'Pod', p.metadata.name, BUILD_NAMESPACE, { gracePeriodSeconds: 0 });
    // A Secret is made just before its pod: one whose pod never came has no owner to go with.
    const secrets = await this.#kube.list<{ metadata?: { name?: string } }>('v1', 'Secret', BUILD_NAMESPACE, selector);
    for (const sec of secrets) if (sec.metadata?.name) await this.#kube.remove('v1', 'Secret', sec.metadata.name, BUILD_NAMESPACE);
    return pods.length;
  }

  /** This server's build pods now in the cluster (names), the spare among them. */
  async buildPods(): Promise<string[]> {
    const pods = await this.#kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(this.settings.owner) });
    return pods.map((p) => p.metadata?.name ?? '').filter(Boolean);
  }

  /** The server is stopping: the spare pod goes (a build's own pod goes with its push). */
  async close(): Promise<void> {
    this.#closing.abort();
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare) {
      spare.dropped = true;
      await spare.ready.catch(() => undefined);
      if (spare.name) await this.#removePod(spare.name);
    }
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate) {
      await gate.gate.close();
      if (!isLoopbackRegistry(this.settings.buildRegistry)) await this.#kube.remove('networking.k8s.io/v1', 'NetworkPolicy', gatePolicyName(this.settings.owner), BUILD_NAMESPACE).catch(() => undefined);
    }
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
    const release = await slotFor(this.queue, req);
    const logStream = new BuildLog(req.logFile, req.maxLogBytes ?? Infinity);
    let name: string | undefined;
    const builderImage = pullRef(req.builderImage, s);
    try {
      await this.#ensureNamespace();
      const user = await this.#userOf(req.builderImage);
      const pod = await this.#claim(builderImage, user, req);
      name = pod.name;
      // The next push's pod starts now, while this one builds (if a slot is left for it).
      this.#keepSpare(builderImage, user);
      await pod.ready;
      const { files, left } = platformEnv(req.env);
      for (const key of left) t.warn(`${key} is left out of the build: the lifecycle takes only names of letters, digits and _ (the app still gets it when it runs)`);
      const at = this.#podRegistry();
      const target: PhaseTarget = {
        imageRepo: imageRepository(at, req.app), tags: [req.tag], cacheImage: cacheImage(at, req.app),
        registry: at, insecureRegistry: this.#gate !== undefined || isPlainHttpRegistry(at, s.registryHttp),
        runImage: user.runImage && buildRef(user.runImage, { ...s, buildRegistry: at }),
      };
      this.#gate?.gate.allow(name, {
        push: [parseImageRef(target.imageRepo).repository, cacheRepository(req.app)],
        pull: target.runImage?.startsWith(`${at}/`) ? [parseImageRef(target.runImage).repository] : [],
      });
      return await this.#run(name, target, req, files, logStream);
    } finally {
      if (name) await this.#removePod(name);
      release();
      await logStream.end();
      // A slot freed: the spare a busy queue could not have now can be started.
      if (this.#spare === undefined && this.queue.waiting === 0) {
        const user = this.#users.get(req.builderImage);
        if (user) user.then((u) => this.#keepSpare(builderImage, u), () => undefined);
      }
    }
  }

  /** Deletes a build pod and its Secret (owned by the pod; removed here too so it never outlives the build). */
  async #removePod(name: string): Promise<void> {
    await this.#kube.remove('v1', 'Pod', name, BUILD_NAMESPACE, { gracePeriodSeconds: 0 }).catch((err: unknown) => log.warn('could not delete a build pod', { pod: name, err }));
    this.#gate?.gate.revoke(name);
    if (this.settings.registryAuth) await this.#kube.remove('v1', 'Secret', secretFor(name), BUILD_NAMESPACE).catch((err: unknown) => log.warn('could not delete a build secret', { pod: name, err }));
  }

  /**
   * The spare pod when it is of this builder image and still runs (then labelled with the app, its
   * deadline lowered to its age plus the build's), else a pod started now for this build.
   */
  async #claim(builderImage: string, user: { uid: number; gid: number }, req: BuildRequest): Promise<{ name: string; ready: Promise<void> }> {
    const s = this.settings;
    const timeoutSeconds = Math.ceil(s.buildTimeoutMs / 1000);
    let unschedulableSaid = false;
    const unschedulable = (why: string) => {
      if (unschedulableSaid) return;
      unschedulableSaid = true;
      req.transcript.detail(`Waiting for a node with room for the build (${s.cpu} CPU, ${s.memory}): ${why}`);
    };
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare && spare.builderImage === builderImage) {
      // A spare still starting is waited for; if no node has room for it, the push says so.
      if (spare.unschedulable) unschedulable(spare.unschedulable);
      spare.onUnschedulable = unschedulable;
      const ok = await Promise.race([
        spare.ready.then(() => true, (err: unknown) => {
          log.warn('the spare build pod did not start; starting another', { pod: spare.name, err });
          return false;
        }),
        // A push that goes away while the spare starts takes it along.
        cancelledBy(req.signal),
      ]).catch((err: unknown) => {
        this.#drop(spare);
        throw err;
      });
      const deadline = Math.ceil((Date.now() - spare.since) / 1000) + 1 + timeoutSeconds;
      if (ok && deadline < SPARE_DEADLINE_SECONDS) {
        // One request: the label and the kubelet's deadline, and the pod's state back.
        const pod = await this.#kube.apply({
          apiVersion: 'v1', kind: 'Pod', metadata: { name: spare.name, namespace: BUILD_NAMESPACE, labels: appLabels(req.app) },
          spec: { activeDeadlineSeconds: deadline },
        } as V1Pod & { apiVersion: string; kind: string; metadata: { name: string } }, CLAIM_MANAGER).catch((err: unknown) => {
          log.warn('could not take the spare build pod; starting another', { pod: spare.name, err });
          return undefined;
        });
        const running = pod?.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.state?.running);
        if (running) return { name: spare.name, ready: Promise.resolve() };
      }
    }
    if (spare) this.#drop(spare);
    const name = await this.#startPod(builderImage, user, { app: req.app, deadlineSeconds: timeoutSeconds });
    return { name, ready: this.#running(name, req.signal, unschedulable) };
  }

  /** Starts a spare pod for the next push, if spares are on, there is none and a slot is free for it. */
  #keepSpare(builderImage: string, user: { uid: number; gid: number }): void {
    if (!this.settings.spare || this.#spare || this.queue.running + this.queue.waiting >= this.queue.limit) return;
    const spare: Spare = { builderImage, name: '', since: Date.now(), ready: Promise.resolve(), dropped: false };
    this.#spare = spare;
    spare.ready = this.#startPod(builderImage, user).then((name) => {
      spare.name = name;
      if (spare.dropped) throw new Error('the spare was dropped while it started');
      return this.#running(name, this.#closing.signal, (why) => {
        spare.unschedulable = why;
        spare.onUnschedulable?.(why);
      });
    });
    spare.ready.catch((err: unknown) => {
      if (this.#spare === spare) this.#spare = undefined;
      this.#drop(spare);
      if (!this.#closing.signal.aborted) log.warn('a spare build pod did not start', { err });
    });
  }

  /** Removes a spare no push will take (now, or once its pod is created). */
  #drop(spare: Spare): void {
    spare.dropped = true;
    if (spare.name) void this.#removePod(spare.name);
  }

  /** Creates a build pod (and its Secret) and returns its name. */
  async #startPod(builderImage: string, user: { uid: number; gid: number }, forBuild?: { app: string; deadlineSeconds: number }): Promise<string> {
    const s = this.settings;
    const name = `build-${randomBytes(6).toString('hex')}`;
    // Onto the build nodes when an admin has labelled any (read at each pod's start: a label takes
    // effect with the next pod).
    const affinity = buildNodeAffinity(await this.#kube.list<V1Node>('v1', 'Node', undefined, { labelSelector: `${BUILDS_NODE_LABEL}=true` }));
    const spec: BuildPodSpec = {
      name, owner: s.owner, builderImage, registry: this.#podRegistry(), affinity,
      // A registry on the node's loopback (the one-node testbed's; install.sh's own is
      // NODE-IP:5000) is reachable only from the node's own network namespace. On it, the pod
      // shares the node's network and the namespace's NetworkPolicy does not apply to it:
      // acceptable for a single-machine testbed, not for a cluster whose builds run untrusted
      // code, which should use a registry address the pod network reaches (SLIPWAY_BUILD_REGISTRY).
      hostNetwork: isLoopbackRegistry(s.buildRegistry),
      uid: user.uid, gid: user.gid, cpu: s.cpu, memory: s.memory, disk: s.disk,
      deadlineSeconds: forBuild?.deadlineSeconds ?? SPARE_DEADLINE_SECONDS,
      ...(forBuild ? { app: forBuild.app } : {}),
      ...(s.registryAuth ? { authSecret: secretFor(name) } : {}),
    };
    // The Secret first (the registry container cannot start without it), then the pod, then the
    // Secret again, owned by the pod so that it goes with it.
    // Its credential: the gate's, for this pod alone (good for nothing until a push takes the pod), or the registry's.
    const auth: GateCredential | RegistryAuth | undefined = this.#gate ? this.#gate.gate.open(name) : s.registryAuth;
    if (auth) await this.#kube.apply(buildSecret(spec, auth, undefined));
    const pod = await this.#kube.apply(buildPod(spec));
    if (auth) await this.#kube.apply(buildSecret(spec, auth, pod.metadata.uid ?? ''));
    return name;
  }

  /** Reads the pod until both its containers run; throws when they never will. */
  async #running(name: string, signal: AbortSignal, unschedulable: (why: string) => void): Promise<void> {
    const since = Date.now();
    const deadline = since + this.settings.buildTimeoutMs + 60_000;
    for (;;) {
      if (signal.aborted) throw new UserError('The build was cancelled.', { cause: signal.reason });
      if (Date.now() > deadline) throw new UserError(tookTooLong(this.settings.buildTimeoutMs));
      const pod = await this.#kube.read<V1Pod>('v1', 'Pod', name, BUILD_NAMESPACE);
      if (!pod) throw new Error(`the build pod ${name} disappeared`);
      const statuses = pod.status?.containerStatuses ?? [];
      if (statuses.length === 2 && statuses.every((c) => c.state?.running)) return;
      for (const st of statuses) {
        if (st.state?.terminated) throw new Error(`the build pod's ${st.name} container ended before the build: ${st.state.terminated.reason ?? ''} ${st.state.terminated.message ?? ''}`);
        const waiting = st.state?.waiting;
        if (waiting?.reason === 'CreateContainerConfigError' && Date.now() < since + CONFIG_GRACE_MS) continue;
        if (waiting?.reason && STUCK.test(waiting.reason)) {
          if (/Image|ImagePull/.test(waiting.reason)) throw new UserError(`The cluster could not pull the builder image ${st.image} (${waiting.reason}: ${(waiting.message ?? '').slice(0, 200)}); nothing was built.`);
          throw new Error(`the build pod's ${st.name} container cannot start: ${waiting.reason} ${waiting.message ?? ''}`);
        }
      }
      if (pod.status?.phase === 'Failed') throw new UserError(`The build pod failed before the build (${pod.status.reason ?? 'no reason given'}: ${pod.status.message ?? ''}).`);
      const unsched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
      if (unsched) unschedulable(unsched.message ?? '');
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  async #run(name: string, target: PhaseTarget, req: BuildRequest, env: [string, string][], logStream: BuildLog): Promise<BuildResult> {
    const s = this.settings;
    const t = req.transcript;
    const minutes = Math.round(s.buildTimeoutMs / 60000);
    // The lifecycle's messages name the registry as the pod reaches it.
    const ctx = { memory: s.memory, registry: target.registry, minutes, timeoutMs: s.buildTimeoutMs };
    const tail: string[] = [];
    const line = (text: string) => {
      logStream.line(text);
      tail.push(text);
      if (tail.length > 60) tail.shift();
      const shown = transcriptLine(text);
      if (shown?.raw) t.raw(shown.text);
      else if (shown) t.detail(shown.text);
    };
    // The server's own deadline: the kubelet's (activeDeadlineSeconds) also stops the pod.
    const timeout = AbortSignal.timeout(s.buildTimeoutMs);
    const signal = AbortSignal.any([req.signal, timeout]);
    const podStatus = async () => (await this.#kube.read<V1Pod>('v1', 'Pod', name, BUILD_NAMESPACE).catch(() => undefined))?.status;
    const failed = async (phase: string, err: unknown): Promise<never> => {
      const status = timeout.aborted ? undefined : await podStatus();
      if (timeout.aborted || status?.reason === 'DeadlineExceeded') throw new UserError(tookTooLong(s.buildTimeoutMs), { cause: err });
      if (status?.reason === 'Evicted') throw new UserError(evicted(status.message, s.disk), { cause: err });
      if (req.signal.aborted) throw new UserError('The build was cancelled.', { cause: req.signal.reason });
      throw new Error(`the build's ${phase} step could not be run in its pod`, { cause: err });
    };

    // The tree and the build env, over exec into the build container, while analyze (which needs
    // neither: it reads the app's previous image and cache from the registry) runs.
    const receiving = Promise.all([
      this.#send(name, ['tar', '-x', '-f', '-', '-C', '/workspace'], req.source, undefined, signal),
      this.#sendEnv(name, env, signal),
    ]).catch((err: unknown) => failed('receive', err));
    receiving.catch(() => undefined);

    // The export phase's report follows this line; a nonce, so no other line can pass for it.
    const reportMark = `slipway-report-${randomBytes(8).toString('hex')}`;
    let report: string | undefined;
    for (const phase of PHASES) {
      if (phase === 'detect') await receiving;
      t.detail(`===> ${PHASE_HEADERS[phase]}`);
      logStream.line(`===> ${PHASE_HEADERS[phase]}`);
      const { container, command } = phaseExec(phase, target, reportMark);
      const onLine = phase !== 'export' ? line : (text: string) => {
        if (report !== undefined) report += `${text}\n`;
        else if (text === reportMark) report = '';
        else line(text);
      };
      const code = await this.#execLines(name, container, command, signal, onLine).catch((err: unknown) => failed(phase, err));
      if (code !== 0) {
        if (timeout.aborted) throw new UserError(tookTooLong(s.buildTimeoutMs));
        const status = await podStatus();
        if (status?.reason === 'Evicted') throw new UserError(evicted(status.message, s.disk));
        // The kernel kills one process for memory (npm's child, say), and what ran it may report
        // its own failure: the container's count of such kills is what tells.
        const reason = await this.#oomKilled(name, container, signal) ? 'OOMKilled' : undefined;
        throw new UserError(explainContainer(phase, { exitCode: code, reason }, tail, ctx));
      }
    }

    report ??= '';
    const digest = /digest\s*=\s*"(sha256:[0-9a-f]{64})"/.exec(report)?.[1];
    if (!digest) throw new Error(`the build's export succeeded but its report names no image digest: ${report.slice(0, 300)}`);
    // The pod's names (the gate's or the build registry's address) as the server names them.
    const names = { registry: s.registry, buildRegistry: target.registry };
    const image = serverRef(`${target.imageRepo}@${digest}`, names);
    const { labels } = await inspectImage(image, s.registryAuth).catch((err: unknown) => {
      throw new UserError(`The image was built but could not be read back from ${s.registry}.`, { cause: err });
    });
    // Checked again from the registry: the image is on the run image analyze was given (export
    // reads which from a file the build cannot write; this holds should that ever change).
    const runImage = target.runImage && serverRef(target.runImage, names);
    if (runImage && !(await builtOn(image, runImage, s.registryAuth).catch((err: unknown) => { throw new Error(`could not compare ${image} with its run image ${runImage}`, { cause: err }); }))) {
      throw new UserError(`The built image is not on the builder's run image ${runImage}: the build changed what its export reads; nothing was deployed.`);
    }
    const processes = processesFromLabel(labels['io.buildpacks.build.metadata']);
    if (processes.length === 0) throw new UserError('The image declares no processes: add a Procfile or a start script.');
    return { image, digest, processes };
  }

  /** Whether the kernel killed a process of the container for memory (its cgroup's oom_kill count). */
  async #oomKilled(pod: string, container: string, signal: AbortSignal): Promise<boolean> {
    const text = await this.#execOutput(pod, container, OOM_COUNT, signal).catch(() => '');
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0) > 0;
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
    const [code, tarCode] = await Promise.all([this.#exec(pod, BUILD_CONTAINER, command, body, signal), tar.exited]);
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

  /** Runs a command in a container of the pod; its output, line by line, goes to `onLine`. */
  async #execLines(pod: string, container: string, command: string[], signal: AbortSignal, onLine: (line: string) => void): Promise<number> {
    const { io, end } = lineIo(onLine);
    try {
      return await this.#kube.exec(BUILD_NAMESPACE, pod, container, command, io, signal);
    } finally {
      end();
    }
  }

  /** Runs a command in a container of the pod and returns what it printed (it must succeed). */
  async #execOutput(pod: string, container: string, command: string[], signal: AbortSignal): Promise<string> {
    const r = await execOutput(this.#kube, { namespace: BUILD_NAMESPACE, pod, container }, command, signal);
    if (r.code !== 0) throw new Error(`${command.join(' ')} in the build pod exited with ${r.code}`);
    return r.stdout;
  }

  async #exec(pod: string, container: string, command: string[], stdin: Readable, signal: AbortSignal): Promise<number> {
    const out: Buffer[] = [];
    const code = await this.#kube.exec(BUILD_NAMESPACE, pod, container, command, {
      stdin,
      stdout: async (c) => { out.push(c); },
      stderr: async (c) => { out.push(c); },
    }, signal);
    if (code !== 0) log.warn('a command in a build pod failed', { pod, command: command.join(' '), output: Buffer.concat(out).toString().slice(0, 500) });
    return code;
  }
}
