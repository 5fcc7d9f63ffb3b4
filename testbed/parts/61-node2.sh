#!/usr/bin/env bash
# Testbed part: a second node, when SLIPWAY_TESTBED_NODES=2 (the default; 1 on a small machine,
# and this part then only makes sure no second node is left from an earlier run). The node is a booted systemd-nspawn machine
# (testbed/node2/machine.sh) with a network namespace of its own, linked to the host by a veth
# pair (host 10.44.0.1/30 on slw-node2, machine 10.44.0.2 on eth0), running as systemd services:
#   containerd (Debian's, the same as the first node's; testbed/node/containerd.toml) pulling from
#     the testbed registry through the host's end of the link;
#   the kubelet and kube-proxy of 50-kube.sh's pin, with client certificates of their own
#     (testbed/node/pki.sh: CN=system:node:slipway-node2, O=system:nodes);
#   CNI bridge + host-local on the pod CIDR the controller-manager gives the node (10.42.X.0/24);
#   kube-router's network policy controller (62-netpol.sh's binary) for the node's pods.
# The host routes the node's pod CIDR over the link; the machine's default route is the host. The
# API server (127.0.0.1:6443) and the registry (127.0.0.1:5000) stay on the host's loopback: the
# host forwards the machine's connections to 10.44.0.1:6443 and :5000 there (DNAT, with
# route_localnet on the link only). CoreDNS and Traefik stay on the host and reach the node's
# pods over the route. See docs/node-testbed.md, "The second node".
# Idempotent: the image is debootstrapped once; a running machine, unchanged configuration and
# healthy services are reused.
# Prints: SLIPWAY_TESTBED_NODES, and with 2 nodes SLIPWAY_NODE2_NAME, SLIPWAY_NODE_ADDRESSES
# (every node's address: app pods may reach none of them) and how cluster build pods reach the
# registry over the pod network (SLIPWAY_BUILD_REGISTRY, SLIPWAY_REGISTRY_HTTP, SLIPWAY_BUILD_EGRESS).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_KUBE_BIN_DIR:?run after 50-kube.sh}"
: "${SLIPWAY_NODE_NAME:?run after 60-node.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
nodes=${SLIPWAY_TESTBED_NODES:-2}
src=$SLIPWAY_ROOT/testbed/node2
nsrc=$SLIPWAY_ROOT/testbed/node
kbin=$SLIPWAY_KUBE_BIN_DIR
kubectl=$kbin/kubectl
export NODE2_NAME=slipway-node2 NODE2_LINK=slw-node2 NODE2_HOST_IP=10.44.0.1 NODE2_IP=10.44.0.2
export NODE2_CACHE=$SLIPWAY_CACHE_DIR/node2
node=$NODE2_NAME link=$NODE2_LINK host_ip=$NODE2_HOST_IP node_ip=$NODE2_IP
link_net=10.44.0.0/30
# The first node's CNI bridge (testbed/node/cni.conflist, 60-node.sh).
host_bridge=$(sed -n 's/^ *"bridge": "\([^"]*\)".*/\1/p' "$nsrc/cni.conflist")
[ -n "$host_bridge" ] || die "node2: no bridge named in $nsrc/cni.conflist"
# The control plane's --cluster-cidr (50-kube.sh) and where its API server listens (its kubeconfig).
cluster_cidr=${SLIPWAY_CLUSTER_CIDR:-10.42.0.0/16}
api_local=$(sed -n 's|^ *server: https://||p' "$KUBECONFIG" | head -n1)
machine=$src/machine.sh
m() { bash "$machine" exec "$@"; }

part_lock node2
ndir=$TESTBED_DIR/node2
mkdir -p "$ndir"

# --- host side of the network: own chains, hooked into the built-in ones once -------------------
# nat SLIPWAY-NODE2-PRE (PREROUTING, from the link and from the first node's CNI bridge): the
#   machine's connections to the host's end of the link on 6443 and 5000 go to the API server and
#   the registry on loopback; the cluster's pods (both nodes': they keep their pod address) reach
#   only the registry that way, as cluster builds do (SLIPWAY_BUILD_REGISTRY=10.44.0.1:5000: on the
#   pod network, inside their NetworkPolicy). Their connections to 6443 never match.
# nat SLIPWAY-NODE2-POST (first in POSTROUTING): pod to pod between the nodes keeps its source
#   address (the first node's bridge plugin masquerades everything leaving its pod CIDR), so
#   NetworkPolicies see the real peer; the machine's own traffic to the outside is masqueraded.
host_rules() {
  local host_cidr=$1 node2_cidr=$2 out_if src
  out_if=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  iptables -w 5 -t nat -N SLIPWAY-NODE2-PRE 2>/dev/null || iptables -w 5 -t nat -F SLIPWAY-NODE2-PRE
  iptables -w 5 -t nat -A SLIPWAY-NODE2-PRE -s "$node_ip" -d "$host_ip" -p tcp --dport 6443 -j DNAT --to-destination "$api_local"
  for src in "$node_ip" "$cluster_cidr"; do
    iptables -w 5 -t nat -A SLIPWAY-NODE2-PRE -s "$src" -d "$host_ip" -p tcp --dport "${SLIPWAY_REGISTRY##*:}" \
      -j DNAT --to-destination "$SLIPWAY_REGISTRY"
  done
  iptables -w 5 -t nat -C PREROUTING -i "$link" -j SLIPWAY-NODE2-PRE 2>/dev/null ||
    iptables -w 5 -t nat -I PREROUTING 1 -i "$link" -j SLIPWAY-NODE2-PRE
  iptables -w 5 -t nat -C PREROUTING -i "$host_bridge" -j SLIPWAY-NODE2-PRE 2>/dev/null ||
    iptables -w 5 -t nat -I PREROUTING 1 -i "$host_bridge" -j SLIPWAY-NODE2-PRE
  iptables -w 5 -t nat -N SLIPWAY-NODE2-POST 2>/dev/null || iptables -w 5 -t nat -F SLIPWAY-NODE2-POST
  # The first node's pods keep their addresses towards the second node's pods, as on a real cluster
  # (flannel masquerades only what leaves the cluster's pods): ACCEPT ends the nat table's
  # POSTROUTING here, so the bridge plugin's MASQUERADE after this chain never sees these packets
  # (a RETURN would fall through to it, and the second node's NetworkPolicies would see the first
  # node's address instead of the pod's).
  [ -z "$host_cidr" ] || [ -z "$node2_cidr" ] || iptables -w 5 -t nat -A SLIPWAY-NODE2-POST -s "$host_cidr" -d "$node2_cidr" -j ACCEPT
  [ -z "$out_if" ] || iptables -w 5 -t nat -A SLIPWAY-NODE2-POST -s "$link_net" -o "$out_if" -j MASQUERADE
  iptables -w 5 -t nat -C POSTROUTING -j SLIPWAY-NODE2-POST 2>/dev/null ||
    iptables -w 5 -t nat -I POSTROUTING 1 -j SLIPWAY-NODE2-POST
  # DNAT to 127.0.0.1 needs route_localnet on the interface the connection comes in on: the link
  # (it goes with the link) and the first node's bridge (restored by remove_host_rules).
  sysctl -qw "net.ipv4.conf.$link.route_localnet=1"
  [ -n "$host_cidr" ] || return 0
  # The bridge plugin makes the bridge at the node's first pod; made here as it would make it (its
  # gateway, the first address of the node's pod CIDR; 60-node.sh's check of it passes) when no
  # pod ran yet, so that the sysctl has an interface to go on.
  if ! ip link show "$host_bridge" >/dev/null 2>&1; then
    local base=${host_cidr%/*}
    ip link add "$host_bridge" type bridge
    ip addr add "${base%.*}.$((${base##*.} + 1))/${host_cidr#*/}" dev "$host_bridge"
    ip link set "$host_bridge" up
  fi
  [ -f "$ndir/$host_bridge.route_localnet" ] ||
    sysctl -n "net.ipv4.conf.$host_bridge.route_localnet" >"$ndir/$host_bridge.route_localnet"
  sysctl -qw "net.ipv4.conf.$host_bridge.route_localnet=1"
}
# (The rules are read into a variable first: `iptables -S | grep -q` fails under pipefail when grep
# quits before iptables has written a large table.)
remove_host_rules() {
  local c rule rules
  for c in PREROUTING:SLIPWAY-NODE2-PRE POSTROUTING:SLIPWAY-NODE2-POST; do
    rules=$(iptables -w 5 -t nat -S "${c%%:*}" 2>/dev/null || true)
    while read -r rule; do
      [ -n "$rule" ] || continue
      # shellcheck disable=SC2086 # a rule as iptables -S prints it: words without spaces in them
      iptables -w 5 -t nat ${rule/#-A /-D }
    done <<<"$(grep -- "-j ${c#*:}\$" <<<"$rules" || true)"
    iptables -w 5 -t nat -F "${c#*:}" 2>/dev/null || true
    iptables -w 5 -t nat -X "${c#*:}" 2>/dev/null || true
  done
  # The first node's bridge as it was before host_rules (when the bridge is still there).
  if [ -f "$ndir/$host_bridge.route_localnet" ]; then
    sysctl -qw "net.ipv4.conf.$host_bridge.route_localnet=$(cat "$ndir/$host_bridge.route_localnet")" 2>/dev/null || true
    rm -f "$ndir/$host_bridge.route_localnet"
  fi
}

# --- one node: take a second one down -------------------------------------------------------------
teardown() {
  local had=0
  if "$kubectl" get node "$node" -o name >/dev/null 2>&1; then
    had=1
    log "node2: SLIPWAY_TESTBED_NODES=$nodes: draining and deleting node $node"
    "$kubectl" cordon "$node" >/dev/null 2>&1 || true
    "$kubectl" drain "$node" --ignore-daemonsets --delete-emptydir-data --force --grace-period=10 --timeout=120s >/dev/null 2>&1 ||
      log "node2: the drain did not finish; deleting the node anyway"
    "$kubectl" delete node "$node" --ignore-not-found --wait=true >/dev/null
  fi
  if bash "$machine" leader >/dev/null 2>&1; then
    had=1
    log "node2: stopping machine $node"
    m systemctl stop kube-proxy kubelet kube-router >/dev/null 2>&1 || true
    bash "$machine" poweroff
  fi
  ip route show | awk -v l="$link" '$0 ~ " dev " l " " { print $1 }' | while read -r r; do ip route del "$r" 2>/dev/null || true; done
  ip link del "$link" 2>/dev/null || true
  nat=$(iptables -w 5 -t nat -S 2>/dev/null || true)
  if grep -q SLIPWAY-NODE2 <<<"$nat" || [ -f "$ndir/$host_bridge.route_localnet" ]; then had=1; remove_host_rules; fi
  [ "$had" -eq 0 ] || log "node2: second node removed; the testbed has one node"
}

case $nodes in
  1)
    teardown
    printf 'export SLIPWAY_TESTBED_NODES=1\n'
    exit 0
    ;;
  2) ;;
  *) die "node2: SLIPWAY_TESTBED_NODES must be 1 or 2 (is $nodes)" ;;
esac
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${SLIPWAY_REGISTRY_AUTH_FILE:?run after 20-registry.sh}"
: "${SLIPWAY_CONTAINERD_ADDRESS:?run after 60-node.sh}"

apt_need debootstrap systemd-container iptables iproute2 openssl curl util-linux

# --- 1. the machine -------------------------------------------------------------------------------
bash "$machine" image
bash "$machine" boot 8>&-
root=$(bash "$machine" dir)
# The machine reaches the API server and the registry from here on; pod routes come with its CIDR.
host_rules "" ""

# --- 2. binaries and images -----------------------------------------------------------------------
# Copied in (not bind-mounted): a rebuilt pin replaces them without a reboot. Changed binaries
# restart their services (below, through the configuration hash).
install_bin() { # SRC NAME
  if ! cmp -s "$1" "$root/usr/local/bin/$2"; then
    install -m 0755 "$1" "$root/usr/local/bin/$2.new" && mv "$root/usr/local/bin/$2.new" "$root/usr/local/bin/$2"
  fi
}
install_bin "$kbin/kubelet" kubelet
install_bin "$kbin/kube-proxy" kube-proxy
# The NetworkPolicy enforcer: 62-netpol.sh's build, made here when this part comes first (the same
# stamp, so 62-netpol.sh then finds it built).
go_tool netpol
netpol_bin=$GO_TOOL_BIN
install_bin "$netpol_bin/kube-router" kube-router
# The pod sandbox image: the first node's, from the registry (named in its containerd config).
sandbox_image=$(sed -n 's/^ *sandbox_image = "\(.*\)"$/\1/p' "$TESTBED_DIR/node/containerd/config.toml")
[ -n "$sandbox_image" ] || die "node2: no sandbox_image in $TESTBED_DIR/node/containerd/config.toml"

# --- 3. certificates and configuration -----------------------------------------------------------
api_url=https://$host_ip:6443
etc=$root/etc/slipway
mkdir -p "$etc/pki" "$root/etc/cni/net.d" "$root/var/lib/slipway/containerd/certs.d/$SLIPWAY_REGISTRY" "$root/var/log/pods"
# The API server's certificate names 127.0.0.1 and kubernetes[.default…], not the link's address:
# the node's kubeconfigs check it against the name `kubernetes` (tls-server-name).
bash "$nsrc/pki.sh" "$TESTBED_DIR/kube/pki" "$ndir/pki" "$api_url" "$node" >/dev/null
for kc in kubelet kube-proxy; do
  sed '/^    server: /a\    tls-server-name: kubernetes' "$ndir/pki/$kc.kubeconfig" >"$ndir/pki/$kc.node.kubeconfig"
  (umask 077 && cat "$ndir/pki/$kc.node.kubeconfig" >"$etc/pki/$kc.kubeconfig")
done
# kube-router reads pods, namespaces, nodes and policies cluster-wide: the admin kubeconfig, as on
# the first node (62-netpol.sh), pointed at the link.
(umask 077 && sed -e "s|^    server: .*|    server: $api_url\n    tls-server-name: kubernetes|" "$KUBECONFIG" >"$etc/pki/admin.kubeconfig")
cp "$TESTBED_DIR/kube/pki/ca.crt" "$etc/pki/ca.crt"

IFS=: read -r registry_user registry_password <"$SLIPWAY_REGISTRY_AUTH_FILE"
mirror=$host_ip:${SLIPWAY_REGISTRY##*:}
cdir=/var/lib/slipway/containerd
(umask 077 && render "$nsrc/containerd.toml" "$ndir/containerd.toml" DIR="$cdir" SANDBOX_IMAGE="$sandbox_image" \
  CNI_BIN=/usr/lib/cni CNI_CONF=/etc/cni/net.d REGISTRY="$SLIPWAY_REGISTRY" REGISTRY_USER="$registry_user" \
  REGISTRY_PASSWORD="$registry_password")
# containerd asks the credential of the host it talks to: the mirror's too.
(umask 077 && {
  cat "$ndir/containerd.toml"
  printf '\n      [plugins."io.containerd.grpc.v1.cri".registry.configs."%s".auth]\n        username = "%s"\n        password = "%s"\n' \
    "$mirror" "$registry_user" "$registry_password"
} >"$ndir/containerd.full.toml")
render "$src/hosts.toml" "$ndir/hosts.toml" REGISTRY="$SLIPWAY_REGISTRY" MIRROR="$mirror"
render "$nsrc/kubelet.yaml" "$ndir/kubelet.yaml" CONTAINERD_SOCK="$cdir/containerd.sock" CA=/etc/slipway/pki/ca.crt \
  LOG_DIR=/var/log/pods
render "$nsrc/kube-proxy.yaml" "$ndir/kube-proxy.yaml" KUBECONFIG=/etc/slipway/pki/kube-proxy.kubeconfig \
  NODE="$node" CLUSTER_CIDR="$cluster_cidr"
render "$src/kubelet.service" "$ndir/kubelet.service" NODE="$node" NODE_IP="$node_ip" SANDBOX_IMAGE="$sandbox_image"
render "$src/kube-proxy.service" "$ndir/kube-proxy.service" NODE="$node"
render "$src/kube-router.service" "$ndir/kube-router.service" NODE="$node"

# put SRC DEST: copies SRC to DEST in the machine when it differs; prints DEST's unit to restart.
changed_units=()
put() { # SRC DEST UNIT
  if ! cmp -s "$1" "$root$2"; then
    (umask 077 && cat "$1" >"$root$2.new") && mv "$root$2.new" "$root$2"
    changed_units+=("$3")
  fi
}
put "$ndir/containerd.full.toml" /etc/containerd/config.toml containerd
put "$ndir/hosts.toml" "$cdir/certs.d/$SLIPWAY_REGISTRY/hosts.toml" containerd
put "$ndir/kubelet.yaml" /etc/slipway/kubelet.yaml kubelet
put "$ndir/kubelet.service" /etc/systemd/system/kubelet.service kubelet
put "$ndir/kube-proxy.yaml" /etc/slipway/kube-proxy.yaml kube-proxy
put "$ndir/kube-proxy.service" /etc/systemd/system/kube-proxy.service kube-proxy
put "$ndir/kube-router.service" /etc/systemd/system/kube-router.service kube-router
# Binaries and certificates: a different hash since the services last started restarts them.
for u in kubelet kube-proxy kube-router; do
  case $u in
    kubelet) h=$(cat "$root/usr/local/bin/kubelet" "$etc/pki/kubelet.kubeconfig" "$etc/pki/ca.crt" | sha256sum | cut -c1-16) ;;
    kube-proxy) h=$(cat "$root/usr/local/bin/kube-proxy" "$etc/pki/kube-proxy.kubeconfig" | sha256sum | cut -c1-16) ;;
    kube-router) h=$(cat "$root/usr/local/bin/kube-router" "$etc/pki/admin.kubeconfig" | sha256sum | cut -c1-16) ;;
  esac
  [ "$(cat "$ndir/$u.inputs" 2>/dev/null)" = "$h" ] || changed_units+=("$u")
  echo "$h" >"$ndir/$u.inputs.next"
done
m systemctl daemon-reload

# ensure_unit UNIT TIMEOUT CHECK...: (re)starts UNIT when its configuration changed or it is not
# active, and waits for CHECK (run inside the machine) to pass.
ensure_unit() {
  local unit=$1 timeout=$2
  shift 2
  if printf '%s\n' "${changed_units[@]}" | grep -qx "$unit"; then
    log "node2: (re)starting $unit"
    m systemctl restart "$unit"
    started_any=1
  elif ! m systemctl is-active -q "$unit"; then
    log "node2: starting $unit"
    m systemctl start "$unit"
    started_any=1
  fi
  local end=$((SECONDS + timeout))
  until m "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      m journalctl -u "$unit" --no-pager -n 30 >&2 || true
      die "node2: $unit not healthy after ${timeout}s (machine.sh exec journalctl -u $unit)"
    fi
    sleep 0.5
  done
  [ ! -f "$ndir/$unit.inputs.next" ] || mv "$ndir/$unit.inputs.next" "$ndir/$unit.inputs"
}

# --- 4. services ----------------------------------------------------------------------------------
started_any=0
ensure_unit containerd 60 sh -c "ctr --address $cdir/containerd.sock plugins ls | grep -q 'io.containerd.grpc.v1 *cri .* ok'"
# shellcheck disable=SC2016 # expanded inside the machine
ensure_unit kubelet 120 sh -c '[ "$(curl -s -m 3 http://127.0.0.1:10248/healthz)" = ok ]'
( wait_for "node $node to register" 60 "$kubectl" get node "$node" ) || die "node2: $node did not register (machine.sh exec journalctl -u kubelet)"

# The pod CIDR the controller-manager gave the node, and the first node's.
pod_cidr=
end=$((SECONDS + 60))
until pod_cidr=$("$kubectl" get node "$node" -o 'jsonpath={.spec.podCIDR}' 2>/dev/null) && [ -n "$pod_cidr" ]; do
  [ $SECONDS -lt $end ] || die "node2: $node got no pod CIDR"
  sleep 0.5
done
host_cidr=$("$kubectl" get node "$SLIPWAY_NODE_NAME" -o 'jsonpath={.spec.podCIDR}' 2>/dev/null || true)
[ -n "$host_cidr" ] || log "node2: the first node $SLIPWAY_NODE_NAME has no pod CIDR: no pods to route to there"

# Routes: the host reaches the node's pods over the link (with the host's InternalIP as the source
# of its own connections: the node's NetworkPolicies let the nodes' addresses in); the machine
# reaches everything else through the host.
host_node_ip=$("$kubectl" get node "$SLIPWAY_NODE_NAME" -o 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}' 2>/dev/null || true)
[ -n "$host_node_ip" ] || host_node_ip=$(ip -4 route get 1.1.1.1 | sed -n 's/.* src \([0-9.]*\).*/\1/p')
ip route show | awk -v l="$link" -v c="$pod_cidr" '$0 ~ " dev " l " " && $1 != c && $1 ~ /\// && $1 != "10.44.0.0/30" { print $1 }' |
  while read -r r; do ip route del "$r" 2>/dev/null || true; done
ip route replace "$pod_cidr" via "$node_ip" dev "$link" src "$host_node_ip"
host_rules "$host_cidr" "$pod_cidr"
# In the machine: traffic from its pods to anything outside the cluster's pods and the link is
# masqueraded (as the first node's bridge plugin does); to pods and the host it keeps its address.
m sh -c "iptables -w 5 -t nat -N SLIPWAY-MASQ 2>/dev/null || iptables -w 5 -t nat -F SLIPWAY-MASQ
  iptables -w 5 -t nat -A SLIPWAY-MASQ -d $cluster_cidr -j RETURN
  iptables -w 5 -t nat -A SLIPWAY-MASQ -d $link_net -j RETURN
  iptables -w 5 -t nat -A SLIPWAY-MASQ -j MASQUERADE
  iptables -w 5 -t nat -S POSTROUTING | grep -q -- '-j SLIPWAY-MASQ' ||
    iptables -w 5 -t nat -A POSTROUTING -s $cluster_cidr -j SLIPWAY-MASQ"

render "$src/cni.conflist" "$ndir/cni.conflist" POD_CIDR="$pod_cidr"
# Written in place (see 60-node.sh: containerd 1.6 ignores a file renamed into the directory).
if ! cmp -s "$ndir/cni.conflist" "$root/etc/cni/net.d/10-slipway.conflist" ||
  [ "$("$kubectl" get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" != True ]; then
  log "node2: CNI network on $pod_cidr"
  cat "$ndir/cni.conflist" >"$root/etc/cni/net.d/10-slipway.conflist"
fi
( wait_for "node $node to be Ready" 120 "$kubectl" wait --for=condition=Ready "node/$node" --timeout=5s ) ||
  die "node2: $node is not Ready: $("$kubectl" get node "$node" -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {.message}; {end}')"

# shellcheck disable=SC2016 # expanded inside the machine
ensure_unit kube-proxy 60 sh -c '[ "$(curl -s -m 3 -o /dev/null -w "%{http_code}" http://127.0.0.1:10256/healthz)" = 200 ]'
# shellcheck disable=SC2016 # expanded inside the machine
ensure_unit kube-router 120 sh -c '[ "$(curl -s -m 3 -o /dev/null -w "%{http_code}" http://127.0.0.1:20244/healthz)" = 200 ]'

# --- 5. check -------------------------------------------------------------------------------------
# After a start (or on demand) prove the two nodes work together (testbed/node2/check.sh).
if [ "$started_any" -eq 1 ] || [ "${SLIPWAY_NODE_CHECK:-0}" = 1 ]; then
  first=
  [ -z "$host_cidr" ] || first=$SLIPWAY_NODE_NAME
  bash "$src/check.sh" "$kubectl" "${SLIPWAY_RUN_IMAGE:?run after 40-builder.sh}" "$node" "$first" 8>&-
fi
log "node2: $node Ready at $node_ip, pods on $pod_cidr (machine $(bash "$machine" dir))"
# What Slipway counts as "this machine's addresses" by default (every interface but loopback), plus
# the second node's, plus 127.0.0.1: a first-node pod's connection to the registry's pod-network
# address (10.44.0.1:5000, below) reaches the policy enforcer already rewritten to 127.0.0.1:5000, so
# apps' NetworkPolicies must exclude that address as they exclude the nodes' own.
addrs=$(ip -o addr show | awk '$2 != "lo" { sub(/\/.*/, "", $4); print $4 }' | sort -u | paste -sd, -)
printf 'export SLIPWAY_TESTBED_NODES=2\n'
printf 'export SLIPWAY_NODE2_NAME=%q\n' "$node"
printf 'export SLIPWAY_NODE_ADDRESSES=%q\n' "$addrs,$node_ip,127.0.0.1"
# Cluster builds on the pod network (host_rules): the registry at the host's end of the link, plain
# HTTP. kube-router judges a connection after the host's DNAT, so the first node's build pods'
# connections to it arrive as 127.0.0.1:5000: the builds' NetworkPolicy must allow that too (a pod
# reaching 127.0.0.1 itself reaches its own loopback, never the host's), besides the default (the
# internet over HTTP and HTTPS, where the builders download runtimes and packages).
printf 'export SLIPWAY_BUILD_REGISTRY=%q\n' "$host_ip:${SLIPWAY_REGISTRY##*:}"
printf 'export SLIPWAY_REGISTRY_HTTP=%q\n' "$host_ip:${SLIPWAY_REGISTRY##*:}"
printf 'export SLIPWAY_BUILD_EGRESS=%q\n' "$SLIPWAY_REGISTRY,internet:80,internet:443"
