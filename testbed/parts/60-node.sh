#!/usr/bin/env bash
# Testbed part: a real node for the control plane of 50-kube.sh, so deployed apps run and answer
# HTTP, and an ingress in front of them as k3s has:
#   containerd (Debian's, with its CRI plugin; own config, state and socket under the testbed dir)
#     pulling from the testbed registry over plain HTTP, with a pod sandbox ("pause") image built
#     here from testbed/tools/node/pause;
#   CNI (Debian's containernetworking-plugins): bridge cni0 + host-local IPAM on the node's pod
#     CIDR (10.42.0.0/24) + portmap, loopback;
#   the kubelet (the pinned v1.34 of 50-kube.sh) registered as node $(hostname);
#   kube-proxy in iptables mode (ClusterIP Services);
#   CoreDNS (testbed/tools/node/dns) on the node's address behind the kube-dns Service at 10.43.0.10;
#   Traefik (testbed/tools/node's pin) on the host, watching Ingresses, serving apps on 127.0.0.1:8081.
# Idempotent: binaries are rebuilt only when testbed/tools/node changes; a running component is reused
# when it is ours, started with the same arguments and configuration, and healthy.
# See docs/node-testbed.md for every setting and why.
# Prints: SLIPWAY_TEST_INGRESS (host:port of the ingress), SLIPWAY_NODE_NAME,
# SLIPWAY_CONTAINERD_ADDRESS (for `ctr --address … -n k8s.io`).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_KUBE_BIN_DIR:?run after 50-kube.sh}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
src=$SLIPWAY_ROOT/testbed/node
mod=$SLIPWAY_ROOT/testbed/tools/node
kbin=$SLIPWAY_KUBE_BIN_DIR
kubectl=$kbin/kubectl

apt_need containerd runc containernetworking-plugins iptables conntrack openssl curl iproute2 util-linux tar
cni_bin=/usr/lib/cni
for p in bridge host-local portmap loopback; do
  [ -x "$cni_bin/$p" ] || die "node: CNI plugin $cni_bin/$p is missing (containernetworking-plugins)"
done

# One run at a time; daemons are started with this descriptor closed so they do not hold it.
part_lock node

ndir=$TESTBED_DIR/node
run=$ndir/run
logs=$ndir/log
mkdir -p "$run" "$logs"
ingress_addr=${SLIPWAY_INGRESS_ADDR:-127.0.0.1:8081}
ingress_port=${ingress_addr##*:}
ping_addr=${ingress_addr%:*}:$((ingress_port + 1))
# TLS for apps (the SNI certificates of their Ingresses), and the node's port 80 on an address of
# its own for the ACME CA's HTTP-01 checks (65-certs.sh).
# HTTPS on the node's address and port 443, as k3s's Traefik has it: Traefik's redirectScheme
# drops the port, so on any other port a request already on HTTPS would be redirected to :443.
https_addr=${SLIPWAY_HTTPS_INGRESS_ADDR:-127.0.0.80:443}
node80_addr=127.0.0.80:80
api_url=https://127.0.0.1:6443
cluster_cidr=10.42.0.0/16
# The node's name is the machine's host name (lower case, as the kubelet does it): the API
# server reaches the kubelet (logs, exec) at the node's Hostname address first, and the host name
# resolves on this machine.
node=$(hostname | tr '[:upper:]' '[:lower:]')

# --- 1. binaries: pause and traefik from testbed/tools/node ------------------------------------------------
go_tool node
bin=$GO_TOOL_BIN

# --- 2. the pod sandbox image ----------------------------------------------------------------------
# One file, /pause, imported into the testbed's Docker and pushed to its registry. The tag is the
# binary's hash: the same program is never pushed twice.
sandbox_image=$(binary_image node "$bin" pause "pod sandbox")

# --- 3. certificates -------------------------------------------------------------------------------
restart_all=0
if [ -n "$(bash "$src/pki.sh" "$TESTBED_DIR/kube/pki" "$ndir/pki" "$api_url" "$node")" ]; then
  log "node: client certificates (re)written under $ndir/pki"
  restart_all=1
fi

# --- 4. configuration ------------------------------------------------------------------------------
cdir=$ndir/containerd
csock=$cdir/containerd.sock
cni_conf=$ndir/cni/net.d
mkdir -p "$cdir" "$cni_conf" "$ndir/cni/ipam" "$ndir/kubelet/root" "$ndir/kubelet/pki" "$ndir/kubelet/pod-logs" "$ndir/traefik"
# The node's config files from testbed/node/ (render: testbed/lib.sh; values are paths and
# addresses, no `|` in them).
# The registry's credential goes into containerd's config, which only root may read.
: "${SLIPWAY_REGISTRY_AUTH_FILE:?run after 20-registry.sh}"
IFS=: read -r registry_user registry_password <"$SLIPWAY_REGISTRY_AUTH_FILE"
(umask 077 && render "$src/containerd.toml" "$cdir/config.toml" DIR="$cdir" SANDBOX_IMAGE="$sandbox_image" \
  CNI_BIN="$cni_bin" CNI_CONF="$cni_conf" REGISTRY="$SLIPWAY_REGISTRY" REGISTRY_USER="$registry_user" REGISTRY_PASSWORD="$registry_password")
mkdir -p "$cdir/certs.d/$SLIPWAY_REGISTRY"
render "$src/hosts.toml" "$cdir/certs.d/$SLIPWAY_REGISTRY/hosts.toml" DIR="$cdir" REGISTRY="$SLIPWAY_REGISTRY"
render "$src/kubelet.yaml" "$ndir/kubelet/config.yaml" CONTAINERD_SOCK="$csock" \
  CA="$TESTBED_DIR/kube/pki/ca.crt" LOG_DIR="$ndir/kubelet/pod-logs"
render "$src/kube-proxy.yaml" "$ndir/kube-proxy.yaml" KUBECONFIG="$ndir/pki/kube-proxy.kubeconfig" \
  NODE="$node" CLUSTER_CIDR="$cluster_cidr"
render "$src/traefik.yaml" "$ndir/traefik/traefik.yaml" WEB_ADDR="$ingress_addr" PING_ADDR="$ping_addr" \
  WEBSECURE_ADDR="$https_addr" NODE80_ADDR="$node80_addr"
mkdir -p "$ndir/dns"
dns_health=127.0.0.1:10054
dns_ready=127.0.0.1:10055

# --- 5. processes ----------------------------------------------------------------------------------
# Each runs detached with a pidfile and a log, like the control plane's. The recorded arguments
# include a hash of the files the component reads, so a changed configuration restarts it.

# stop NAME EXE: stops this testbed's NAME (testbed/lib.sh).
stop() { stop_process node "$1" "$2"; }

healthy() {
  case $1 in
    # The CRI plugin loads at once but answers "server is not initialized yet" until it has
    # recovered its containers' state (seconds with many of them) and started its streaming
    # server, the last step before it serves; a kubelet started earlier exits.
    containerd) ctr --address "$csock" version >/dev/null 2>&1 &&
      ctr --address "$csock" plugins ls 2>/dev/null | grep -q 'io.containerd.grpc.v1 *cri .* ok' &&
      awk '/^=== .* start containerd$/ { up = 0 } /msg="Start streaming server"/ { up = 1 } END { exit !up }' "$logs/containerd.log" ;;
    # Healthy, and its Node is in the API (a reset control plane forgets it; the kubelet only
    # registers when it starts).
    kubelet) [ "$(curl -s -m 3 http://127.0.0.1:10248/healthz)" = ok ] &&
      "$kubectl" get node "$node" -o name >/dev/null 2>&1 ;;
    kube-proxy) [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:10256/healthz)" = 200 ] ;;
    traefik) [ "$(curl -s -m 3 "http://$ping_addr/ping")" = OK ] ;;
    # Ready once its kubernetes plugin has synced with the API.
    coredns) [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$dns_ready/ready")" = 200 ] ;;
  esac
}

started_any=0
# ensure NAME EXE PORT TIMEOUT INPUTS -- ARGS...: ensure_daemon (testbed/lib.sh) for the node.
ensure() { ensure_daemon node "$@"; }
# hash_files FILE...: what a component reads, for its recorded arguments.
hash_files() { cat "$@" | sha256sum | cut -c1-16; }

if [ "$restart_all" -eq 1 ]; then
  stop traefik "$bin/traefik"
  stop coredns "$bin/coredns"
  stop kube-proxy "$kbin/kube-proxy"
  stop kubelet "$kbin/kubelet"
  restart_all=0
fi

node_started=$SECONDS
# (containerd listens on a socket only: no port to check.)
ensure containerd /usr/bin/containerd 0 60 "$(hash_files "$cdir/config.toml" "$cdir/certs.d/$SLIPWAY_REGISTRY/hosts.toml")" -- \
  --config "$cdir/config.toml"

ensure kubelet "$kbin/kubelet" 10248 120 "$(hash_files "$ndir/kubelet/config.yaml" "$ndir/pki/kubelet.kubeconfig")" -- \
  --config="$ndir/kubelet/config.yaml" \
  --kubeconfig="$ndir/pki/kubelet.kubeconfig" \
  --root-dir="$ndir/kubelet/root" \
  --cert-dir="$ndir/kubelet/pki" \
  --hostname-override="$node" \
  --pod-infra-container-image="$sandbox_image"

# The pod network: the controller-manager gives the node a /24 of 10.42.0.0/16; host-local hands
# out its addresses. containerd loads the file when it appears (the node is NotReady until then).
pod_cidr=
end=$((SECONDS + 60))
until pod_cidr=$("$kubectl" get node "$node" -o 'jsonpath={.spec.podCIDR}' 2>/dev/null) && [ -n "$pod_cidr" ]; do
  [ $SECONDS -lt $end ] || die "node: $node got no pod CIDR (is the controller-manager running with --allocate-node-cidrs?)"
  sleep 0.5
done
render "$src/cni.conflist" "$ndir/cni/slipway.conflist" POD_CIDR="$pod_cidr" IPAM_DIR="$ndir/cni/ipam"
# A cni0 left from an earlier pod CIDR (the Node was deleted and registered again) makes the
# bridge plugin fail every pod ("cni0 already has an IP address different from …"): remove it,
# the plugin makes it again with the new gateway. Pods on the old subnet had no working network.
base=${pod_cidr%/*}
gateway=${base%.*}.$((${base##*.} + 1))
if ip link show cni0 >/dev/null 2>&1 && ! ip -4 -o addr show dev cni0 | grep -q " inet $gateway/"; then
  log "node: cni0 has $(ip -4 -o addr show dev cni0 | awk '{ print $4 }' | tr '\n' ' ')not $gateway; removing it"
  ip link del cni0
fi
if ! cmp -s "$ndir/cni/slipway.conflist" "$cni_conf/10-slipway.conflist"; then
  log "node: CNI network slipway on $pod_cidr"
  # Written in place, not renamed into the directory: containerd 1.6 reloads its CNI config on a
  # write, rename or remove event there, and ignores a create (which is all a rename into the
  # directory gives): the node would stay NotReady with "cni plugin not initialized".
  cat "$ndir/cni/slipway.conflist" >"$cni_conf/10-slipway.conflist"
elif [ "$("$kubectl" get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" != True ]; then
  # Same file, node not Ready (a containerd that missed it, as above): a write makes it reload.
  cat "$ndir/cni/slipway.conflist" >"$cni_conf/10-slipway.conflist"
fi
( wait_for "node $node to be Ready" 120 \
  "$kubectl" wait --for=condition=Ready "node/$node" --timeout=5s ) ||
  die "node: $node is not Ready: $("$kubectl" get node "$node" -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {.message}; {end}')"

ensure kube-proxy "$kbin/kube-proxy" 10256 60 "$(hash_files "$ndir/kube-proxy.yaml" "$ndir/pki/kube-proxy.kubeconfig")" -- \
  --config="$ndir/kube-proxy.yaml"

# The ingress controller's and the DNS server's rights, the default IngressClass, the kube-dns
# Service and its endpoint: the node's address (server-side apply: a rerun is a no-op).
node_ip=$("$kubectl" get node "$node" -o 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')
[ -n "$node_ip" ] || die "node: $node has no InternalIP address"
render "$src/dns-endpoints.yaml" "$ndir/dns/endpoints.yaml" NODE_IP="$node_ip" NODE="$node"
# Traefik's CRDs (its kubernetesCRD provider watches them; Slipway's redirect is a Middleware), from
# the pinned module's source.
traefik_dir=$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)
"$kubectl" apply --server-side --field-manager=slipway-testbed -f "$src/rbac.yaml" -f "$ndir/dns/endpoints.yaml" \
  -f "$traefik_dir/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" >/dev/null ||
  die "node: could not apply $src/rbac.yaml, Traefik's CRDs and the kube-dns endpoint"

render "$src/Corefile" "$ndir/dns/Corefile" NODE_IP="$node_ip" HEALTH_ADDR="$dns_health" READY_ADDR="$dns_ready" \
  KUBECONFIG="$ndir/pki/dns.kubeconfig"
ensure coredns "$bin/coredns" "${dns_ready##*:}" 60 "$(hash_files "$ndir/dns/Corefile" "$ndir/pki/dns.kubeconfig")" -- \
  -conf "$ndir/dns/Corefile"

ensure traefik "$bin/traefik" "$ingress_port" 60 "$(hash_files "$ndir/traefik/traefik.yaml" "$ndir/pki/ingress.kubeconfig")" -- \
  KUBECONFIG="$ndir/pki/ingress.kubeconfig" --configfile="$ndir/traefik/traefik.yaml"

if [ "$started_any" -eq 1 ]; then log "node: components up in $((SECONDS - node_started))s"; fi

# --- 6. check --------------------------------------------------------------------------------------
# After a start (or on demand) prove the whole path: a pod from the registry becomes Ready, its
# ClusterIP Service answers from the host, and the ingress routes a Host header to it.
if [ "$started_any" -eq 1 ] || [ "${SLIPWAY_NODE_CHECK:-0}" = 1 ]; then
  bash "$src/check.sh" "$kubectl" "$ingress_addr" "${SLIPWAY_RUN_IMAGE:-}" "$node" 8>&-
fi
rss() { local pid; pid=$(cat "$run/$1.pid"); echo $(($(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") / 1024)); }
log "node: $node Ready; ingress on $ingress_addr (RSS MiB: containerd $(rss containerd), kubelet $(rss kubelet), kube-proxy $(rss kube-proxy), coredns $(rss coredns), traefik $(rss traefik))"

printf 'export SLIPWAY_TEST_INGRESS=%q\n' "$ingress_addr"
printf 'export SLIPWAY_INGRESS_API=%q\n' "http://$ping_addr"
printf 'export SLIPWAY_TEST_HTTPS_INGRESS=%q\n' "$https_addr"
printf 'export SLIPWAY_TEST_NODE80=%q\n' "$node80_addr"
printf 'export SLIPWAY_NODE_NAME=%q\n' "$node"
printf 'export SLIPWAY_CONTAINERD_ADDRESS=%q\n' "$csock"
