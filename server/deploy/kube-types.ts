// The Kubernetes model types for the pure object builders and the rollout logic: type-only
// imports straight from the library, erased at run time, so the builders stay pure (the
// library's one runtime home is kube-client.ts).
import type { V1ObjectMeta } from '@kubernetes/client-node';
export type {
  CoreV1Event, V1ConfigMap, V1Container, V1Deployment, V1Ingress, V1Namespace, V1ObjectMeta, V1EnvVar, V1Pod, V1Probe, V1ReplicaSet, V1ResourceRequirements, V1Secret, V1Service,
} from '@kubernetes/client-node';

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
