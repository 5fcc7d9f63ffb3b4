import type { KubeObject, V1Container, V1Deployment } from './kube-types.ts';
import type { ProcessType } from '../build/builder.ts';
import type { DeployableRelease } from './deployer.ts';
import { ANNOTATION, LABEL, appLabels, namespaceFor, processName, processSelector, secretName } from './labels.ts';

/** The port every process is told to listen on (`PORT`, as on Heroku and Dokku). */
export const PORT = 5000;
/** Seconds a terminating web pod keeps serving, so the ingress stops routing to it first. */
export const PRESTOP_SECONDS = 5;

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

function container(r: DeployableRelease, p: ProcessType): V1Container {
  const web = p.type === 'web';
  return {
    name: processName(p.type),
    image: r.image,
    command: processCommand(p),
    // Config reaches the process only through the Secret: never in the spec, argv or annotations.
    envFrom: [{ secretRef: { name: secretName(r.version) } }],
    // Listed after envFrom so it wins: the Service targets this port whatever the config says.
    env: [{ name: 'PORT', value: String(PORT) }],
    ...(web
      ? {
          ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
          readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 2, failureThreshold: 3 },
          lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
        }
      : {}),
    securityContext: { allowPrivilegeEscalation: false },
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
