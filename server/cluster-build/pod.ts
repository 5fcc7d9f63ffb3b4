// The Kubernetes objects of a cluster build, as pure functions: the namespace builds run in, its
// NetworkPolicy, one build's pod and the Secret holding the registry's credential for it.
//
// Why the lifecycle's separate phases and not `creator`: creator runs detect, build (the app's own
// code: buildpack scripts, npm install, postinstall hooks…) and export in one process and one
// container, so the registry's credential it needs for export would sit in the same container as
// the app's build code, which could read it from /proc/1/environ or the mounted file (same user).
// As separate containers (analyze → detect → restore → build → export, one init container each,
// the export as the pod's one container), only analyze, restore and export get the credential,
// and detect and build, where the app's code runs, have none: other containers' environments and
// files are not visible to them (no shared process namespace, the Secret is not a volume).
import type { ClusterNetwork } from '../config.ts';
import type { KubeObject, V1Container, V1EnvVar, V1Namespace, V1NetworkPolicy, V1NetworkPolicyPeer, V1Pod, V1Secret } from '../deploy/kube-types.ts';
import { MANAGED_BY } from '../deploy/labels.ts';
import { BUILD_NAMESPACE } from '../deploy/placement.ts';

/** The namespace every build pod runs in (placement.ts: app pods are told apart from build pods by it). */
export { BUILD_NAMESPACE };
/** The NetworkPolicy of that namespace. */
export const BUILD_POLICY = 'builds';

/** Labels of build pods and their Secrets. */
export const BUILD_LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** Which server made it (a hash of its data dir): a server starting removes its own leftovers only. */
  owner: 'slipway/build-owner',
  app: 'slipway/app',
} as const;

/** The lifecycle phases in the order they run, each a container of the pod. */
export const PHASES = ['analyze', 'detect', 'restore', 'build', 'export'] as const;
export type Phase = typeof PHASES[number];
/** The first container: it waits for the pushed tree (streamed in over exec) and ends. */
export const RECEIVE = 'receive';
/** Every container of a build pod in the order they run. */
export const CONTAINERS: readonly string[] = [RECEIVE, ...PHASES];
/** How `pack` names the phases in its output; the push shows the same headers. */
export const PHASE_HEADERS: Readonly<Record<Phase, string>> = { analyze: 'ANALYZING', detect: 'DETECTING', restore: 'RESTORING', build: 'BUILDING', export: 'EXPORTING' };

/** The file the receive container waits for; made (over exec) once the tree and the build env are in. */
export const RECEIVED_MARK = '/handoff/received';
/** How long the receive container waits for the tree before it gives up (the server died meanwhile). */
export const RECEIVE_WAIT_SECONDS = 300;
/** Where the export phase writes report.toml: the kubelet makes it the container's termination message. */
export const REPORT_PATH = '/dev/termination-log';
/** The platform API the phases are asked to speak (lifecycle 0.17 and later support it; -insecure-registry needs 0.13). */
export const PLATFORM_API = '0.13';

/** Everything one build pod is made from. */
export interface BuildPodSpec {
  /** The pod's name (the Secret is named after it). */
  name: string;
  app: string;
  /** Who owns it (ownerId of the server). */
  owner: string;
  /** The builder image as the nodes pull it. */
  builderImage: string;
  /** The app's image repository as the pod reaches the registry, e.g. `127.0.0.1:5000/slipway/web`. */
  imageRepo: string;
  /** Tags to publish besides `latest`, e.g. `build-7`. */
  tags: readonly string[];
  /** The app's cache image, e.g. `127.0.0.1:5000/slipway-cache/web`. */
  cacheImage: string;
  /** The registry host as the pod reaches it, for -insecure-registry when it speaks plain HTTP. */
  registry: string;
  insecureRegistry: boolean;
  /** Run on the node's network (a registry on the node's loopback can be reached no other way). */
  hostNetwork: boolean;
  /** The builder's CNB user and group. */
  uid: number;
  gid: number;
  cpu: string;
  memory: string;
  deadlineSeconds: number;
  /** Set when the registry needs a credential: the Secret holding CNB_REGISTRY_AUTH. */
  authSecret?: string;
}

/** The label selector of this server's build pods. */
export function ownedSelector(owner: string): string {
  return `${BUILD_LABEL.managedBy}=${MANAGED_BY},${BUILD_LABEL.owner}=${owner}`;
}

function labels(spec: Pick<BuildPodSpec, 'app' | 'owner'>): Record<string, string> {
  return { [BUILD_LABEL.managedBy]: MANAGED_BY, [BUILD_LABEL.component]: 'build', [BUILD_LABEL.owner]: spec.owner, [BUILD_LABEL.app]: spec.app };
}

/** The namespace builds run in. */
export function buildNamespace(): KubeObject<V1Namespace> {
  return {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: {
      name: BUILD_NAMESPACE,
      labels: {
        [BUILD_LABEL.managedBy]: MANAGED_BY,
        // Build pods run as the builder's non-root user without capabilities; hostNetwork (a
        // registry on the node's loopback) is what keeps them from "restricted".
        'pod-security.kubernetes.io/enforce': 'privileged',
      },
    },
  };
}

/** The namespace's one NetworkPolicy: no traffic in; out only to DNS and to the registry's address and port. */
export function buildNetworkPolicy(registry: string, net: Pick<ClusterNetwork, 'nodeAddresses'>): KubeObject<V1NetworkPolicy> {
  const { host, port } = splitHostPort(registry);
  // A registry named by an IP is that address; by a name (install.sh's own is NODE-IP:5000, a
  // remote one is a DNS name whose addresses may change) its port on any address.
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? `${host}/32` : undefined;
  const registryPeers: V1NetworkPolicyPeer[] | undefined = ip ? [{ ipBlock: { cidr: ip } }] : undefined;
  const dnsPeers: V1NetworkPolicyPeer[] = [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
    ...net.nodeAddresses.map((cidr) => ({ ipBlock: { cidr } })),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { name: BUILD_POLICY, namespace: BUILD_NAMESPACE, labels: { [BUILD_LABEL.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [
        { to: dnsPeers, ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ...(registryPeers ? { to: registryPeers } : {}), ports: [{ protocol: 'TCP', port }] },
      ],
    },
  };
}

/** `host:port` (or `host`, port 443) of a registry address. */
export function splitHostPort(registry: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(registry)!;
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 443 };
}

/** The CNB_REGISTRY_AUTH value for one registry: `{"HOST:PORT": "Basic …"}`. */
export function registryAuthJson(registry: string, auth: { username: string; password: string }): string {
  return JSON.stringify({ [registry]: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` });
}

/** The per-build Secret with the registry's credential; owned by the pod, so it goes with it. */
export function buildSecret(spec: Pick<BuildPodSpec, 'name' | 'app' | 'owner' | 'registry'>, auth: { username: string; password: string }, podUid: string): KubeObject<V1Secret> {
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: {
      name: secretFor(spec.name), namespace: BUILD_NAMESPACE, labels: labels(spec),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: spec.name, uid: podUid, blockOwnerDeletion: false }],
    },
    type: 'Opaque',
    stringData: { CNB_REGISTRY_AUTH: registryAuthJson(spec.registry, auth) },
  };
}

/** The Secret's name for a build pod. */
export function secretFor(pod: string): string {
  return `${pod}-registry`;
}

/** The phase's lifecycle arguments. */
export function phaseArgs(phase: Phase, spec: Pick<BuildPodSpec, 'imageRepo' | 'tags' | 'cacheImage' | 'registry' | 'insecureRegistry'>): string[] {
  const insecure = spec.insecureRegistry ? ['-insecure-registry', spec.registry] : [];
  const image = `${spec.imageRepo}:latest`;
  switch (phase) {
    case 'analyze': return [...insecure, '-cache-image', spec.cacheImage, image];
    case 'detect': return [];
    case 'restore': return [...insecure, '-cache-image', spec.cacheImage];
    case 'build': return [];
    case 'export': return [...insecure, '-cache-image', spec.cacheImage, '-process-type', 'web', '-report', REPORT_PATH, image, ...spec.tags.map((t) => `${spec.imageRepo}:${t}`)];
  }
}

/** Whether a phase talks to the registry (and so gets its credential). */
export function phaseNeedsRegistry(phase: Phase): boolean {
  return phase === 'analyze' || phase === 'restore' || phase === 'export';
}

/** The build pod: receive, then the lifecycle's phases, one container each, in order. */
export function buildPod(spec: BuildPodSpec): KubeObject<V1Pod> {
  const resources = { requests: { cpu: spec.cpu, memory: spec.memory }, limits: { cpu: spec.cpu, memory: spec.memory } };
  const securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: spec.uid, runAsGroup: spec.gid };
  const mounts = { workspace: { name: 'workspace', mountPath: '/workspace' }, layers: { name: 'layers', mountPath: '/layers' }, platform: { name: 'platform', mountPath: '/platform' } };
  const baseEnv: V1EnvVar[] = [{ name: 'CNB_PLATFORM_API', value: PLATFORM_API }, { name: 'CNB_NO_COLOR', value: 'true' }];
  const phase = (p: Phase): V1Container => {
    const env = [...baseEnv];
    if (spec.authSecret && phaseNeedsRegistry(p)) {
      env.push({ name: 'CNB_REGISTRY_AUTH', valueFrom: { secretKeyRef: { name: spec.authSecret, key: 'CNB_REGISTRY_AUTH' } } });
    }
    const volumeMounts = p === 'analyze' || p === 'restore' ? [mounts.layers] : [mounts.workspace, mounts.layers, mounts.platform];
    return {
      name: p, image: spec.builderImage, imagePullPolicy: 'IfNotPresent',
      command: [`/cnb/lifecycle/${p === 'analyze' ? 'analyzer' : p === 'detect' ? 'detector' : p === 'restore' ? 'restorer' : p === 'build' ? 'builder' : 'exporter'}`],
      args: phaseArgs(p, spec), env, resources, securityContext, volumeMounts,
      terminationMessagePolicy: 'File',
    };
  };
  // Waits for the tree: the server streams it in over exec (tar on stdin, so no credential of
  // any kind is needed to fetch it) and then makes the mark. A fixed script: nothing of the
  // push is ever in it.
  const receive: V1Container = {
    name: RECEIVE, image: spec.builderImage, imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', `i=0; while [ ! -e ${RECEIVED_MARK} ]; do i=$((i+1)); [ "$i" -gt ${RECEIVE_WAIT_SECONDS * 5} ] && { echo "no source arrived"; exit 1; }; sleep 0.2; done`],
    resources, securityContext,
    volumeMounts: [mounts.workspace, mounts.platform, { name: 'handoff', mountPath: '/handoff' }],
  };
  const containers = PHASES.map(phase);
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: spec.name, namespace: BUILD_NAMESPACE, labels: labels(spec) },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: spec.deadlineSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: spec.hostNetwork,
      // On the node's network the node's resolver is the one that answers (cluster DNS would need
      // ClusterFirstWithHostNet, and a build needs no cluster names).
      dnsPolicy: spec.hostNetwork ? 'Default' : 'ClusterFirst',
      terminationGracePeriodSeconds: 5,
      securityContext: { runAsNonRoot: true, runAsUser: spec.uid, runAsGroup: spec.gid, fsGroup: spec.gid, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [receive, ...containers.slice(0, -1)],
      containers: containers.slice(-1),
      volumes: [
        { name: 'workspace', emptyDir: {} },
        { name: 'layers', emptyDir: {} },
        { name: 'platform', emptyDir: {} },
        { name: 'handoff', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ],
    },
  };
}

/** A short test pod for doctor: the builder image pulled and started on a node, as a build would. */
export function probePod(name: string, owner: string, builderImage: string): KubeObject<V1Pod> {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: BUILD_NAMESPACE, labels: { ...labels({ app: 'doctor', owner }), [BUILD_LABEL.component]: 'doctor' } },
    spec: {
      restartPolicy: 'Never', activeDeadlineSeconds: 120, automountServiceAccountToken: false, enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe', image: builderImage, imagePullPolicy: 'IfNotPresent', command: ['/cnb/lifecycle/detector', '-version'], env: [{ name: 'CNB_PLATFORM_API', value: PLATFORM_API }],
        resources: { limits: { cpu: '100m', memory: '64Mi' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
}
