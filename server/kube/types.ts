// The Kubernetes model types for the pure object builders and the rollout logic, taken (type-only,
// erased at run time) from client.ts, which takes them from @kubernetes/client-node's models.
import type { ClusterNetwork } from '../config.ts';
export type {
  CoreV1Event, KubeObject, V1ConfigMap, V1Container, V1CronJob, V1Deployment, V1Job, V1Ingress, V1Namespace, V1ObjectMeta, V1EnvVar, V1LimitRange, V1Pod, V1Probe, V1ReplicaSet, V1ResourceQuota, V1ResourceRequirements, V1Secret, V1Service,
  V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodSecurityContext, V1PodSpec, V1SecurityContext,
  V1DeploymentStrategy, V1EndpointSlice, V1PersistentVolumeClaim, V1Volume, V1VolumeMount,
  V1Affinity, V1Node, V1PodDisruptionBudget, V1TopologySpreadConstraint,
} from './client.ts';

/** What the object builders may be configured with. */
export interface ObjectOptions {
  /** IngressClass name; unset uses the cluster's default class (k3s marks Traefik as default). */
  ingressClass?: string | undefined;
  /** The cluster's address ranges and ingress, for each namespace's NetworkPolicies; unset, none are made. */
  network?: Readonly<ClusterNetwork> | undefined;
}
