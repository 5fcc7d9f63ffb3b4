// The objects that put an app's web set to sleep: an EndpointSlice of Slipway's own beside the web
// Service's, pointing at the waker (the ingress then sends the app's requests there while no
// instance runs), and the serving set's replicas at 0 under a field manager of its own (a deploy's
// apply takes them back). Pure functions; kube/sleep.ts applies them.
import { isIPv6 } from 'node:net';
import type { KubeObject, V1EndpointSlice } from '../kube/types.ts';
import { LABEL, SLICE_LABEL, SLICE_MANAGER, appLabels, namespaceFor } from '../kube/labels.ts';
import type { WakerAddress } from './deployer.ts';
import { WEB } from './network.ts';
import { webSetName } from './workload.ts';

/** The name of the EndpointSlice that points a sleeping app's web Service at the waker. */
export const WAKER_SLICE = 'web-waker';

/**
 * The EndpointSlice of the web Service that names the waker: its one endpoint is ready, on the
 * Service's `http` port name, so the ingress (which reads every slice of the Service) sends the
 * app's requests to the waker while the set has no instance.
 */
export function wakerSliceObject(app: string, waker: WakerAddress): KubeObject<V1EndpointSlice> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: WAKER_SLICE,
      namespace: namespaceFor(app),
      labels: { ...appLabels(app), [LABEL.process]: WEB, [SLICE_LABEL.service]: WEB, [SLICE_LABEL.managedBy]: SLICE_MANAGER },
    },
    addressType: isIPv6(waker.address) ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [waker.address], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [{ name: 'http', port: waker.port, protocol: 'TCP' }],
  };
}

/** The partial Deployment that sets a web set's replicas (0: asleep; its count: woken), applied under SLEEP_FIELD_MANAGER. */
export function replicasPatch(app: string, version: number, replicas: number): KubeObject<{ spec: { replicas: number } }> {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: webSetName(version), namespace: namespaceFor(app) }, spec: { replicas } };
}
