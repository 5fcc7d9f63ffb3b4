// The Kubernetes model types for the client, the pure object builders and the rollout logic: the
// one home of @kubernetes/client-node, type-only (nothing of it is loaded at run time; loading it
// costs about 80 MiB). Date-time fields arrive as the API's RFC 3339 strings although the model
// says Date: readers take either (`new Date(x)`).
import type { ClusterNetwork } from '../config.ts';
import type { V1ObjectMeta } from '@kubernetes/client-node';
export type {
  CoreV1Event, V1ConfigMap, V1Container, V1CronJob, V1Deployment, V1Job, V1Ingress, V1Namespace, V1ObjectMeta, V1EnvVar, V1LimitRange, V1Pod, V1Probe, V1ReplicaSet, V1ResourceQuota, V1ResourceRequirements, V1Secret, V1Service,
  V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodSecurityContext, V1PodSpec, V1SecurityContext,
  V1DeploymentStrategy, V1EndpointSlice, V1PersistentVolumeClaim, V1Volume, V1VolumeMount,
  V1Affinity, V1Node, V1PodDisruptionBudget, V1TopologySpreadConstraint, V1Status, V1StatefulSet,
  V1DaemonSet, V2HorizontalPodAutoscaler, V1ContainerStatus,
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
  /** The cluster's address ranges and ingress, for each namespace's NetworkPolicies; unset, none are made. */
  network?: Readonly<ClusterNetwork> | undefined;
}
