#!/usr/bin/env bash
# Proves the second node works with the first (run by 61-node2.sh after it started something, or
# with SLIPWAY_NODE_CHECK=1):
#   bash testbed/node2/check.sh KUBECTL RUN_IMAGE NODE2 [NODE1]
# A pod pinned to NODE2 (nodeName) runs the stack's run image, pulled from the testbed registry by
# the second node's containerd; it answers HTTP to a curl from the host (the route over the link);
# from inside it, a ClusterIP Service whose pod runs on NODE1 answers (NODE2's kube-proxy, pod to
# pod across the nodes), `kubernetes.default` and the Service's name resolve through kube-dns
# (CoreDNS on the host), and `kubectl exec` and `logs` reach its kubelet. Without NODE1 both pods
# run on NODE2 and DNS is not checked. The namespace is deleted afterwards. Logs to stderr.
set -euo pipefail
kubectl=${1:?kubectl}
image=${2:?run image}
node2=${3:?second node}
node1=${4:-}
ns=slipway-node2-check
say() { printf 'testbed: node2 check: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  "$kubectl" -n "$ns" get pods -o wide >&2 2>&1 || true
  "$kubectl" -n "$ns" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
  exit 1
}
token=ok-$RANDOM$RANDOM
"$kubectl" delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null
start=$SECONDS
# pod NAME NODE: a busybox httpd serving the token on :5000 on NODE.
pod() {
  cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: { name: $1, namespace: $ns, labels: { app: $1 } }
spec:
  nodeName: $2
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: $image
      command: [/bin/sh, -c, 'mkdir -p /tmp/www && echo "$token $1" >/tmp/www/index.html && echo serving && exec busybox httpd -f -p 5000 -h /tmp/www']
      ports: [{ name: http, containerPort: 5000 }]
      readinessProbe: { httpGet: { path: /, port: http }, periodSeconds: 1 }
EOF
}
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: { name: %s }\n' "$ns"
  pod on2 "$node2"
  pod on1 "${node1:-$node2}"
  cat <<EOF
---
apiVersion: v1
kind: Service
metadata: { name: on1, namespace: $ns }
spec:
  selector: { app: on1 }
  ports: [{ name: http, port: 80, targetPort: http }]
EOF
} | "$kubectl" apply -f - >/dev/null
"$kubectl" -n "$ns" wait --for=condition=Ready pod/on2 pod/on1 --timeout=180s >/dev/null 2>&1 || fail "the pods did not become Ready"
say "pods Ready $((SECONDS - start))s after they were created (image pulled by $node2's containerd)"

ip=$("$kubectl" -n "$ns" get pod on2 -o 'jsonpath={.status.podIP}')
[ "$(curl -s -m 5 "http://$ip:5000/")" = "$token on2" ] || fail "the pod on $node2 ($ip) did not answer from the host"
say "pod $ip on $node2 answers the host"

cip=$("$kubectl" -n "$ns" get service on1 -o 'jsonpath={.spec.clusterIP}')
got=
end=$((SECONDS + 30))
until got=$("$kubectl" -n "$ns" exec on2 -- busybox wget -q -T 3 -O - "http://$cip/" 2>&1) && [ "$got" = "$token on1" ]; do
  # (An exec that fails says why: e.g. the API server could not reach the node's kubelet.)
  [ $SECONDS -lt $end ] || fail "the ClusterIP $cip (pod on ${node1:-$node2}) did not answer the pod on $node2: $got"
  sleep 1
done
say "ClusterIP $cip (pod on ${node1:-$node2}) answers the pod on $node2 (exec through its kubelet)"

"$kubectl" -n "$ns" logs on2 2>/dev/null | grep -q serving || fail "kubectl logs did not reach $node2's kubelet"
say "logs reach $node2's kubelet"

if [ -n "$node1" ]; then
  for name in "on1.$ns.svc.cluster.local" kubernetes.default; do
    # getent: glibc's resolver, as the apps' own lookups go (the run image has no nslookup).
    "$kubectl" -n "$ns" exec on2 -- getent hosts "$name" 2>/dev/null | grep -q '^10\.43\.' ||
      fail "$name did not resolve in the pod on $node2"
  done
  say "kube-dns resolves Service names in the pod on $node2"
fi
"$kubectl" delete namespace "$ns" --wait=false >/dev/null
say "ok in $((SECONDS - start))s"
