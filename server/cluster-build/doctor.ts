// doctor's check of the cluster build backend: the build namespace can be made, and a short pod
// of the builder image is pulled and runs on a node, as a build's would.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { V1Pod } from '../kube/types.ts';
import type { CheckOutcome } from '../health.ts';
import { BUILD_NAMESPACE, buildNamespace, buildNetworkPolicy, probePod } from './pod.ts';
import { isLoopbackRegistry, pullRef } from './refs.ts';
import { ownerId } from './settings.ts';

/** Runs the builder image in a test pod of slipway-builds; ok once it ran `detector -version` and, on the pod network, reached the build registry. */
export async function checkBuildPods(kube: KubeClient, config: Readonly<Config>, builderImage: string, signal: AbortSignal, waitMs = 90_000): Promise<CheckOutcome> {
  await kube.apply(buildNamespace());
  await kube.apply(buildNetworkPolicy(config.buildRegistry, config.network, config.buildEgress));
  const image = pullRef(builderImage, config);
  const name = `doctor-${randomBytes(4).toString('hex')}`;
  const hostNetwork = isLoopbackRegistry(config.buildRegistry);
  await kube.apply(probePod(name, ownerId(config.dataDir), image, { address: config.buildRegistry, hostNetwork }));
  try {
    const until = Date.now() + waitMs;
    while (Date.now() < until && !signal.aborted) {
      const pod = await kube.read<V1Pod>('v1', 'Pod', name, BUILD_NAMESPACE);
      const st = pod?.status?.containerStatuses?.[0]?.state;
      if (st?.terminated) {
        if (st.terminated.exitCode === 0) return { ok: true, detail: `a pod of ${image} ran in ${BUILD_NAMESPACE}${hostNetwork ? ' (on the node\'s network: the build registry is on its loopback)' : ` and reached the build registry ${config.buildRegistry}`}` };
        if (st.terminated.exitCode === 3 && !hostNetwork) {
          return { ok: false, detail: `a pod in ${BUILD_NAMESPACE} could not connect to the build registry ${config.buildRegistry} within 5 s`, fix: 'SLIPWAY_BUILD_REGISTRY must be the registry\'s address as the pod network reaches it (its NetworkPolicy lets build pods reach that address and port only)' };
        }
        return { ok: false, detail: `a pod of ${image} exited with ${st.terminated.exitCode} (${st.terminated.reason ?? ''})`, fix: 'check that the image is a CNB builder (it has /cnb/lifecycle)' };
      }
      if (st?.waiting?.reason && /Image|Err/.test(st.waiting.reason)) {
        return { ok: false, detail: `the cluster cannot pull ${image}: ${st.waiting.reason} ${st.waiting.message ?? ''}`.trim(), fix: 'check SLIPWAY_BUILDER / builder:set, SLIPWAY_REGISTRY_PULL and the nodes\' registry credential' };
      }
      await sleep(500);
    }
    return { ok: false, detail: `a pod of ${image} did not run within ${waitMs / 1000} s`, fix: `kubectl -n ${BUILD_NAMESPACE} describe pod ${name} says why` };
  } finally {
    await kube.remove('v1', 'Pod', name, BUILD_NAMESPACE, { gracePeriodSeconds: 0 });
  }
}
