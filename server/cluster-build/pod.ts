// The Kubernetes objects of a cluster build, as pure functions: the namespace builds run in, its
// NetworkPolicy, one build's pod and the Secret holding the registry's credential for it.
//
// Why the lifecycle's separate phases and not `creator`: creator runs detect, build (the app's own
// code: buildpack scripts, npm install, postinstall hooks…) and export in one process, so the
// registry's credential it needs for export would sit beside the app's build code, which could read
// it from /proc/1/environ (same user). Here the pod has two containers that wait, and the server
// runs each phase in one of them over exec, in order: analyze, restore and export in `registry`,
// the only one with the credential; detect and build in `build`, which has none. Containers of a
// pod share no process namespace, and the credential is an environment variable, never a volume, so
// nothing the app's code runs can read it. The app's own build processes are killed once the build
// phase ends, before export (a process it leaves behind cannot change what is exported).
//
// Why exec rather than a container per phase: a container start costs the kubelet half a second or
// more and is noticed only by reading the pod; an exec starts in a tenth of that and its output and
// exit code come back on the same connection. Such a pod names no app (the phases' arguments do),
// so one can be started before a push needs it (a spare, builder.ts).
import type { BuildEgress, ClusterNetwork } from '../config.ts';
import type { KubeObject, V1Affinity, V1Container, V1EnvVar, V1Namespace, V1NetworkPolicy, V1NetworkPolicyPeer, V1Pod, V1Secret } from '../kube/types.ts';
import { BUILD_APP_LABEL, BUILD_OWNER_LABEL, LABEL, MANAGED_BY } from '../kube/labels.ts';
import { internetPeers } from '../kube/netpol.ts';
import { BUILD_NAMESPACE } from '../kube/placement.ts';

/** The namespace every build pod runs in (placement.ts: app pods are told apart from build pods by it). */
export { BUILD_NAMESPACE };
/** The NetworkPolicy of that namespace. */
export const BUILD_POLICY = 'builds';

/** Labels of build pods and their Secrets. */
export const BUILD_LABEL = {
  managedBy: LABEL.managedBy,
  component: LABEL.process,
  /** Which server made it (a hash of its data dir): a server starting removes its own leftovers only. */
  owner: BUILD_OWNER_LABEL,
  app: BUILD_APP_LABEL,
} as const;

/** The lifecycle phases in the order they run. */
export const PHASES = ['analyze', 'detect', 'restore', 'build', 'export'] as const;
export type Phase = typeof PHASES[number];
/** The container of the phases that talk to the registry (it alone has the credential). */
export const REGISTRY_CONTAINER = 'registry';
/** The container of the phases that run the app's code, and where the pushed tree is unpacked. */
export const BUILD_CONTAINER = 'build';
/** How `pack` names the phases in its output; the push shows the same headers. */
export const PHASE_HEADERS: Readonly<Record<Phase, string>> = { analyze: 'ANALYZING', detect: 'DETECTING', restore: 'RESTORING', build: 'BUILDING', export: 'EXPORTING' };
const PHASE_BINARIES: Readonly<Record<Phase, string>> = { analyze: 'analyzer', detect: 'detector', restore: 'restorer', build: 'builder', export: 'exporter' };

/** Where the export phase writes report.toml: a volume only the registry container mounts. */
export const REPORT_PATH = '/report/report.toml';
/**
 * Where analyze writes analyzed.toml (the run image, the previous image and its layers' metadata)
 * and restore and export read it: a volume only the registry container mounts. The app's build
 * code can write all of /layers, and export (which holds the credential) builds the image on the
 * run image analyzed.toml names: were it read from /layers, a build could name another app's
 * image there and get its layers under its own (issue 35). The build side reads a copy.
 */
export const ANALYZED_PATH = '/meta/analyzed.toml';
/** The copy of analyzed.toml detect and build read (their default path). */
const ANALYZED_COPY = '/layers/analyzed.toml';
/** The platform API the phases are asked to speak (lifecycle 0.17 and later support it; -insecure-registry needs 0.13). */
export const PLATFORM_API = '0.13';

/** What a container of a build pod runs until the pod is deleted: nothing (the phases come over exec). */
const IDLE = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 5 & wait $!; done"];

/** Where one build's phases read and publish: the arguments of its execs. */
export interface PhaseTarget {
  /** The app's image repository as the pod reaches the registry, e.g. `127.0.0.1:5000/slipway/web`. */
  imageRepo: string;
  /** Tags to publish besides `latest`, e.g. `build-7`. */
  tags: readonly string[];
  /** The app's cache image, e.g. `127.0.0.1:5000/slipway-cache/web`. */
  cacheImage: string;
  /** The registry host as the pod reaches it, for -insecure-registry when it speaks plain HTTP. */
  registry: string;
  insecureRegistry: boolean;
  /**
   * The builder's run image as the pod reaches it, when that differs from the name the builder
   * records (its run.toml names the registry as the server reaches it): analyze is told to use it.
   */
  runImage?: string | undefined;
}

/** The size limit of a build pod's /platform: the build's env files (the app's config) and nothing else. */
export const PLATFORM_SIZE = '64Mi';

/** Everything one build pod is made from; nothing of an app is in it. */
export interface BuildPodSpec {
  /** The pod's name (the Secret is named after it). */
  name: string;
  /** The app it builds, when it is started for one (a spare is not). */
  app?: string;
  /** Who owns it (ownerId of the server). */
  owner: string;
  /** The builder image as the nodes pull it. */
  builderImage: string;
  /** The registry host as the pod reaches it (the Secret's credential is for it). */
  registry: string;
  /** Run on the node's network (a registry on the node's loopback can be reached no other way). */
  hostNetwork: boolean;
  /** Where the pod may run: onto nodes labelled slipway.dev/builds=true when any is (buildNodeAffinity). */
  affinity?: V1Affinity | undefined;
  /** The builder's CNB user and group. */
  uid: number;
  gid: number;
  cpu: string;
  memory: string;
  /** The size limit of each of its scratch volumes, /workspace and /layers (SLIPWAY_BUILD_DISK). */
  disk: string;
  deadlineSeconds: number;
  /** Set when the registry needs a credential: the Secret holding CNB_REGISTRY_AUTH. */
  authSecret?: string;
}

/** The label selector of this server's build pods. */
export function ownedSelector(owner: string): string {
  return `${BUILD_LABEL.managedBy}=${MANAGED_BY},${BUILD_LABEL.owner}=${owner}`;
}

function labels(spec: { owner: string; app?: string }): Record<string, string> {
  return { [BUILD_LABEL.managedBy]: MANAGED_BY, [BUILD_LABEL.component]: 'build', [BUILD_LABEL.owner]: spec.owner, ...(spec.app ? { [BUILD_LABEL.app]: spec.app } : {}) };
}

/** The labels that say which app a build pod is building now (a spare has none). */
export function appLabels(app: string): Record<string, string> {
  return { [BUILD_LABEL.app]: app };
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

/**
 * The namespace's one NetworkPolicy: no traffic in; out only to DNS, to the build registry's
 * address and port (the registry as build pods reach it, SLIPWAY_BUILD_REGISTRY) and to the
 * SLIPWAY_BUILD_EGRESS entries. The app's build code runs in these pods: it may reach no other
 * app, the server or the cluster's API.
 */
export function buildNetworkPolicy(registry: string, net: ClusterNetwork, egress: readonly Readonly<BuildEgress>[] = []): KubeObject<V1NetworkPolicy> {
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
        ...egress.map((e) => ({ to: e.cidr === 'internet' ? internetPeers(net) : [{ ipBlock: { cidr: e.cidr } }], ...(e.port !== undefined ? { ports: [{ protocol: 'TCP', port: e.port }] } : {}) })),
      ],
    },
  };
}

/** The name of the NetworkPolicy that lets one server's build pods reach its registry gate. */
export function gatePolicyName(owner: string): string {
  return `${BUILD_POLICY}-gate-${owner}`;
}

/**
 * One server's addition to the namespace's policy (policies add up): its build pods may reach its
 * registry gate (gate.ts) at `gate` (IP:port, the build registry's address and another port).
 */
export function gatePolicy(owner: string, gate: string): KubeObject<V1NetworkPolicy> {
  const { host, port } = splitHostPort(gate);
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { name: gatePolicyName(owner), namespace: BUILD_NAMESPACE, labels: labels({ owner }) },
    spec: {
      podSelector: { matchLabels: { [BUILD_LABEL.owner]: owner } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: `${host}/32` } }], ports: [{ protocol: 'TCP', port }] }],
    },
  };
}

/** A host without the brackets an IPv6 address has in `host:port`. */
export function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** `host:port` (or `host`, port 443) of a registry address; an IPv6 host keeps its brackets. */
export function splitHostPort(registry: string): { host: string; port: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(registry)!;
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 443 };
}

/**
 * What doctor's probe runs: the lifecycle's version, then (when `registry` is given) a TCP
 * connection to it from the pod, as a build's export makes. Through bash's /dev/tcp (CNB build
 * images are Debian or Ubuntu ones, with bash); an image without bash skips that half. The
 * address comes in as arguments, never as shell text. Exit 3: the registry is not reachable.
 */
export function probeCommand(registry?: { host: string; port: number }): string[] {
  const detector = ['/cnb/lifecycle/detector', '-version'];
  if (!registry) return detector;
  const connect = 'command -v bash >/dev/null || exit 0; timeout 5 bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$1" "$2" || exit 3';
  return ['sh', '-c', `"$0" -version || exit $?; ${connect}`, detector[0]!, bareHost(registry.host), String(registry.port)];
}

/** The CNB_REGISTRY_AUTH value for one registry: `{"HOST:PORT": "Basic …"}`. */
export function registryAuthJson(registry: string, auth: { username: string; password: string }): string {
  return JSON.stringify({ [registry]: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` });
}

/** The per-build Secret with its credential for the registry (or its gate); once its pod exists, owned by it, so it goes with it. */
export function buildSecret(spec: Pick<BuildPodSpec, 'name' | 'owner' | 'registry'>, auth: { username: string; password: string }, podUid: string | undefined): KubeObject<V1Secret> {
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: {
      name: secretFor(spec.name), namespace: BUILD_NAMESPACE, labels: labels(spec),
      ...(podUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: spec.name, uid: podUid, blockOwnerDeletion: false }] } : {}),
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
export function phaseArgs(phase: Phase, spec: PhaseTarget): string[] {
  const insecure = spec.insecureRegistry ? ['-insecure-registry', spec.registry] : [];
  const image = `${spec.imageRepo}:latest`;
  const analyzed = ['-analyzed', ANALYZED_PATH];
  switch (phase) {
    case 'analyze': return [...insecure, ...analyzed, ...(spec.runImage ? ['-run-image', spec.runImage] : []), '-cache-image', spec.cacheImage, image];
    case 'detect': return [];
    case 'restore': return [...insecure, ...analyzed, '-cache-image', spec.cacheImage];
    case 'build': return [];
    case 'export': return [...insecure, ...analyzed, '-cache-image', spec.cacheImage, '-process-type', 'web', '-report', REPORT_PATH, image, ...spec.tags.map((t) => `${spec.imageRepo}:${t}`)];
  }
}

/** Whether a phase talks to the registry (and so runs in the container with its credential). */
export function phaseNeedsRegistry(phase: Phase): boolean {
  return phase === 'analyze' || phase === 'restore' || phase === 'export';
}

/**
 * The container a phase runs in and its command line there. Analyze and restore (which may update
 * it) then copy analyzed.toml where detect and build read it, replacing whatever is there (a
 * link is removed, not followed). The build phase kills, as it ends, every process the app's
 * build left behind (all of the container's but its first), so none can change the layers export
 * reads. The export phase prints, after `reportMark` on a line of its own, its report.toml (the
 * image's digest): one exec less than reading it after.
 */
export function phaseExec(phase: Phase, target: PhaseTarget, reportMark: string): { container: string; command: string[] } {
  const lifecycle = `/cnb/lifecycle/${PHASE_BINARIES[phase]}`;
  const args = phaseArgs(phase, target);
  const container = phaseNeedsRegistry(phase) ? REGISTRY_CONTAINER : BUILD_CONTAINER;
  if (phase === 'analyze' || phase === 'restore') return { container, command: ['sh', '-c', `"$0" "$@" || exit $?; rm -f ${ANALYZED_COPY} && cp ${ANALYZED_PATH} ${ANALYZED_COPY}`, lifecycle, ...args] };
  if (phase === 'build') return { container, command: ['sh', '-c', '"$0" "$@"; code=$?; kill -s KILL -1 2>/dev/null; exit $code', lifecycle, ...args] };
  if (phase === 'export') return { container, command: ['sh', '-c', `"$0" "$@" || exit $?; echo; echo ${reportMark}; cat ${REPORT_PATH}`, lifecycle, ...args] };
  return { container, command: [lifecycle, ...args] };
}

/** The build pod: two containers that wait for the phases to be run in them over exec. */
export function buildPod(spec: BuildPodSpec): KubeObject<V1Pod> {
  const limits = { cpu: spec.cpu, memory: spec.memory };
  const securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: spec.uid, runAsGroup: spec.gid };
  const mounts = { workspace: { name: 'workspace', mountPath: '/workspace' }, layers: { name: 'layers', mountPath: '/layers' }, platform: { name: 'platform', mountPath: '/platform' } };
  const env: V1EnvVar[] = [{ name: 'CNB_PLATFORM_API', value: PLATFORM_API }, { name: 'CNB_NO_COLOR', value: 'true' }];
  const registry: V1Container = {
    name: REGISTRY_CONTAINER, image: spec.builderImage, imagePullPolicy: 'IfNotPresent', command: IDLE,
    env: spec.authSecret ? [...env, { name: 'CNB_REGISTRY_AUTH', valueFrom: { secretKeyRef: { name: spec.authSecret, key: 'CNB_REGISTRY_AUTH' } } }] : env,
    // Its phases move layers to and from the registry; the build's own work is in the other one.
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits },
    securityContext,
    volumeMounts: [mounts.workspace, mounts.layers, mounts.platform, { name: 'report', mountPath: '/report' }, { name: 'meta', mountPath: '/meta' }],
  };
  const build: V1Container = {
    name: BUILD_CONTAINER, image: spec.builderImage, imagePullPolicy: 'IfNotPresent', command: IDLE, env,
    resources: { requests: limits, limits }, securityContext,
    volumeMounts: [mounts.workspace, mounts.layers, mounts.platform],
  };
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: spec.name, namespace: BUILD_NAMESPACE, labels: labels(spec) },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: spec.deadlineSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: spec.hostNetwork,
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      // On the node's network the node's resolver is the one that answers (cluster DNS would need
      // ClusterFirstWithHostNet, and a build needs no cluster names).
      dnsPolicy: spec.hostNetwork ? 'Default' : 'ClusterFirst',
      terminationGracePeriodSeconds: 2,
      securityContext: { runAsNonRoot: true, runAsUser: spec.uid, runAsGroup: spec.gid, fsGroup: spec.gid, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [registry, build],
      volumes: [
        // On the node's disk, each bounded: past its size the kubelet evicts the pod, so a build
        // cannot fill the node (issue 35, item 8). /platform holds the build's env files only.
        { name: 'workspace', emptyDir: { sizeLimit: spec.disk } },
        { name: 'layers', emptyDir: { sizeLimit: spec.disk } },
        { name: 'platform', emptyDir: { sizeLimit: PLATFORM_SIZE } },
        { name: 'report', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        { name: 'meta', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } },
      ],
    },
  };
}

/**
 * A short test pod for doctor: the builder image pulled and started on a node, as a build would,
 * on the network a build pod would have (the node's when the build registry is on its loopback);
 * on the pod network it also connects to the build registry (probeCommand).
 */
export function probePod(name: string, owner: string, builderImage: string, buildRegistry?: { address: string; hostNetwork: boolean }): KubeObject<V1Pod> {
  const hostNetwork = buildRegistry?.hostNetwork ?? false;
  const reach = buildRegistry && !hostNetwork ? splitHostPort(buildRegistry.address) : undefined;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: BUILD_NAMESPACE, labels: { ...labels({ owner }), [BUILD_LABEL.component]: 'doctor' } },
    spec: {
      restartPolicy: 'Never', activeDeadlineSeconds: 120, automountServiceAccountToken: false, enableServiceLinks: false,
      hostNetwork, dnsPolicy: hostNetwork ? 'Default' : 'ClusterFirst',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe', image: builderImage, imagePullPolicy: 'IfNotPresent', command: probeCommand(reach), env: [{ name: 'CNB_PLATFORM_API', value: PLATFORM_API }],
        resources: { limits: { cpu: '100m', memory: '64Mi' } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
}
