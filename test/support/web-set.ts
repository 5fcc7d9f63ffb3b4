// The set of web instances an app's Service sends the traffic to (atomic cutover: one Deployment
// `web-vN` per release, the Service selecting the serving one), read from a real cluster.
import type { KubeClient } from '../../server/kube/client.ts';
import type { V1Deployment, V1Service } from '../../server/kube/types.ts';

/** The Deployment of the web instances the app's Service selects, or undefined. */
export async function servingWebSet(kube: KubeClient, ns: string): Promise<V1Deployment | undefined> {
  const svc = await kube.read<V1Service>('v1', 'Service', 'web', ns);
  const release = svc?.spec?.selector?.['slipway/release'];
  return release === undefined ? undefined : kube.read<V1Deployment>('apps/v1', 'Deployment', `web-v${release}`, ns);
}

/** The names of the app's sets of web instances (`web-vN`), sorted. */
export async function webSetNames(kube: KubeClient, ns: string): Promise<string[]> {
  const ds = await kube.list<V1Deployment>('apps/v1', 'Deployment', ns, { labelSelector: 'app.kubernetes.io/component=web,slipway/release' });
  return ds.map((d) => d.metadata?.name ?? '').sort();
}
