#!/usr/bin/env bash
# Proves the testbed control plane works end to end:
#   bash testbed/kube/check.sh KUBECTL ADMIN_KUBECONFIG NORIGHTS_KUBECONFIG
# In a scratch namespace: a Secret round-trips through etcd; a Deployment of 2 replicas makes the
# controller-manager create a ReplicaSet and 2 Pods; the scheduler takes up both Pods and, as their
# node selector matches no node, marks them Unschedulable, which is its answer; the no-rights user
# is refused; the namespace is deleted and the namespace controller finalizes it. Logs to stderr;
# exits non-zero on failure.
# The Pods must never be bound: a Node object registered by an earlier run stays in etcd while its
# kubelet is not running yet (the node part comes after this one), and a Pod bound to it could not
# finish terminating, so the namespace would never go.
set -euo pipefail
kubectl_bin=${1:?kubectl}
admin=${2:?admin kubeconfig}
norights=${3:?no-rights kubeconfig}
ns=slipway-testbed-check
start=$SECONDS
say() { printf 'testbed: kube check: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
k() { "$kubectl_bin" --kubeconfig "$admin" --request-timeout=20s "$@"; }
# until_ok SECONDS WHAT CMD...: retries CMD (its stdout must be non-empty) until the deadline.
until_ok() {
  local secs=$1 what=$2 out
  shift 2
  local end=$((SECONDS + secs))
  while :; do
    out=$("$@" 2>/dev/null || true)
    [ -n "$out" ] && { printf '%s' "$out"; return 0; }
    [ $SECONDS -lt $end ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

# An aggregated API (an APIService served by a Service, such as metrics-server's) whose backend
# is not running answers nothing, and the namespace controller, which must list every resource
# before it finalizes a namespace, then never finishes. Its backend runs on the node, which starts
# after this part, or it was left in etcd by a checkout that had a part this one lacks; the part
# that wants it applies it again.
for svc in $(k get apiservices -o jsonpath='{range .items[?(@.spec.service)]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
  say "removing the aggregated API $svc until its part applies it again (its backend is not up yet)"
  k delete apiservice "$svc" >/dev/null
done

# A namespace left by an interrupted check must be gone before it can be made again.
if k get namespace "$ns" >/dev/null 2>&1; then
  say "removing the namespace a previous check left"
  k delete namespace "$ns" --wait=false >/dev/null
  # Its Pods may be bound to a node whose kubelet is gone; nothing would finish deleting them.
  k delete pods -n "$ns" --all --force --grace-period=0 >/dev/null 2>&1 || true
  k wait --for=delete "namespace/$ns" --timeout=120s >/dev/null
fi

k create namespace "$ns" >/dev/null
until_ok 30 "the default service account in $ns" k get serviceaccount default -n "$ns" -o name >/dev/null
k create secret generic check -n "$ns" --from-literal=greeting=hello-from-etcd >/dev/null
got=$(k get secret check -n "$ns" -o jsonpath='{.data.greeting}' | base64 -d)
[ "$got" = hello-from-etcd ] || fail "secret read back as '$got'"

k apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: check, namespace: $ns, labels: { app: check } }
spec:
  replicas: 2
  selector: { matchLabels: { app: check } }
  template:
    metadata: { labels: { app: check } }
    spec:
      nodeSelector: { slipway.testbed/check: no-node-has-this }
      containers: [{ name: pause, image: registry.k8s.io/pause:3.10 }]
EOF
rs=$(until_ok 60 "a ReplicaSet for the Deployment" k get replicaset -n "$ns" -l app=check -o name)
count_pods() {
  local n
  n=$(k get pods -n "$ns" -l app=check -o name | grep -c . || true)
  [ "$n" -eq 2 ] && echo 2
}
until_ok 60 "2 Pods from $rs" count_pods >/dev/null
# PodScheduled is set by the scheduler only: False/Unschedulable, as no node matches the selector.
scheduled() {
  local conds
  conds=$(k get pods -n "$ns" -l app=check \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].reason}{.status.conditions[?(@.type=="PodScheduled")].status}{"\n"}{end}')
  [ "$(grep -cx 'UnschedulableFalse' <<<"$conds")" -eq 2 ] && echo "$conds" | tr '\n' ' '
}
sched=$(until_ok 60 "the scheduler to take up both Pods" scheduled)
say "$rs with 2 Pods; PodScheduled: $sched"

# The no-rights user is authenticated but refused.
if err=$("$kubectl_bin" --kubeconfig "$norights" get secrets -n "$ns" 2>&1); then
  fail "the no-rights user could list secrets"
fi
grep -q Forbidden <<<"$err" || fail "the no-rights user got '$err' instead of Forbidden"

k delete namespace "$ns" --wait=false >/dev/null
k wait --for=delete "namespace/$ns" --timeout=120s >/dev/null || fail "namespace $ns was not deleted"
say "ok in $((SECONDS - start))s (namespace, Secret, Deployment -> ReplicaSet -> 2 Pods, scheduler, no-rights user refused, namespace deleted)"
