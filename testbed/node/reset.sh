#!/usr/bin/env bash
# Stops the testbed node and removes its state, so the next `bash testbed/up.sh` sets it up from
# nothing (binaries are kept):
#   eval "$(npm run -s testbed)"; bash testbed/node/reset.sh
# Pods are evicted first (kubectl drain), so the kubelet tears their sandboxes down properly
# (containers stopped, CNI DEL frees their addresses, veths go); their controllers recreate them,
# Pending, and they run again once the node is back. Then the components are stopped by their
# pids, the Node object is deleted (the next kubelet registers a fresh, schedulable one), the cni0
# bridge is deleted and $TESTBED_DIR/node is removed. Logs to stderr.
set -euo pipefail
: "${KUBECONFIG:?eval the testbed exports first}" "${SLIPWAY_KUBE_BIN_DIR:?eval the testbed exports first}"
TESTBED_DIR=${TESTBED_DIR:-${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}/testbed}
ndir=$TESTBED_DIR/node
kubectl=$SLIPWAY_KUBE_BIN_DIR/kubectl
node=$(hostname | tr '[:upper:]' '[:lower:]')
say() { printf 'testbed: node reset: %s\n' "$*" >&2; }

exec 8>"$TESTBED_DIR/node.lock"
flock 8

if "$kubectl" get node "$node" -o name >/dev/null 2>&1; then
  say "draining $node"
  "$kubectl" drain "$node" --ignore-daemonsets --delete-emptydir-data --force --grace-period=10 --timeout=120s >&2 ||
    say "drain did not finish; going on"
fi

for c in traefik coredns kube-proxy kubelet containerd; do
  pid=$(cat "$ndir/run/$c.pid" 2>/dev/null) || continue
  kill -0 "$pid" 2>/dev/null || continue
  say "stopping $c (pid $pid)"
  kill "$pid"
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
done
"$kubectl" delete node "$node" --ignore-not-found >/dev/null
# The bridge keeps the old pod CIDR's gateway; the next registration may get another CIDR.
ip link del cni0 2>/dev/null || true

# Anything still mounted under the node's state (a sandbox that was not torn down, shm, netns).
if [ -d "$ndir" ]; then
  awk -v d="$ndir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$ndir"
fi
say "done; the next testbed run sets the node up again"
