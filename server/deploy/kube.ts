// The Kubernetes deployer (k3s in production): one namespace per app. Each capability of the
// Deployer port is a part in deploy/kube/ (rollout, cutover and warm sets, one-off pods, TLS,
// cron, volumes, databases, status, logs), all on one client and one set of settings (kube/context.ts).
import type { Deployer } from './deployer.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeContext, type KubeDeployerOptions } from './kube/context.ts';
import { KubeWebSets } from './kube/web-sets.ts';
import { KubeCron } from './kube/cron.ts';
import { KubeTls } from './kube/tls.ts';
import { KubeRollouts } from './kube/rollout.ts';
import { KubeOneOffs } from './kube/one-off.ts';
import { KubeVolumes } from './kube/volumes.ts';
import { KubeData } from './kube/data.ts';
import { KubeRuntime } from './kube/status.ts';
import { KubeLogs } from './kube/logs.ts';
import { KubeNodes } from './kube-nodes.ts';
import { KubeCollector } from './kube/collector.ts';
import { KubeSleep } from './kube/sleep.ts';
import { KubeAutoscalers } from './kube/autoscale.ts';
import { KubeCanary } from './kube/canary.ts';

/** Deploys releases to a Kubernetes cluster: the Deployer port's capabilities on one client. */
export class KubeDeployer implements Deployer {
  readonly name = 'kubernetes';
  readonly client: KubeClient;
  readonly rollout: KubeRollouts;
  readonly warm: KubeWebSets;
  readonly oneOff: KubeOneOffs;
  readonly logSource: KubeLogs;
  readonly tls: KubeTls;
  readonly cron: KubeCron;
  readonly volumes: KubeVolumes;
  readonly data: KubeData;
  readonly runtime: KubeRuntime;
  /** The cluster's nodes (nodes, nodes:drain, nodes:uncordon; where build pods go). */
  readonly nodes: KubeNodes;
  readonly collector: KubeCollector;
  readonly sleep: KubeSleep;
  readonly autoscale: KubeAutoscalers;
  readonly canary: KubeCanary;
  readonly #k: KubeContext;

  constructor(client: KubeClient, opts: KubeDeployerOptions) {
    const k = new KubeContext(client, opts);
    this.#k = k;
    this.client = client;
    this.warm = new KubeWebSets(k);
    this.cron = new KubeCron(k);
    this.tls = new KubeTls(k);
    this.rollout = new KubeRollouts(k, { sets: this.warm, cron: this.cron, tls: this.tls });
    this.oneOff = new KubeOneOffs(k);
    this.logSource = new KubeLogs(k);
    this.volumes = new KubeVolumes(k);
    this.data = new KubeData(k);
    this.runtime = new KubeRuntime(k);
    this.nodes = new KubeNodes(client);
    this.collector = new KubeCollector(k);
    this.sleep = new KubeSleep(k);
    this.autoscale = new KubeAutoscalers(k);
    this.canary = new KubeCanary(k, { tls: this.tls });
  }

  /** Stops the cluster cache's watches. */
  close(): void {
    this.#k.cache.stop();
  }
}
