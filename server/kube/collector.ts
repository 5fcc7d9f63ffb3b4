// The log collector of the drains (issue 39, docs/drains.md) as Kubernetes objects and its own
// configuration, from the drains as plain data: pure functions, tested without a cluster.
// One OpenTelemetry Collector per node (a DaemonSet in the namespace slipway-drains) reads the
// kubelet's pod log files of app namespaces, where the path (NAMESPACE_POD_UID/CONTAINER/N.log)
// is written by the kubelet and not by the app: the app a line belongs to is taken from it, so a
// tenant cannot make its lines reach another app's drain. Each app's lines go, by a routing
// connector on the namespace, to a pipeline per drain that puts the drain's token in every line.
import { createHash } from 'node:crypto';
import type { ClusterNetwork } from '../config.ts';
import type { KubeObject, V1DaemonSet, V1Namespace, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1Secret } from './types.ts';
import { ANNOTATION, LABEL, MANAGED_BY, namespaceFor } from './labels.ts';
import { dnsPeers, DNS_PORTS, internetPeers } from './netpol.ts';

/** The collector's namespace (`drains` is a reserved app name, so no app has it). */
export const COLLECTOR_NAMESPACE = 'slipway-drains';
/** The DaemonSet, its pods' container and the Secret holding the configuration. */
export const COLLECTOR_NAME = 'collector';
export const COLLECTOR_CONFIG_SECRET = 'collector-config';
/** The NetworkPolicy limiting where the collector's pods may connect. */
export const COLLECTOR_EGRESS_POLICY = 'collector-egress';
/** The collector's own metrics (Prometheus text), read through the API server's pod proxy. */
export const COLLECTOR_METRICS_PORT = 8888;
/** The highest TLS version a syslog+tls drain is sent over (exporterConfig says why); drains:test connects the same way. */
export const SYSLOG_TLS_MAX_VERSION = '1.2';
/** The pod label every collector pod has (with LABEL.managedBy). */
export const COLLECTOR_LABELS: Readonly<Record<string, string>> = { [LABEL.name]: 'slipway-collector', [LABEL.managedBy]: MANAGED_BY };
/** Namespaces of app pods whose logs are not an app's: build pods and the collector itself. */
const NOT_APPS = ['slipway-builds', COLLECTOR_NAMESPACE];
/** Where the node's folders appear in the collector's container. */
const LOGS_MOUNT = '/var/log/slipway-pods';
const STATE_MOUNT = '/var/lib/slipway-collector';
const CONFIG_MOUNT = '/etc/slipway-collector';
const EVENTS_MOUNT = '/var/lib/slipway-events';

/** Where one drain's lines go, as checked by ops/drains (drain-url.ts). */
export type DrainTarget =
  | { kind: 'syslog'; host: string; port: number; tls: boolean }
  | { kind: 'otlp'; endpoint: string; headers: Readonly<Record<string, string>> }
  /** Heroku's HTTPS drain: framed syslog lines in a POST (our logplex exporter), Basic auth from the URL. */
  | { kind: 'https'; endpoint: string };

/** One drain as the collector's configuration needs it. */
export interface CollectorDrain {
  /** The drain's id (a UUID): names its pipeline and exporter. */
  id: string;
  /** The Heroku-style drain token (`d.` + the id) in every line it receives. */
  token: string;
  /** The app whose lines it receives; null: a global drain (every app's lines). */
  app: string | null;
  target: DrainTarget;
}

/** What the DaemonSet is made from besides the drains. */
export interface CollectorSettings {
  image: string;
  /** The nodes' pod log folders (the kubelet's podLogsDir), absolute. */
  podLogs: readonly string[];
  /** The node folder that keeps read positions and queued lines across restarts. */
  stateDir: string;
  /** The folder of the server's node where it writes its events (ops/drains/events.ts): `apps/APP.log`, `audit.log`. */
  eventsDir: string;
}

/** The name a drain's components and pipeline have in the configuration. */
export function drainComponent(id: string): string {
  return `d-${id}`;
}

/** The collector's exporter of each kind of drain. */
const EXPORTER_TYPE: Readonly<Record<DrainTarget['kind'], string>> = { syslog: 'syslog', otlp: 'otlp_http', https: 'logplex' };

/** The exporter's component id of a drain, as the collector's metrics and logs name it. */
export function drainExporterId(d: Pick<CollectorDrain, 'id' | 'target'>): string {
  return `${EXPORTER_TYPE[d.target.kind]}/${drainComponent(d.id)}`;
}

/**
 * The collector's configuration (JSON, which YAML reads as it is) for these drains, or undefined
 * when there is none (the DaemonSet is then removed). Lines are read from the end of each log on
 * the first start and from the positions kept in the node's state folder after that; every
 * drain's queue is kept there too, so a restart (a changed configuration rolls the pods) neither
 * loses nor repeats lines.
 */
export function collectorConfig(drains: readonly CollectorDrain[], settings: Pick<CollectorSettings, 'podLogs'>): string | undefined {
  // Slipway's events and the audit entries are read like the pods' logs (see receivers below).
  const appReceivers = ['filelog', 'filelog/events'];
  if (drains.length === 0) return undefined;
  const roots = settings.podLogs.map((_, i) => `${LOGS_MOUNT}/${i}`);
  const exporters: Record<string, unknown> = {};
  const processors: Record<string, unknown> = {
    batch: { timeout: '200ms', send_batch_size: 512, send_batch_max_size: 2048 },
  };
  const pipelines: Record<string, unknown> = {};
  const routes = new Map<string, string[]>();
  const globals: string[] = [];
  for (const d of drains) {
    const name = drainComponent(d.id);
    processors[`attributes/${name}`] = { actions: [{ key: 'hostname', value: d.token, action: 'upsert' }] };
    exporters[drainExporterId(d)] = exporterConfig(d.target);
    pipelines[`logs/${name}`] = { receivers: d.app === null ? [...appReceivers, 'filelog/audit'] : ['routing'], processors: [`attributes/${name}`, 'batch'], exporters: [drainExporterId(d)] };
    if (d.app === null) globals.push(name);
    else routes.set(d.app, [...(routes.get(d.app) ?? []), `logs/${name}`]);
  }
  const connectors: Record<string, unknown> = {};
  if (routes.size > 0) {
    connectors.routing = {
      table: [...routes].sort(([a], [b]) => a.localeCompare(b)).map(([app, to]) => ({
        context: 'resource',
        // App names are DNS labels (names.ts): nothing to escape in the quoted string.
        condition: `attributes["k8s.namespace.name"] == "${namespaceFor(app)}"`,
        pipelines: to,
      })),
    };
    pipelines['logs/in'] = { receivers: appReceivers, exporters: ['routing'] };
  }
  const config = {
    extensions: { file_storage: { directory: STATE_MOUNT, create_directory: true, fsync: true } },
    receivers: {
      filelog: {
        include: roots.map((r) => `${r}/slipway-*_*/*/*.log`),
        exclude: roots.flatMap((r) => NOT_APPS.map((ns) => `${r}/${ns}_*/*/*.log`)),
        start_at: 'end',
        include_file_path: true,
        include_file_name: false,
        poll_interval: '100ms',
        storage: 'file_storage',
        operators: [
          // CRI and Docker log formats, partial lines joined; namespace, pod and container from the path.
          { type: 'container', id: 'container', add_metadata_from_filepath: true },
          { type: 'copy', from: 'body', to: 'attributes.message' },
          // Heroku's fields: APP-NAME `app`, PROCID the process type and instance (`web.x7k2p`).
          { type: 'add', field: 'attributes.appname', value: 'app' },
          { type: 'add', field: 'attributes.proc_id', value: 'EXPR(resource["k8s.container.name"] + "." + last(split(resource["k8s.pod.name"], "-")))' },
          { type: 'add', field: 'attributes.priority', value: '190' },
          { type: 'remove', field: 'attributes["log.file.path"]' },
        ],
      },
      // The server's `app[slipway]` lines: JSON with the text, the time and what an OTLP record
      // carries beside it (event, release, actor, job); the app is the file's name, routed as
      // its pods' lines are by the namespace it gives.
      'filelog/events': {
        ...eventFiles(`${EVENTS_MOUNT}/apps/*.log`),
        include_file_name: true,
        operators: [
          { type: 'json_parser', parse_to: 'attributes', timestamp: { parse_from: 'attributes.ts', layout_type: 'epoch', layout: 'ms' } },
          { type: 'regex_parser', parse_from: 'attributes["log.file.name"]', regex: '^(?P<app>[a-z0-9-]+)\\.log', parse_to: 'attributes' },
          { type: 'add', field: 'resource["k8s.namespace.name"]', value: 'EXPR("slipway-" + attributes.app)' },
          { type: 'move', from: 'attributes.message', to: 'body' },
          { type: 'copy', from: 'body', to: 'attributes.message' },
          { type: 'add', field: 'attributes.appname', value: 'app' },
          { type: 'add', field: 'attributes.proc_id', value: 'slipway' },
          { type: 'add', field: 'attributes.priority', value: '190' },
          { type: 'remove', field: 'attributes.ts' },
          { type: 'remove', field: 'attributes.app' },
          { type: 'remove', field: 'attributes["log.file.name"]' },
        ],
      },
      // The audit log's entries (JSON, as `audit --json` shows them), for global drains only.
      'filelog/audit': {
        ...eventFiles(`${EVENTS_MOUNT}/audit.log`),
        include_file_name: false,
        operators: [
          { type: 'copy', from: 'body', to: 'attributes.message' },
          { type: 'add', field: 'attributes.appname', value: 'slipway' },
          { type: 'add', field: 'attributes.proc_id', value: 'audit' },
          { type: 'add', field: 'attributes.priority', value: '190' },
        ],
      },
    },
    processors,
    exporters,
    ...(routes.size > 0 ? { connectors } : {}),
    service: {
      extensions: ['file_storage'],
      pipelines,
      telemetry: {
        logs: { level: 'info', encoding: 'json' },
        metrics: { level: 'detailed', readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: COLLECTOR_METRICS_PORT } } } }] },
      },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** A file the server writes and its rotated copy (`.1`), read from where it was left. */
function eventFiles(pattern: string): Record<string, unknown> {
  return { include: [pattern, `${pattern}.1`], start_at: 'end', include_file_path: false, poll_interval: '100ms', storage: 'file_storage' };
}

/** One drain's exporter: a bounded queue kept on the node, retried with backoff, never blocking the others. */
function exporterConfig(t: DrainTarget): Record<string, unknown> {
  const delivery = {
    sending_queue: { enabled: true, num_consumers: 1, queue_size: 1000, storage: 'file_storage' },
    retry_on_failure: { enabled: true, initial_interval: '1s', max_interval: '30s', max_elapsed_time: '0s' },
    timeout: '5s',
  };
  if (t.kind === 'syslog') {
    return {
      endpoint: t.host, port: t.port, network: 'tcp', protocol: 'rfc5424', enable_octet_counting: true,
      // TLS 1.2 at most: the exporter opens a connection per batch, writes it and closes without
      // reading. Under TLS 1.3 the receiver sends its session tickets after the handshake; left
      // unread, they make the close a TCP reset, and a receiver that has not yet read the batch
      // loses it whole (the kernel drops what it holds on a reset), with no error on either side.
      // Under TLS 1.2 the ticket comes within the handshake, which the exporter does read.
      tls: t.tls ? { insecure: false, max_version: SYSLOG_TLS_MAX_VERSION } : { insecure: true },
      ...delivery,
    };
  }
  if (t.kind === 'https') return { endpoint: t.endpoint, ...delivery };
  return { logs_endpoint: t.endpoint, headers: { ...t.headers }, ...delivery };
}

/** An address inside the cluster's networks that an admin's drain points at, allowed to the collector on its port. */
export interface AllowedDrainAddress {
  address: string;
  port: number;
}

/**
 * Where the collector may connect: DNS, and the internet as an app may reach it (not the cluster's
 * pods and Services, not the nodes, not cloud metadata: internetPeers), and besides those only the
 * addresses inside those networks that admins' drains resolved to when this was applied. A drain's
 * name that a tenant later points at a node or a pod (the collector resolves names again when it
 * sends) reaches nothing there.
 */
export function collectorEgressPolicy(net: ClusterNetwork, allowed: readonly AllowedDrainAddress[]): KubeObject<V1NetworkPolicy> {
  const byAddress = new Map<string, Set<number>>();
  for (const a of allowed) byAddress.set(a.address, (byAddress.get(a.address) ?? new Set()).add(a.port));
  const exceptions = [...byAddress].sort(([a], [b]) => a.localeCompare(b)).map(([address, ports]) => ({
    to: [{ ipBlock: { cidr: `${address}/${address.includes(':') ? 128 : 32}` } }] as V1NetworkPolicyPeer[],
    ports: [...ports].sort((a, b) => a - b).map((port): V1NetworkPolicyPort => ({ protocol: 'TCP', port })),
  }));
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { name: COLLECTOR_EGRESS_POLICY, namespace: COLLECTOR_NAMESPACE, labels: { [LABEL.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { ...COLLECTOR_LABELS } },
      policyTypes: ['Egress'],
      egress: [{ to: dnsPeers(net), ports: DNS_PORTS }, { to: internetPeers(net) }, ...exceptions],
    },
  };
}

/** The collector's namespace: privileged Pod Security, as it mounts node folders. */
export function collectorNamespace(): KubeObject<V1Namespace> {
  return {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: COLLECTOR_NAMESPACE, labels: { [LABEL.managedBy]: MANAGED_BY, 'pod-security.kubernetes.io/enforce': 'privileged' } },
  };
}

/** The Secret the configuration is in (a drain's URL or headers may hold credentials). */
export function collectorSecret(config: string): KubeObject<V1Secret> {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: COLLECTOR_CONFIG_SECRET, namespace: COLLECTOR_NAMESPACE, labels: { [LABEL.managedBy]: MANAGED_BY } },
    stringData: { 'config.yaml': config },
  };
}

/**
 * The DaemonSet: one collector per node, every node (taints tolerated), reading the pod log
 * folders read-only. Its template carries the configuration's hash, so a change of the drains
 * rolls the pods, all nodes at once (the collector reads its configuration once). It runs as root without any
 * capability (the log files are root's), on a read-only root file system, with no token for the
 * Kubernetes API, which it does not use.
 */
export function collectorDaemonSet(config: string, settings: CollectorSettings): KubeObject<V1DaemonSet> {
  const hash = createHash('sha256').update(config).digest('hex').slice(0, 16);
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: COLLECTOR_NAME, namespace: COLLECTOR_NAMESPACE, labels: { ...COLLECTOR_LABELS } },
    spec: {
      selector: { matchLabels: { ...COLLECTOR_LABELS } },
      // Every node at once: each collector reads only its own node's logs and resumes where it
      // stopped, so nothing waits on another node's, and a new drain's first line comes sooner.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } },
      template: {
        metadata: { labels: { ...COLLECTOR_LABELS }, annotations: { [ANNOTATION.configHash]: hash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 15,
          tolerations: [{ operator: 'Exists' }],
          containers: [{
            name: COLLECTOR_NAME,
            image: settings.image,
            args: [`--config=file:${CONFIG_MOUNT}/config.yaml`],
            ports: [{ name: 'metrics', containerPort: COLLECTOR_METRICS_PORT }],
            resources: { requests: { cpu: '20m', memory: '48Mi' }, limits: { memory: '256Mi' } },
            securityContext: { runAsUser: 0, runAsGroup: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true },
              { name: 'state', mountPath: STATE_MOUNT },
              { name: 'events', mountPath: EVENTS_MOUNT, readOnly: true },
              ...settings.podLogs.map((_, i) => ({ name: `pod-logs-${i}`, mountPath: `${LOGS_MOUNT}/${i}`, readOnly: true })),
            ],
          }],
          volumes: [
            { name: 'config', secret: { secretName: COLLECTOR_CONFIG_SECRET } },
            { name: 'state', hostPath: { path: settings.stateDir, type: 'DirectoryOrCreate' } },
            { name: 'events', hostPath: { path: settings.eventsDir, type: 'DirectoryOrCreate' } },
            ...settings.podLogs.map((path, i) => ({ name: `pod-logs-${i}`, hostPath: { path, type: 'DirectoryOrCreate' } })),
          ],
        },
      },
    },
  };
}
