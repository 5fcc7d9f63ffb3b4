import { randomBytes } from 'node:crypto';
import type { KubeObject, V1Container, V1CronJob, V1Deployment, V1EnvVar, V1Job, V1Pod, V1PodSecurityContext, V1PodSpec, V1Probe, V1ResourceRequirements, V1SecurityContext } from '../kube/types.ts';
import type { ProcessType } from '../model.ts';
import type { ConcurrencyPolicy, DeployableRelease, HealthCheck, ScheduledTask, VolumeMount } from '../model.ts';
import { ANNOTATION, LABEL, appLabels, namespaceFor, processName, processSelector, secretName } from '../kube/labels.ts';
import { containerVolumeFields, mountsOf, podVolumeFields, strategyFor, volumeSecurity } from './volumes.ts';
import { appNodeAffinity, spreadConstraints } from '../kube/placement.ts';

/** The port every process is told to listen on (`PORT`, as on Heroku and Dokku). */
export const PORT = 5000;
/** Seconds a terminating web pod keeps serving, so the ingress stops routing to it first. */
export const PRESTOP_SECONDS = 5;

/** The Procfile type that runs once per release (release phase), never as a Deployment. */
export const RELEASE_TYPE = 'release';

/** Desired replicas of a process type: the formation, else 1 for `web` and 0 for the rest. */
export function replicasFor(r: Pick<DeployableRelease, 'formation'>, type: string): number {
  return r.formation[type] ?? (type === 'web' ? 1 : 0);
}

/**
 * The container command of a process type. Images built by pack (CNB platform API ≥ 0.4) have a
 * `/cnb/process/<type>` link to the launcher for every process in io.buildpacks.build.metadata;
 * the launcher picks the process from the name it was run as and sets up the buildpack
 * environment first, which running the process's own command directly would skip.
 */
export function processCommand(p: Pick<ProcessType, 'type'>): string[] {
  return [`/cnb/process/${p.type}`];
}

/**
 * Heroku's `DYNO` of a long-running process: `TYPE.1` in every instance. A Deployment's pods have
 * no index (no ordinal, nothing index-like in the downward API), and numbering them would need a
 * controller in every pod's start; so DYNO says "deployed, as this process type", as Heroku's
 * Django app reads it, and the first instance's name, as an app with one instance of a type (the
 * default formation) reads it. With `ps:scale web=3` all three say `web.1`: one-time work belongs
 * in the release phase or `run:detached`, and HOSTNAME (the pod's name) tells instances apart.
 */
export function processDyno(type: string): string {
  return `${type}.1`;
}

/** The release phase's `DYNO` (it runs once per release, in one pod). */
export const RELEASE_DYNO = `${RELEASE_TYPE}.1`;

/**
 * The release metadata every process sees (Heroku's DYNO and SOURCE_VERSION, our SLIPWAY_*),
 * minus any name the user set as a config var: `env` wins over `envFrom`, and config vars must
 * win here.
 */
export function metadataEnv(r: Pick<DeployableRelease, 'app' | 'version' | 'commit' | 'config'>, type: string, dyno: string = processDyno(type)): V1EnvVar[] {
  const vars: [string, string | null | undefined][] = [
    ['DYNO', dyno], ['SOURCE_VERSION', r.commit], ['SLIPWAY_RELEASE', `v${r.version}`], ['SLIPWAY_APP', r.app], ['SLIPWAY_PROCESS', type],
  ];
  return vars.filter(([k, v]) => typeof v === 'string' && !Object.hasOwn(r.config, k)).map(([name, value]) => ({ name, value: value! }));
}

/**
 * The variables the kubelet puts in every container for the API server's `kubernetes` Service,
 * even with enableServiceLinks off (which only drops the other Services' links). App code has no
 * business with the API server: each is set empty here, and the kubelet adds none that a
 * container's own env already names.
 */
export const KUBERNETES_SERVICE_VARS = [
  'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'KUBERNETES_SERVICE_PORT_HTTPS', 'KUBERNETES_PORT',
  'KUBERNETES_PORT_443_TCP', 'KUBERNETES_PORT_443_TCP_PROTO', 'KUBERNETES_PORT_443_TCP_PORT', 'KUBERNETES_PORT_443_TCP_ADDR',
] as const;

/** Every container's env: PORT, the release metadata, and the API server's variables blanked (a config var of the same name wins). */
export function containerEnv(r: Pick<DeployableRelease, 'app' | 'version' | 'commit' | 'config'>, type: string, dyno?: string): V1EnvVar[] {
  const blank = KUBERNETES_SERVICE_VARS.filter((k) => !Object.hasOwn(r.config, k)).map((name) => ({ name, value: '' }));
  return [{ name: 'PORT', value: String(PORT) }, ...metadataEnv(r, type, dyno), ...blank];
}

/**
 * Pod Security "restricted" for every pod an app runs: never root (CNB run images name a numeric
 * non-root user, heroku-24's 1001 and our stack's 1000, so the kubelet can check it), the
 * runtime's default seccomp profile. A run image that asks for root fails to start, with the
 * kubelet's reason in the rollout's output, instead of running as root.
 */
export function podSecurity(mounts: readonly VolumeMount[] = []): V1PodSecurityContext {
  return { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, ...volumeSecurity(mounts) };
}

/** Every container: no capabilities at all (binding a port under 1024 is the only thing a web process might miss, and PORT is 5000), no setuid gains. */
export function containerSecurity(): V1SecurityContext {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true };
}

/** The container resources of a process type: limits and requests as resource:limit/reserve set them. */
export function resourcesFor(r: Pick<DeployableRelease, 'resources'>, type: string): V1ResourceRequirements | undefined {
  const res = r.resources?.[type];
  const clean = (q: Record<string, string | undefined> | undefined) => {
    const e = Object.entries(q ?? {}).filter(([, v]) => v !== undefined) as [string, string][];
    return e.length ? Object.fromEntries(e) : undefined;
  };
  const limits = clean(res?.limits as Record<string, string | undefined> | undefined);
  const requests = clean(res?.requests as Record<string, string | undefined> | undefined);
  if (!limits && !requests) return undefined;
  return { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
}

/** Default seconds between probes of a declared check. */
export const CHECK_WAIT_S = 2;

/** An HTTP health check as a Kubernetes probe. */
export function probeFor(c: HealthCheck): V1Probe {
  return {
    httpGet: { path: c.path, port: c.port ?? 'http' },
    ...(c.initialDelay !== undefined ? { initialDelaySeconds: c.initialDelay } : {}),
    timeoutSeconds: c.timeout ?? 1,
    periodSeconds: c.wait ?? CHECK_WAIT_S,
    failureThreshold: c.attempts ?? 3,
  };
}

function probes(r: DeployableRelease, p: ProcessType): Partial<V1Container> {
  const checks = r.checks?.[p.type] ?? [];
  const of = (type: HealthCheck['type']) => checks.find((c) => c.type === type);
  const readiness = of('readiness');
  const liveness = of('liveness');
  const startup = of('startup');
  return {
    ...(readiness ? { readinessProbe: probeFor(readiness) } : p.type === 'web' ? { readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 3 } } : {}),
    ...(liveness ? { livenessProbe: probeFor(liveness) } : {}),
    ...(startup ? { startupProbe: probeFor(startup) } : {}),
  };
}

/** Whether a type's instances are replaced (Recreate, a volume is mounted) rather than rolled. */
function replaced(r: DeployableRelease, p: ProcessType): boolean {
  return strategyFor(mountsOf(r, p.type)).type === 'Recreate';
}

function container(r: DeployableRelease, p: ProcessType): V1Container {
  const web = p.type === 'web';
  const resources = resourcesFor(r, p.type);
  return {
    name: processName(p.type),
    image: r.image,
    command: processCommand(p),
    // Config reaches the process only through the Secret: never in the spec, argv or annotations.
    envFrom: [{ secretRef: { name: secretName(r.version) } }],
    // Listed after envFrom so it wins: the Service targets this port whatever the config says.
    env: containerEnv(r, p.type),
    ...(resources ? { resources } : {}),
    ...(web
      ? {
          ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
          // A replaced instance (a volume is mounted: Recreate) has no successor the ingress could
          // move to meanwhile: waiting would only lengthen the gap before the new one starts.
          ...(replaced(r, p) ? {} : { lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } } }),
        }
      : {}),
    ...probes(r, p),
    ...containerVolumeFields(mountsOf(r, p.type), r.dataCa !== undefined),
    securityContext: containerSecurity(),
  };
}

/** Seconds a release command gets to exit after its deadline's SIGTERM. */
export const RELEASE_GRACE_SECONDS = 3;

/** What runs in the release pod: the `release` process through the launcher, with the buildpack environment. */
export function releaseCommand(p: Pick<ProcessType, 'type'>): string[] {
  return processCommand(p);
}

/** The name of release `version`'s release-phase pod. */
export function releasePodName(version: number): string {
  return `release-v${version}`;
}

/** `releasePodObject`'s and `runPodObject`'s annotations: the release, and the waiting process when there is one. */
function oneOffAnnotations(r: Pick<DeployableRelease, 'version'>, owner: string | undefined): Record<string, string> {
  return { [ANNOTATION.release]: `v${r.version}`, ...(owner ? { [ANNOTATION.owner]: owner } : {}) };
}

/**
 * The pod a release's `release` process runs in once before its rollout: the new image and
 * config, never restarted, killed by the kubelet after `deadlineSeconds`. Its own process only
 * waits; the command runs in it over the exec API (releaseCommand), as `run` does, so its exit
 * code arrives with the end of its output instead of at the kubelet's next status report.
 */
export function releasePodObject(r: DeployableRelease, p: ProcessType, deadlineSeconds: number, owner?: string): KubeObject<V1Pod> {
  const name = processName(p.type);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: releasePodName(r.version),
      namespace: namespaceFor(r.app),
      labels: { ...appLabels(r.app), [LABEL.process]: name, [LABEL.release]: String(r.version) },
      annotations: oneOffAnnotations(r, owner),
    },
    // A release command past its deadline is stopped, not given the default 30 s to exit (a
    // process running as PID 1 often ignores SIGTERM).
    spec: oneOffPodSpec(r, { container: name, process: p.type, limitsOf: p.type, command: ['sleep', String(deadlineSeconds)], dyno: RELEASE_DYNO, mountsOf: RELEASE_TYPE, deadlineSeconds, graceSeconds: RELEASE_GRACE_SECONDS }),
  };
}

/** What differs between the pods that run once: the release pod, `run` pods, scheduled tasks' pods. */
interface OneOffPod {
  /** The container's name: the process label, which `logs -p` selects pods and containers by. */
  container: string;
  /** The process its environment names (SLIPWAY_PROCESS). */
  process: string;
  /** The process type whose limits and requests it gets (`run` for one-off pods and tasks). */
  limitsOf: string;
  command: string[];
  /** Its DYNO (`release.1`, `run.N`, …). */
  dyno: string;
  /** Whose volume mounts it gets (`release`, or `run` for one-off pods and tasks: the main type's). */
  mountsOf: string;
  /** The pod's own activeDeadlineSeconds; a Job's pods have none (the Job's deadline ends them). */
  deadlineSeconds?: number;
  graceSeconds: number;
}

/**
 * The spec of a pod that runs once: like the release's processes, its image, config Secret,
 * metadata env and security context; restartPolicy Never.
 */
function oneOffPodSpec(r: DeployableRelease, o: OneOffPod): V1PodSpec {
  const resources = resourcesFor(r, o.limitsOf);
  const mounts = mountsOf(r, o.mountsOf);
  return {
    restartPolicy: 'Never',
    ...(o.deadlineSeconds !== undefined ? { activeDeadlineSeconds: o.deadlineSeconds } : {}),
    terminationGracePeriodSeconds: o.graceSeconds,
    containers: [{
      name: o.container,
      image: r.image,
      command: o.command,
      envFrom: [{ secretRef: { name: secretName(r.version) } }],
      env: containerEnv(r, o.process, o.dyno),
      ...(resources ? { resources } : {}),
      ...containerVolumeFields(mounts, r.dataCa !== undefined),
      securityContext: containerSecurity(),
    }],
    ...podVolumeFields(mounts, r.dataCa !== undefined),
    affinity: appNodeAffinity(),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(mounts),
  };
}

/**
 * Whether the release's web instances are switched over at once: each release's set is its own
 * Deployment (`web-vN`), the Service selects the set that serves, and moving that selector is the
 * switch. Not when a volume is mounted: then instances are replaced (never two at once).
 */
export function cutover(r: Pick<DeployableRelease, 'processes' | 'mounts'>): boolean {
  return r.processes.some((p) => p.type === 'web') && strategyFor(mountsOf(r, 'web')).type !== 'Recreate';
}

/** The Deployment name of release `version`'s set of web instances. */
export function webSetName(version: number): string {
  return `web-v${version}`;
}

/**
 * The release as its objects name it: a release that runs another one's instances (a rollback's
 * runsAs) is that release, so its Deployments, pods and config Secret are the same objects.
 */
export function runView(r: DeployableRelease): DeployableRelease {
  return r.runsAs === undefined || r.runsAs === r.version ? r : { ...r, version: r.runsAs, runsAs: undefined };
}

/** The Deployment of one process type of a release (the web type's is the release's own set when it is switched over: cutover). */
export function deploymentObject(r: DeployableRelease, p: ProcessType): KubeObject<V1Deployment> {
  const name = processName(p.type);
  const set = p.type === 'web' && cutover(r);
  const labels = { ...appLabels(r.app), [LABEL.process]: name };
  const selector = set ? { ...processSelector(r.app, name), [LABEL.release]: String(r.version) } : processSelector(r.app, name);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: set ? webSetName(r.version) : name,
      namespace: namespaceFor(r.app),
      labels: set ? { ...labels, [LABEL.release]: String(r.version) } : labels,
      ...(set || name !== p.type ? { annotations: { [ANNOTATION.processType]: p.type } } : {}),
    },
    spec: {
      replicas: replicasFor(r, p.type),
      selector: { matchLabels: selector },
      revisionHistoryLimit: 5,
      // Never fewer ready pods than asked for (a new pod ready before an old one goes), unless a
      // volume is mounted: then never two instances at once (volumes.ts).
      strategy: strategyFor(mountsOf(r, p.type)),
      template: {
        metadata: {
          labels: { ...labels, [LABEL.release]: String(r.version) },
          annotations: { [ANNOTATION.release]: `v${r.version}` },
        },
        spec: {
          containers: [container(r, p)],
          ...podVolumeFields(mountsOf(r, p.type), r.dataCa !== undefined),
          // Instances spread over the nodes, away from a build node (placement.ts). On every
          // Deployment whatever its count: ScheduleAnyway never keeps a pod from running, and a
          // template that changed with the count would restart the running instance on each
          // ps:scale between 1 and 2.
          topologySpreadConstraints: spreadConstraints(selector),
          affinity: appNodeAffinity(),
          // App processes never talk to the Kubernetes API, and Docker-link style variables
          // (WEB_SERVICE_HOST, …) would leak into the app's environment next to its config.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity(mountsOf(r, p.type)),
        },
      },
    },
  };
}

/**
 * The partial Deployment that marks a set of web instances warm until `until` (ISO), under
 * WARM_FIELD_MANAGER; with `until` null it owns nothing, which takes the mark off again.
 */
export function warmPatch(app: string, version: number, until: string | null): KubeObject<{ metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } }> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: webSetName(version),
      namespace: namespaceFor(app),
      ...(until === null ? {} : { labels: { [LABEL.warm]: 'true' }, annotations: { [ANNOTATION.warmUntil]: until } }),
    },
  };
}

/**
 * The partial Deployment ps:restart applies (under its own field manager): a new template
 * annotation rolls the pods the way `kubectl rollout restart` does, without a new release.
 */
export function restartPatch(app: string, type: string, at: string): KubeObject<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: processName(type), namespace: namespaceFor(app) },
    // Only the annotation: server-side apply merges it into the existing Deployment, and this
    // field manager then owns nothing else (apply it only to a Deployment that exists).
    spec: { template: { metadata: { annotations: { [ANNOTATION.restartedAt]: at } } } },
  };
}

/** The process label and container name of one-off pods (`run`, `run:detached`); `logs -p run` selects them. */
export const RUN_PROCESS = 'run';
/** The launcher that sets up the buildpack environment (profile scripts, layer env) before a command. */
export const LAUNCHER = '/cnb/lifecycle/launcher';
/** Seconds a one-off pod gets to exit once deleted or past its deadline. */
export const RUN_GRACE_SECONDS = 1;

/** How a one-off pod runs its command. */
export interface RunPodSpec {
  /** The pod's name (`run-` and a random suffix). */
  name: string;
  /** The user's command and arguments, passed to the launcher as argument values, never to a shell. */
  command: readonly string[];
  /** activeDeadlineSeconds: the kubelet stops the pod after this long. */
  deadlineSeconds: number;
  /**
   * `interactive`: the pod's own process only waits (`sleep` until the deadline) and the command
   * runs in it over the exec API, which delivers every byte of output from the first one and the
   * exit code (an attach to the command itself loses what it writes before the attach connects).
   * `detached`: the command is the pod's process, and its output goes to the pod log.
   */
  mode: 'interactive' | 'detached';
  /** The process an interactive pod's command is attached through (a detached pod has none). */
  owner?: string;
}

/**
 * The launcher command line of a one-off run. `--` makes the launcher exec the words directly
 * (with the buildpack environment); without it, it would hand them to a shell as a script, and
 * `node -e CODE` would run `node` alone.
 */
export function runCommand(command: readonly string[]): string[] {
  return [LAUNCHER, '--', ...command];
}

/**
 * The pod of `run` / `run:detached`: the release's image, config Secret and metadata env, like
 * its processes, with restartPolicy Never and a deadline, labelled so that finished ones can be
 * found and removed.
 */
export function runPodObject(r: DeployableRelease, spec: RunPodSpec): KubeObject<V1Pod> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: namespaceFor(r.app),
      labels: { ...appLabels(r.app), [LABEL.process]: RUN_PROCESS, [LABEL.release]: String(r.version), [LABEL.run]: spec.mode },
      annotations: oneOffAnnotations(r, spec.owner),
    },
    spec: oneOffPodSpec(r, {
      container: RUN_PROCESS, process: RUN_PROCESS, limitsOf: RUN_PROCESS,
      command: spec.mode === 'detached' ? runCommand(spec.command) : ['sleep', String(spec.deadlineSeconds)],
      dyno: runDyno(spec.name), mountsOf: RUN_PROCESS,
      deadlineSeconds: spec.deadlineSeconds, graceSeconds: RUN_GRACE_SECONDS,
    }),
  };
}

const POD_SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A one-off pod's `DYNO`: `run.N` as on Heroku (`run.9157`), N read from the pod's name as a
 * number in base 27 (plus one), so it is unique among the app's one-off pods and `logs -p NAME`
 * and DYNO name the same one.
 */
export function runDyno(podName: string): string {
  if (!isRunPodName(podName)) throw new Error(`not a one-off pod's name: ${podName}`);
  const n = [...podName.slice('run-'.length)].reduce((acc, ch) => acc * POD_SUFFIX.length + POD_SUFFIX.indexOf(ch), 0);
  return `${RUN_PROCESS}.${n + 1}`;
}

/** A fresh one-off pod name, `run-` and five characters as Kubernetes picks them for generated names. */
export function runPodName(): string {
  return `run-${[...randomBytes(5)].map((b) => POD_SUFFIX[b % POD_SUFFIX.length]).join('')}`;
}

/** Whether `name` could be a one-off pod's name (`logs -p run-x7k2p`). */
export function isRunPodName(name: string): boolean {
  return /^run-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(name);
}

/** The process label and container name of scheduled tasks' pods: `logs APP -p cron` shows their runs. */
export const CRON_PROCESS = 'cron';
/** A scheduled task's DYNO: one name for every run, as the release phase has `release.1`. */
export const CRON_DYNO = `${CRON_PROCESS}.1`;
/** Seconds a scheduled task gets to exit once its run is stopped (its deadline, `replace`). */
export const CRON_GRACE_SECONDS = 10;
/** If the controller could not start a run within this long of its time (controller down), that run is skipped. */
export const CRON_STARTING_DEADLINE_SECONDS = 300;
/** Finished runs kept per task, each way (with their pods, so their logs stay readable). */
export const CRON_HISTORY = 3;

/** The CronJob name of a task id. */
export function cronJobName(id: string): string {
  return `cron-${id}`;
}

const POLICY: Record<ConcurrencyPolicy, string> = { allow: 'Allow', forbid: 'Forbid', replace: 'Replace' };

/**
 * The launcher command line of a scheduled task: the command as one argument and without `--`,
 * so the launcher runs it as it runs a Procfile line (with the shell, in the buildpack
 * environment) and a process type's name runs that process, as Dokku's cron does. The command is
 * the app's own, from its app.json, and runs inside its own pod; no shell of ours sees it.
 */
export function cronCommand(task: Pick<ScheduledTask, 'command'>): string[] {
  return [LAUNCHER, task.command];
}

/**
 * The CronJob of one scheduled task of a release: its Jobs run one pod of the release's image and
 * config as `run` pods do (same security context, env, limits; the namespace's NetworkPolicies
 * select every pod), never retried, stopped at `deadlineSeconds`, with a small bounded history.
 * Its pods carry no release label: the rollout of a later release must not count them.
 */
export function cronJobObject(r: DeployableRelease, task: ScheduledTask, deadlineSeconds: number): KubeObject<V1CronJob> {
  const labels = { ...appLabels(r.app), [LABEL.process]: CRON_PROCESS, [LABEL.cron]: task.id };
  const annotations = { [ANNOTATION.release]: `v${r.version}` };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: cronJobName(task.id), namespace: namespaceFor(r.app), labels, annotations },
    spec: {
      schedule: task.schedule,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: POLICY[task.concurrencyPolicy],
      suspend: task.suspended,
      startingDeadlineSeconds: CRON_STARTING_DEADLINE_SECONDS,
      successfulJobsHistoryLimit: CRON_HISTORY,
      failedJobsHistoryLimit: CRON_HISTORY,
      jobTemplate: {
        metadata: { labels, annotations },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: deadlineSeconds,
          template: {
            metadata: { labels, annotations },
            spec: oneOffPodSpec(r, { container: CRON_PROCESS, process: CRON_PROCESS, limitsOf: RUN_PROCESS, command: cronCommand(task), dyno: CRON_DYNO, mountsOf: RUN_PROCESS, graceSeconds: CRON_GRACE_SECONDS }),
          },
        },
      },
    },
  };
}

/**
 * A Job that runs a task now (cron:run), made from its CronJob as `kubectl create job --from`
 * makes it: the CronJob's Job template, owned by the CronJob (so it goes with it, and the
 * controller's history limits count it).
 */
export function manualJobObject(cronJob: V1CronJob & { metadata: { name: string; namespace: string; uid: string } }, name: string): KubeObject<V1Job> {
  const template = cronJob.spec?.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      labels: { ...template?.metadata?.labels },
      annotations: { ...template?.metadata?.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob.metadata.name, uid: cronJob.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: template?.spec ?? { template: {} },
  };
}

/** A fresh name for a Job cron:run starts: the CronJob's name and five random characters. */
export function manualJobName(id: string): string {
  return `${cronJobName(id)}-${runPodName().slice('run-'.length)}`;
}
