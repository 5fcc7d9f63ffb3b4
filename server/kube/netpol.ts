// The NetworkPolicies that make an app's namespace a tenant of its own: its pods take traffic only
// from their own namespace and the ingress controller (its databases only from their namespace),
// and reach only their own namespace, DNS and the internet: not other apps' pods or Services, not
// the nodes (SSH, the registry, the kubelet, every port bound to 0.0.0.0), not cloud metadata. egress:allow adds exceptions an admin made.
import type { ClusterNetwork } from '../config.ts';
import { isIpv6Cidr } from '../cidr.ts';
import type { DeployableRelease, EgressRule } from '../model.ts';
import type { KubeObject, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from './types.ts';
import { LABEL, appLabels, namespaceFor } from './labels.ts';

/** The NetworkPolicy every app namespace has: ingress and egress limited to what an app needs. */
export const ISOLATION = 'isolation';
/** The NetworkPolicy admitting the ingress controller to the app's pods but not to its databases (absent when no peer is known). */
export const FROM_INGRESS = 'from-ingress';
/** The NetworkPolicy holding the app's egress:allow exceptions (absent when there are none). */
export const EGRESS_ALLOW = 'egress-allow';

/**
 * Link-local and cloud metadata addresses, where a VM's instance credentials are served: AWS,
 * GCP, Azure, OpenStack and DigitalOcean (169.254.169.254 in 169.254.0.0/16), Alibaba Cloud
 * (100.100.100.200), Azure's wire server (168.63.129.16), AWS over IPv6 (fd00:ec2::254), and
 * IPv6 link-local.
 */
export const METADATA_RANGES: readonly string[] = ['169.254.0.0/16', '100.100.100.200/32', '168.63.129.16/32', 'fe80::/10', 'fd00:ec2::254/128'];

/** The label every namespace carries with its own name (set by the API server since Kubernetes 1.22). */
const NAMESPACE_NAME = 'kubernetes.io/metadata.name';

export const DNS_PORTS: V1NetworkPolicyPort[] = [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }];

/** Where the cluster DNS answers: CoreDNS's pods (k3s: kube-system, k8s-app=kube-dns), or a DNS server on a node's address. */
export function dnsPeers(net: ClusterNetwork): V1NetworkPolicyPeer[] {
  return [
    { namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
    ...net.nodeAddresses.map((cidr) => ({ ipBlock: { cidr } })),
  ];
}

/** Where the ingress controller's requests come from: its pods, or (on the node) the node's addresses. */
export function ingressPeers(net: ClusterNetwork): V1NetworkPolicyPeer[] {
  if (net.ingress.kind === 'pods') {
    return [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: net.ingress.namespace } }, podSelector: { matchLabels: { ...net.ingress.labels } } }];
  }
  return net.nodeAddresses.map((cidr) => ({ ipBlock: { cidr } }));
}

/**
 * "The internet": every address but the cluster's pods and Services, the nodes and the metadata
 * ranges, one ipBlock per address family.
 */
export function internetPeers(net: ClusterNetwork): V1NetworkPolicyPeer[] {
  const excluded = [...new Set([...net.podCidrs, ...net.serviceCidrs, ...net.nodeAddresses, ...METADATA_RANGES])];
  return [
    { ipBlock: { cidr: '0.0.0.0/0', except: excluded.filter((c) => !isIpv6Cidr(c)) } },
    { ipBlock: { cidr: '::/0', except: excluded.filter(isIpv6Cidr) } },
  ];
}

/**
 * The isolation policy of an app's namespace (every pod in it: processes, release and `run` pods,
 * ACME solvers, databases): traffic in only from the namespace's own pods, out only to them, DNS
 * and the internet. The ingress controller gets in by FROM_INGRESS, which leaves databases out.
 */
export function isolationPolicy(app: string, net: ClusterNetwork): KubeObject<V1NetworkPolicy> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: ISOLATION, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      // `_from`: the client library's name for `from` (a reserved word in its generator).
      ingress: [{ _from: [{ podSelector: {} }] }],
      egress: [
        { to: [{ podSelector: {} }] },
        { to: dnsPeers(net), ports: DNS_PORTS },
        { to: internetPeers(net) },
      ],
    },
  };
}

/**
 * The ingress controller's way in: to every pod of the namespace but its databases (pods with a
 * `slipway/data` label), so neither the controller nor anything else on a node's address (with
 * SLIPWAY_INGRESS_FROM=node) reaches a database. None when no peer is known: a rule whose peer
 * list is empty admits everyone.
 */
export function fromIngressPolicy(app: string, net: ClusterNetwork): KubeObject<V1NetworkPolicy>[] {
  const peers = ingressPeers(net);
  if (peers.length === 0) return [];
  return [{
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: FROM_INGRESS, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      podSelector: { matchExpressions: [{ key: LABEL.data, operator: 'DoesNotExist' }] },
      policyTypes: ['Ingress'],
      // The waker (apps that sleep) passes a woken app's held requests on from its own address,
      // to the web port only: what the ingress reaches anyway.
      ingress: [{ _from: peers }, ...(net.waker ? [{ _from: [{ ipBlock: { cidr: `${net.waker}/${net.waker.includes(':') ? 128 : 32}` } }], ports: [{ protocol: 'TCP', port: 'http' }] }] : [])],
    },
  }];
}

/** The policy of the app's egress:allow exceptions; none when it has no exceptions. */
export function egressAllowPolicy(app: string, rules: readonly EgressRule[]): KubeObject<V1NetworkPolicy>[] {
  if (rules.length === 0) return [];
  return [{
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: EGRESS_ALLOW, namespace: namespaceFor(app), labels: appLabels(app) },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: rules.map((r) => ({
        to: [{ ipBlock: { cidr: r.cidr } }],
        ...(r.port !== undefined ? { ports: [{ protocol: 'TCP', port: r.port }, { protocol: 'UDP', port: r.port }] } : {}),
      })),
    },
  }];
}

/**
 * Every NetworkPolicy of an app's namespace: the ingress controller's way in (first: a namespace
 * whose isolation policy still admitted it never refuses it for a moment), the isolation, and the
 * egress:allow exceptions.
 */
export function networkPolicyObjects(r: Pick<DeployableRelease, 'app' | 'egress'>, net: ClusterNetwork): KubeObject<V1NetworkPolicy>[] {
  return [...fromIngressPolicy(r.app, net), isolationPolicy(r.app, net), ...egressAllowPolicy(r.app, r.egress ?? [])];
}
