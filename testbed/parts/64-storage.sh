#!/usr/bin/env bash
# Testbed part: persistent volumes as k3s has them: Rancher's local-path-provisioner (the
# provisioner k3s ships, built from the Go module proxy at the pin in testbed/tools/storage) run on
# the host like the other controllers (kube-router, cert-manager), with the admin kubeconfig, and
# its StorageClass `local-path` marked the cluster's default. A claim gets a file system of its size
# (k8s/volumes/setup.sh: a loop-mounted file, VOLUME.img, on the directory VOLUME) under
# $TESTBED_DIR/storage/volumes on its node, made (and removed again) by a privileged helper pod
# running the testbed's run image from the testbed registry; the PersistentVolumes are `local`
# ones, whose usage the kubelet measures. On this node the storage path is a shared mount (the
# helper's mounts reach the kubelet through it), and volume files left unmounted (the machine
# restarted) are mounted again here.
# Idempotent: rebuilt only when testbed/tools/storage or testbed/storage/build.sh change; a running
# provisioner is reused when it is ours and was started with the same arguments and inputs.
# Prints: SLIPWAY_TEST_STORAGE_CLASS (the default class's name).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_KUBE_BIN_DIR:?run after 50-kube.sh}"
: "${SLIPWAY_RUN_IMAGE:?run after 40-builder.sh}" "${SLIPWAY_NODE_NAME:?run after 60-node.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
src=$SLIPWAY_ROOT/testbed/storage
kubectl=$SLIPWAY_KUBE_BIN_DIR/kubectl

part_lock storage
sdir=$TESTBED_DIR/storage
run=$sdir/run
logs=$sdir/log
volumes=$sdir/volumes
mkdir -p "$run" "$logs" "$volumes"
restart_all=0
class=local-path
scripts=$SLIPWAY_ROOT/k8s/volumes

# --- 1. the binary ---------------------------------------------------------------------------------
go_tool storage
bin=$GO_TOOL_BIN

# --- 2. its objects --------------------------------------------------------------------------------
render "$scripts/config.json" "$sdir/config.json" STORAGE_PATH="$volumes"
render "$scripts/helper-pod.yaml" "$sdir/helper-pod.yaml" IMAGE="$SLIPWAY_RUN_IMAGE"
"$kubectl" apply --server-side --field-manager=slipway-testbed -f "$src/local-path.yaml" >/dev/null ||
  die "storage: could not apply the local-path objects"
# The scripts the helper pods run (the provisioner mounts this ConfigMap into them): Slipway's own,
# the ones install.sh's provisioner runs.
"$kubectl" -n local-path-storage create configmap local-path-config --from-file=setup="$scripts/setup.sh" \
  --from-file=teardown="$scripts/teardown.sh" --dry-run=client -o yaml |
  "$kubectl" apply --server-side --field-manager=slipway-testbed -f - >/dev/null ||
  die "storage: could not apply the ConfigMap local-path-config"
# Exactly one default class: another one marked default would make claims without a class ambiguous.
for other in $("$kubectl" get storageclass -o jsonpath='{range .items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class=="true")]}{.metadata.name}{"\n"}{end}'); do
  [ "$other" = "$class" ] || die "storage: StorageClass $other is marked default too; unmark it"
done

# --- 3. this node's storage path ------------------------------------------------------------------
# A helper pod's mount (Bidirectional) reaches the node only through a shared mount, and this
# machine's / is private (no systemd): the storage path becomes a shared mount of its own.
if ! awk -v d="$volumes" '$5 == d { m = 1 } END { exit !m }' /proc/self/mountinfo; then
  mount --rbind "$volumes" "$volumes" || die "storage: could not bind-mount $volumes onto itself"
fi
mount --make-shared "$volumes" || die "storage: could not make $volumes a shared mount"
# A volume whose file is not mounted (the machine restarted since its setup): mounted again, as
# install.sh's slipway-volumes.service does when a node starts.
for img in "$volumes"/*.img; do
  [ -f "$img" ] || continue
  dir=${img%.img}
  [ -d "$dir" ] || continue
  awk -v d="$dir" '$5 == d { m = 1 } END { exit !m }' /proc/self/mountinfo && continue
  e2fsck -p "$img" >/dev/null 2>&1 || [ $? -lt 4 ] || { log "storage: $img has errors e2fsck -p cannot fix; left unmounted"; continue; }
  mount -o loop,nodev,nosuid "$img" "$dir" || die "storage: could not mount $img on $dir"
  log "storage: mounted $img on $dir again"
done

# --- 4. the provisioner ----------------------------------------------------------------------------
healthy() { kill -0 "$(cat "$run/$1.pid" 2>/dev/null)" 2>/dev/null; }
started_any=0
inputs=$(cat "$KUBECONFIG" "$sdir/config.json" "$sdir/helper-pod.yaml" | sha256sum | cut -c1-16)
ensure_daemon storage local-path-provisioner "$bin/local-path-provisioner" 0 30 "$inputs" -- \
  start --kubeconfig="$KUBECONFIG" --namespace=local-path-storage \
  --config="$sdir/config.json" --configmap-name=local-path-config \
  --helper-pod-file="$sdir/helper-pod.yaml" --helper-image="$SLIPWAY_RUN_IMAGE" \
  --service-account-name=local-path-provisioner-service-account
if [ "$started_any" -eq 1 ]; then
  # Up when it holds its watch: give it a moment, then it must still be running.
  sleep 2
  healthy local-path-provisioner || { tail -n 20 "$logs/local-path-provisioner.log" >&2; die "storage: local-path-provisioner exited (log $logs/local-path-provisioner.log)"; }
fi
log "storage: StorageClass $class (default) provisioned by local-path-provisioner $("$bin/local-path-provisioner" --version 2>&1 | grep -o 'v[0-9][0-9.]*' | head -n1) into $volumes"

printf 'export SLIPWAY_TEST_STORAGE_CLASS=%q\n' "$class"
