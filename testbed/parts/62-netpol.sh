#!/usr/bin/env bash
# Testbed part: a NetworkPolicy enforcer for the node of 60-node.sh, so that the apps' policies
# are enforced as on k3s and the tests can prove them: kube-router's network policy controller
# (the controller k3s embeds), run on the host with only that controller on (no routing, no
# service proxy: kube-proxy and the CNI bridge of 60-node.sh keep those jobs).
#   It programs iptables (the machine's iptables, nf_tables backend, as kube-proxy) and ipsets:
#   per pod chains for the traffic to and from the node's pods, through FORWARD (pod to pod, also
#   across the bridge), OUTPUT and INPUT (pod to the node's own addresses).
# Why kube-router v2.1.0 and not sigs.k8s.io/kube-network-policies v0.8.0: the latter sends each
# new connection to user space with an nftables `queue` statement, and this kernel has no
# nft_queue (CONFIG_NFT_QUEUE is not set; a rule with it is refused with ENOENT), and it only
# looks at POSTROUTING, so a pod's connections to the node itself (SSH, the registry, the kubelet)
# would never be checked. kube-router's published flaw (GHSA-phqm-jgc3-qf8g) is in its service
# proxy, which is off here. docs/node-testbed.md has the details.
# Idempotent: rebuilt only when testbed/tools/netpol changes; a running controller is reused when
# it is ours, started with the same arguments, and healthy.
# Prints: SLIPWAY_INGRESS_FROM=node (Traefik runs on the node here, not in a pod) and
# SLIPWAY_TEST_NETPOL (the enforcer's name, for the tests that need one).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_NODE_NAME:?run after 60-node.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"

apt_need ipset iptables curl

part_lock netpol
ndir=$TESTBED_DIR/netpol
run=$ndir/run
logs=$ndir/log
mkdir -p "$run" "$logs"
restart_all=0
# The control plane's Service range (50-kube.sh): kube-router lets traffic to it through INPUT
# (it is translated to pod addresses before the policies see it).
service_cidr=10.43.0.0/16
health_port=20244

# --- 1. the binary ---------------------------------------------------------------------------------
go_tool netpol
bin=$GO_TOOL_BIN

# --- 2. the controller -----------------------------------------------------------------------------
# Healthy: its health endpoint says every controller it runs checked in, and its top-level chains
# are in place.
healthy() {
  [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$health_port/healthz")" = 200 ] &&
    iptables -w 5 -S KUBE-ROUTER-FORWARD >/dev/null 2>&1
}
started_any=0
# The admin kubeconfig of 50-kube.sh, as 65-certs.sh gives cert-manager: kube-router reads pods,
# namespaces, nodes and NetworkPolicies cluster-wide.
ensure_daemon netpol kube-router "$bin/kube-router" "$health_port" 120 "$(sha256sum "$KUBECONFIG" | cut -c1-16)" -- \
  --kubeconfig="$KUBECONFIG" \
  --hostname-override="$SLIPWAY_NODE_NAME" \
  --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
  --enable-cni=false \
  --service-cluster-ip-range="$service_cidr" \
  --health-port="$health_port" --metrics-port=0
if [ "$started_any" -eq 1 ]; then log "netpol: kube-router's network policy controller is up"; fi
pid=$(cat "$run/kube-router.pid")
log "netpol: enforcing NetworkPolicies on $SLIPWAY_NODE_NAME (kube-router $("$bin/kube-router" --version 2>&1 | grep -o 'v[0-9][0-9.]*' | head -n1), RSS $(($(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") / 1024)) MiB)"

printf 'export SLIPWAY_INGRESS_FROM=%q\n' node
printf 'export SLIPWAY_TEST_NETPOL=%q\n' kube-router
