#!/usr/bin/env bash
# Testbed part: a real Kubernetes control plane on loopback (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler), built from the Go module proxy at the version pinned in
# testbed/tools/kube/go.mod. Also builds kubectl, kubelet and kube-proxy for the node that comes next.
# Idempotent: binaries are rebuilt only when the pin changes, certificates are kept while valid,
# and running healthy components are reused. See docs/kube-testbed.md.
# Prints: KUBECONFIG (cluster admin), SLIPWAY_TEST_KUBECONFIG_NORIGHTS (a user with no RBAC rights),
# SLIPWAY_KUBE_BIN_DIR (kubectl, kubelet, kube-proxy, …).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
kube_src=$SLIPWAY_ROOT/testbed/kube

apt_need openssl curl iproute2 coreutils util-linux

# One run at a time (engineers and CI share the machine's testbed): a second run waits here.
# Daemons and the build are started with this descriptor closed, so they do not hold the lock.
mkdir -p "$TESTBED_DIR"
exec 9>"$TESTBED_DIR/kube.lock"
flock -n 9 || { log "kube: waiting for another testbed run to finish"; flock 9; }

# --- 1. binaries ---------------------------------------------------------------------------------
go_tool kube
bin=$GO_TOOL_BIN
version=${bin##*/kube-}
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
  [ -x "$bin/$b" ] || die "kube: $bin/$b is missing (remove $bin to rebuild)"
done
kubectl=$bin/kubectl

# --- 2. certificates and kubeconfigs -------------------------------------------------------------
kdir=$TESTBED_DIR/kube
pki=$kdir/pki
run=$kdir/run
logs=$kdir/log
mkdir -p "$run" "$logs"
api_url=https://127.0.0.1:6443
restart_all=0
if [ -n "$(bash "$kube_src/pki.sh" "$pki" "$kdir" "$api_url")" ]; then
  log "kube: certificates or kubeconfigs (re)written under $kdir"
  restart_all=1
fi
admin_kc=$kdir/admin.kubeconfig
norights_kc=$kdir/norights.kubeconfig

# --- 3. processes --------------------------------------------------------------------------------
# Each component runs detached (setsid, stdin and stdout off the terminal, so up.sh's $(…) returns)
# with a pidfile and a log. A running one is reused when it is ours (its executable is the pinned
# binary), it was started with the same arguments, and it is healthy.

# Every pinned version's binary of NAME counts as ours (an old one is stopped on an upgrade).
stop() { stop_process kube "$1" "$SLIPWAY_CACHE_DIR/bin/kube-*/$1"; }

# healthy NAME: the component's own health endpoint answers ok.
healthy() {
  case $1 in
    etcd) curl -sf -m 3 http://127.0.0.1:2381/health | grep -q '"health":"true"' ;;
    kube-apiserver)
      curl -sf -m 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        "$api_url/readyz" | grep -qx ok ;;
    # /healthz is on both components' always-allowed paths: no credentials needed.
    kube-controller-manager) curl -sfk -m 3 https://127.0.0.1:10257/healthz | grep -qx ok ;;
    kube-scheduler) curl -sfk -m 3 https://127.0.0.1:10259/healthz | grep -qx ok ;;
  esac
}

started_any=0
# ensure NAME PORT TIMEOUT ARGS...: reuse NAME if it is ours, same arguments and healthy,
# otherwise (re)start it and wait up to TIMEOUT seconds for it to be healthy (testbed/lib.sh).
ensure() {
  local name=$1 port=$2 timeout=$3
  shift 3
  ensure_process kube "$name" "$bin/$name" "$SLIPWAY_CACHE_DIR/bin/kube-*/$name" "$port" "$timeout" "$bin/$name $*" -- "$@"
}

if [ "$restart_all" -eq 1 ]; then
  for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done
  restart_all=0
fi

# Secrets are encrypted before they reach etcd, as install.sh's k3s does (--secrets-encryption):
# AES-CBC with a key made once and kept (testbed/kube/encryption.sh), so e2e tests run against a
# datastore that holds no Secret in clear and can check it (SLIPWAY_TEST_ETCD_PKI below).
encryption_config=$kdir/encryption.yaml
bash "$kube_src/encryption.sh" "$encryption_config"

# Service IPs come from 10.43.0.0/16 and pod CIDRs from 10.42.0.0/16, as in k3s.
service_cidr=10.43.0.0/16
cluster_cidr=10.42.0.0/16

ensure etcd 2379 60 \
  --name=testbed --data-dir="$kdir/etcd" \
  --listen-client-urls=https://127.0.0.1:2379 --advertise-client-urls=https://127.0.0.1:2379 \
  --listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
  --initial-cluster=testbed=http://127.0.0.1:2380 \
  --listen-metrics-urls=http://127.0.0.1:2381 \
  --client-cert-auth --trusted-ca-file="$pki/etcd-ca.crt" \
  --cert-file="$pki/etcd-server.crt" --key-file="$pki/etcd-server.key"

# The apiserver listens on loopback only. Its advertise address (the `kubernetes` Service's
# endpoint) defaults to the host's primary IP; a node that runs pods needs the apiserver reachable
# there (see docs/kube-testbed.md). It reaches an aggregated API (metrics-server, part 66) at the
# backing Pod's address rather than the Service's cluster IP, which only the node's proxy rules know.
# It reaches a kubelet (logs, exec) at its node's InternalIP first, as kubeadm sets it: the second
# node's host name (61-node2.sh) does not resolve on this machine; the first node's kubelet listens
# on all addresses.
ensure kube-apiserver 6443 180 \
  --bind-address=127.0.0.1 --secure-port=6443 \
  --etcd-servers=https://127.0.0.1:2379 --etcd-cafile="$pki/etcd-ca.crt" \
  --etcd-certfile="$pki/apiserver-etcd-client.crt" --etcd-keyfile="$pki/apiserver-etcd-client.key" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-cluster-ip-range="$service_cidr" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --authorization-mode=Node,RBAC --anonymous-auth=false \
  --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" \
  --proxy-client-key-file="$pki/front-proxy-client.key" \
  --enable-aggregator-routing=true \
  --encryption-provider-config="$encryption_config" \
  --profiling=false

# One instance of each: no leader election, so a restarted one works at once instead of waiting
# out its predecessor's lease.
ensure kube-controller-manager 10257 90 \
  --kubeconfig="$kdir/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$kdir/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$kdir/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false \
  --cluster-name=slipway-testbed \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range="$service_cidr" \
  --allocate-node-cidrs=true --cluster-cidr="$cluster_cidr"

ensure kube-scheduler 10259 90 \
  --kubeconfig="$kdir/scheduler.kubeconfig" \
  --authentication-kubeconfig="$kdir/scheduler.kubeconfig" \
  --authorization-kubeconfig="$kdir/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# The service-account controller makes `default` in each namespace; pods cannot be created in a
# namespace before it exists, so this is the "cluster is usable" mark.
( wait_for "the default service account" 90 \
  "$kubectl" --kubeconfig "$admin_kc" get serviceaccount default -n default ) ||
  die "kube: the default service account never appeared (log $logs/kube-controller-manager.log)"

# --- 4. check ------------------------------------------------------------------------------------
# After a start (or on demand) prove the control plane works end to end; a fully reused one was
# checked when it started.
if [ "$started_any" -eq 1 ] || [ "${SLIPWAY_KUBE_CHECK:-0}" = 1 ]; then
  bash "$kube_src/check.sh" "$kubectl" "$admin_kc" "$norights_kc"
fi
log "kube: control plane $version ready at $api_url (RSS: $(
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    printf '%s %sMiB ' "$c" $(($(awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$run/$c.pid")/status") / 1024))
  done))"

printf 'export KUBECONFIG=%q\n' "$admin_kc"
printf 'export SLIPWAY_TEST_KUBECONFIG_NORIGHTS=%q\n' "$norights_kc"
printf 'export SLIPWAY_KUBE_BIN_DIR=%q\n' "$bin"
# etcd's client address and the directory of the apiserver's etcd client certificate: a test reads
# a Secret's raw bytes there to check they are encrypted (test/e2e/secrets-at-rest.test.ts).
printf 'export SLIPWAY_TEST_ETCD=%q\n' "https://127.0.0.1:2379"
printf 'export SLIPWAY_TEST_ETCD_PKI=%q\n' "$pki"
