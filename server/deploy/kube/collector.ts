// The log collector of the drains on the cluster (issue 39): its namespace, the Secret with its
// configuration and its DaemonSet (server/kube/collector.ts builds them), and what drains:info
// reads of each of its pods: the collector's own metrics through the API server's pod proxy (no
// port of it is exposed) and its recent log lines, where a failing delivery is logged.
import type { V1Pod } from '../../kube/types.ts';
import {
  COLLECTOR_CONFIG_SECRET, COLLECTOR_EGRESS_POLICY, COLLECTOR_LABELS, COLLECTOR_METRICS_PORT, COLLECTOR_NAME, COLLECTOR_NAMESPACE,
  collectorConfig, collectorDaemonSet, collectorEgressPolicy, collectorNamespace, collectorSecret,
  type AllowedDrainAddress, type CollectorDrain, type CollectorSettings,
} from '../../kube/collector.ts';
import { selectorString } from '../../kube/labels.ts';
import type { CollectorPod, LogCollector } from '../deployer.ts';
import { instanceEvents, type InstanceEvent } from '../instance-events.ts';
import { autoscalerEvents } from './autoscale.ts';
import { KubePart } from './context.ts';

/** How long one pod's metrics may take, and how much of them and of its log is read. */
const METRICS_TIMEOUT_MS = 3_000;
const METRICS_MAX_BYTES = 4 * 1024 * 1024;
const LOG_LINES = 400;
const LOG_MAX_BYTES = 512 * 1024;

/** The collector as a DaemonSet in slipway-drains. */
export class KubeCollector extends KubePart implements LogCollector {
  /** Applies the namespace, the configuration's Secret and the DaemonSet; with no drains, removes the DaemonSet and the Secret. */
  async apply(drains: readonly CollectorDrain[], settings: CollectorSettings, allowed: readonly AllowedDrainAddress[] = []): Promise<void> {
    const config = collectorConfig(drains, settings);
    if (config === undefined) {
      await this.k.client.remove('apps/v1', 'DaemonSet', COLLECTOR_NAME, COLLECTOR_NAMESPACE);
      await this.k.client.remove('v1', 'Secret', COLLECTOR_CONFIG_SECRET, COLLECTOR_NAMESPACE);
      await this.k.client.remove('networking.k8s.io/v1', 'NetworkPolicy', COLLECTOR_EGRESS_POLICY, COLLECTOR_NAMESPACE);
      return;
    }
    if (!(await this.k.client.read('v1', 'Namespace', COLLECTOR_NAMESPACE))) await this.k.client.apply(collectorNamespace());
    // Where its pods may connect, before a pod of the new configuration starts (as an app's namespace is isolated before its pods).
    const net = this.k.opts.network;
    if (net) await this.k.client.apply(collectorEgressPolicy(net, allowed));
    // The Secret before the DaemonSet: a pod started by the new template reads the new configuration.
    await this.k.client.apply(collectorSecret(config));
    await this.k.client.apply(collectorDaemonSet(config, { ...settings, image: this.k.pullImage(settings.image) }));
  }

  /** Crashes and failed health checks, from the watch-fed cache of pods, and autoscalers' changes of count, from theirs (each started here if no read started it). */
  instanceEvents(listener: (e: InstanceEvent) => void): () => void {
    const { pods, autoscalers } = this.k.cache;
    const stops = [
      pods.informer.onChange((before, after) => {
        for (const e of instanceEvents(before, after)) listener(e);
      }),
      autoscalers.informer.onChange((before, after) => {
        for (const e of autoscalerEvents(before, after)) listener(e);
      }),
    ];
    pods.informer.start();
    autoscalers.informer.start();
    return () => {
      for (const stop of stops) stop();
    };
  }

  /** Each collector pod, its metrics and the tail of its log, read side by side. */
  async pods(): Promise<CollectorPod[]> {
    const pods = await this.k.client.list<V1Pod>('v1', 'Pod', COLLECTOR_NAMESPACE, { labelSelector: selectorString(COLLECTOR_LABELS) });
    return Promise.all(pods.filter((p) => p.status?.phase === 'Running').map(async (p): Promise<CollectorPod> => {
      const name = p.metadata!.name!;
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      const [metrics, log] = await Promise.all([
        this.k.client.proxyGet(COLLECTOR_NAMESPACE, name, COLLECTOR_METRICS_PORT, '/metrics', { timeoutMs: METRICS_TIMEOUT_MS, maxBytes: METRICS_MAX_BYTES }),
        this.k.client.tailPodLog(COLLECTOR_NAMESPACE, name, COLLECTOR_NAME, { tailLines: LOG_LINES, maxBytes: LOG_MAX_BYTES }).then((text) => ({ text }), (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) })),
      ]);
      const metricsText = 'body' in metrics && metrics.status === 200 ? metrics.body : undefined;
      const metricsError = 'error' in metrics ? metrics.error : metrics.status !== 200 ? `its metrics answered ${metrics.status}` : undefined;
      return {
        pod: name, node: p.spec?.nodeName, ready, metrics: metricsText, log: 'text' in log ? log.text : undefined,
        error: metricsError ?? ('error' in log ? log.error : undefined),
      };
    }));
  }
}
