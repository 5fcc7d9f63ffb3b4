#!/usr/bin/env bash
# Testbed part: the Kubernetes metrics API (metrics.k8s.io), as k3s ships it: metrics-server
# (testbed/tools/metrics's pin, built from the Go module proxy) in a one-file image pushed to the
# testbed registry, run by the node as a Deployment in kube-system, and the APIService
# v1beta1.metrics.k8s.io that makes the API server proxy the group to it
# (testbed/metrics/metrics-server.yaml says how it differs from upstream's manifests and why).
# Idempotent: rebuilt only when testbed/tools/metrics or testbed/metrics/build.sh change; the
# objects are applied server-side every run (testbed/kube/check.sh deletes aggregated APIServices
# when it runs, so this part puts it back), which changes nothing when they are current.
# Prints: SLIPWAY_TEST_METRICS=1 once the API answers with the node's and pods' metrics.
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_KUBE_BIN_DIR:?run after 50-kube.sh}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${SLIPWAY_NODE_NAME:?run after 60-node.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
src=$SLIPWAY_ROOT/testbed/metrics
kubectl=$SLIPWAY_KUBE_BIN_DIR/kubectl

part_lock metrics
mdir=$TESTBED_DIR/metrics
mkdir -p "$mdir"
# A host port (the pod runs in the host's network): not the kubelet's 10250.
port=4443
started=$SECONDS

# --- 1. the binary and its image -------------------------------------------------------------------
go_tool metrics
bin=$GO_TOOL_BIN
image=$(binary_image metrics "$bin" metrics-server "metrics-server" 'USER 1000')

# --- 2. its objects --------------------------------------------------------------------------------
render "$src/metrics-server.yaml" "$mdir/metrics-server.yaml" IMAGE="$image" PORT="$port" NODE="$SLIPWAY_NODE_NAME"
"$kubectl" apply --server-side --field-manager=slipway-testbed -f "$mdir/metrics-server.yaml" >/dev/null ||
  die "metrics: could not apply $mdir/metrics-server.yaml"

# --- 3. ready --------------------------------------------------------------------------------------
# Rolled out, the API server finds it (APIService Available), and it has scraped the node: its
# first answer comes one resolution (15 s) after it starts.
wait_for "the metrics-server Deployment to roll out (kubectl -n kube-system describe pod -l k8s-app=metrics-server)" 180 \
  "$kubectl" -n kube-system rollout status deployment/metrics-server --timeout=5s
wait_for "the APIService v1beta1.metrics.k8s.io to be Available (kubectl get apiservice v1beta1.metrics.k8s.io -o yaml)" 60 \
  "$kubectl" wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=5s
wait_for "metrics for node $SLIPWAY_NODE_NAME (kubectl -n kube-system logs deployment/metrics-server)" 90 \
  "$kubectl" get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$SLIPWAY_NODE_NAME"
"$kubectl" get --raw /apis/metrics.k8s.io/v1beta1/pods >/dev/null || die "metrics: the metrics API does not list pods"
log "metrics: metrics.k8s.io served by metrics-server $("$kubectl" -n kube-system get deployment metrics-server \
  -o jsonpath='{.spec.template.spec.containers[0].image}') in $((SECONDS - started))s; $("$kubectl" top node "$SLIPWAY_NODE_NAME" --no-headers 2>/dev/null | tr -s ' ')"

printf 'export SLIPWAY_TEST_METRICS=1\n'
