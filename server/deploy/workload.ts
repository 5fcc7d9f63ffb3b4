import { randomBytes } from 'node:crypto';
import type { KubeObject, V1Container, V1Deployment, V1EnvVar, V1Pod, V1PodSecurityContext, V1Probe, V1ResourceRequirements, V1SecurityContext } from './kube-types.ts';
import type { ProcessType } from '../build/builder.ts';
import type { DeployableRelease, HealthCheck } from './deployer.ts';
import { ANNOTATION, LABEL, appLabels, namespaceFor, processName, processSelector, secretName } from './labels.ts';

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
 * The release metadata every process sees (Heroku's SOURCE_VERSION, our SLIPWAY_*), minus any
 * name the user set as a config var: `env` wins over `envFrom`, and config vars must win here.
 */
export function metadataEnv(r: Pick<DeployableRelease, 'app' | 'version' | 'commit' | 'config'>, type: string): V1EnvVar[] {
  const vars: [string, string | null | undefined][] = [
    ['SOURCE_VERSION', r.commit], ['SLIPWAY_RELEASE', `v${r.version}`], ['SLIPWAY_APP', r.app], ['SLIPWAY_PROCESS', type],
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
export function containerEnv(r: Pick<DeployableRelease, 'app' | 'version' | 'commit' | 'config'>, type: string): V1EnvVar[] {
  const blank = KUBERNETES_SERVICE_VARS.filter((k) => !Object.hasOwn(r.config, k)).map((name) => ({ name, value: '' }));
  return [{ name: 'PORT', value: String(PORT) }, ...metadataEnv(r, type), ...blank];
}

/**
 * Pod Security "restricted" for every pod an app runs: never root (CNB run images name a numeric
 * non-root user, heroku-24's 1001 and our stack's 1000, so the kubelet can check it), the
 * runtime's default seccomp profile. A run image that asks for root fails to start, with the
 * kubelet's reason in the rollout's output, instead of running as root.
 */
export function podSecurity(): V1PodSecurityContext {
  return { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
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
    ...(readiness ? { readinessProbe: probeFor(readiness) } : p.type === 'web' ? { readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 2, failureThreshold: 3 } } : {}),
    ...(liveness ? { livenessProbe: probeFor(liveness) } : {}),
    ...(startup ? { startupProbe: probeFor(startup) } : {}),
  };
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
          lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
        }
      : {}),
    ...probes(r, p),
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
  const resources = resourcesFor(r, p.type);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: releasePodName(r.version),
      namespace: namespaceFor(r.app),
      labels: { ...appLabels(r.app), [LABEL.process]: name, [LABEL.release]: String(r.version) },
      annotations: oneOffAnnotations(r, owner),
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: deadlineSeconds,
      // A release command past its deadline is stopped, not given the default 30 s to exit (a
      // process running as PID 1 often ignores SIGTERM).
      terminationGracePeriodSeconds: RELEASE_GRACE_SECONDS,
      containers: [{
        name,
        image: r.image,
        command: ['sleep', String(deadlineSeconds)],
        envFrom: [{ secretRef: { name: secretName(r.version) } }],
        env: containerEnv(r, p.type),
        ...(resources ? { resources } : {}),
        securityContext: containerSecurity(),
      }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurity(),
    },
  };
}

/** The Deployment of one process type of a release. */
export function deploymentObject(r: DeployableRelease, p: ProcessType): KubeObject<V1Deployment> {
  const name = processName(p.type);
  const labels = { ...appLabels(r.app), [LABEL.process]: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: namespaceFor(r.app),
      labels,
      ...(name !== p.type ? { annotations: { [ANNOTATION.processType]: p.type } } : {}),
    },
    spec: {
      replicas: replicasFor(r, p.type),
      selector: { matchLabels: processSelector(r.app, name) },
      revisionHistoryLimit: 5,
      // Never fewer ready pods than asked for: a new pod must be ready before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...labels, [LABEL.release]: String(r.version) },
          annotations: { [ANNOTATION.release]: `v${r.version}` },
        },
        spec: {
          containers: [container(r, p)],
          // App processes never talk to the Kubernetes API, and Docker-link style variables
          // (WEB_SERVICE_HOST, …) would leak into the app's environment next to its config.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity(),
        },
      },
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
  const resources = resourcesFor(r, RUN_PROCESS);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: namespaceFor(r.app),
      labels: { ...appLabels(r.app), [LABEL.process]: RUN_PROCESS, [LABEL.release]: String(r.version), [LABEL.run]: spec.mode },
      annotations: oneOffAnnotations(r, spec.owner),
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: spec.deadlineSeconds,
      terminationGracePeriodSeconds: RUN_GRACE_SECONDS,
      containers: [{
        name: RUN_PROCESS,
        image: r.image,
        command: spec.mode === 'detached' ? runCommand(spec.command) : ['sleep', String(spec.deadlineSeconds)],
        envFrom: [{ secretRef: { name: secretName(r.version) } }],
        env: containerEnv(r, RUN_PROCESS),
        ...(resources ? { resources } : {}),
        securityContext: containerSecurity(),
      }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurity(),
    },
  };
}

const POD_SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';

/** A fresh one-off pod name, `run-` and five characters as Kubernetes picks them for generated names. */
export function runPodName(): string {
  return `run-${[...randomBytes(5)].map((b) => POD_SUFFIX[b % POD_SUFFIX.length]).join('')}`;
}

/** Whether `name` could be a one-off pod's name (`logs -p run-x7k2p`). */
export function isRunPodName(name: string): boolean {
  return /^run-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(name);
}
