// The Kubernetes model types for the pure object builders and the rollout logic. They come from
// deploy/kube-client, the client library's one home; a type-only import, erased at run time, so
// the builders stay pure.
import type { V1ObjectMeta } from '../deploy/kube-client.ts';
export type {
  CoreV1Event, V1ConfigMap, V1Container, V1Deployment, V1Ingress, V1Namespace, V1ObjectMeta, V1Pod, V1ReplicaSet, V1Secret, V1Service,
} from '../deploy/kube-client.ts';

/**
 * A Kubernetes object as Slipway builds and applies it: the library's own model type, with the
 * fields server-side apply needs made required.
 */
export type KubeObject<T = object> = T & {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
};

/** What the object builders may be configured with. */
export interface ObjectOptions {
  /** IngressClass name; unset uses the cluster's default class (k3s marks Traefik as default). */
  ingressClass?: string | undefined;
}
