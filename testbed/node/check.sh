#!/usr/bin/env bash
# Proves the testbed node works end to end (run by 60-node.sh after it started something, or with
# SLIPWAY_NODE_CHECK=1):
#   bash testbed/node/check.sh KUBECTL INGRESS_ADDR RUN_IMAGE NODE
# A Deployment of the stack's run image (from the testbed registry: a pull through containerd's
# hosts.toml) serving a page with busybox httpd becomes Ready (its readiness probe passes); its
# ClusterIP Service answers from the host (kube-proxy's rules); its name resolves inside the pod
# (cluster DNS); and the ingress on INGRESS_ADDR
# routes `Host: node-check.testbed` to it through an Ingress without a class. The namespace is
# deleted afterwards (without waiting). Logs to stderr; exits non-zero with the reason.
set -euo pipefail
kubectl=${1:?kubectl}
ingress=${2:?ingress address}
image=${3:-}
# The pod is pinned to this node: a second node's Node object left in etcd by an earlier run still
# reads Ready until the controller-manager notices its kubelet is gone (and 61-node2.sh starts that
# kubelet only after this check), so an unpinned pod could wait there for good.
node=${4:?node}
ns=slipway-node-check
host=node-check.testbed
say() { printf 'testbed: node check: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  "$kubectl" -n "$ns" get pods -o wide >&2 2>&1 || true
  "$kubectl" -n "$ns" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
  exit 1
}
[ -n "$image" ] || fail "no image to run (SLIPWAY_RUN_IMAGE is set by 40-builder.sh)"
token=ok-$RANDOM$RANDOM

# A namespace left by an interrupted check (or still terminating) is finished off first.
# Its pods are removed without waiting for a kubelet: one bound to a node that is not running (a
# second node before 61-node2.sh starts it) would hold the namespace in Terminating.
"$kubectl" -n "$ns" delete pods --all --force --grace-period=0 >/dev/null 2>&1 || true
"$kubectl" delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null
start=$SECONDS
"$kubectl" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: { name: $ns }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: $ns }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      automountServiceAccountToken: false
      nodeSelector: { kubernetes.io/hostname: $node }
      containers:
        - name: web
          image: $image
          command: [/bin/sh, -c, 'mkdir -p /tmp/www && echo "\$TOKEN" >/tmp/www/index.html && exec busybox httpd -f -p 5000 -h /tmp/www']
          env: [{ name: TOKEN, value: $token }]
          ports: [{ name: http, containerPort: 5000 }]
          readinessProbe: { httpGet: { path: /, port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: $ns }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: $ns }
spec:
  rules:
    - host: $host
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }
EOF
"$kubectl" -n "$ns" rollout status deployment/web --timeout=180s >/dev/null 2>&1 || fail "the pod did not become Ready"
say "pod Ready $((SECONDS - start))s after the Deployment was created"

ip=$("$kubectl" -n "$ns" get service web -o 'jsonpath={.spec.clusterIP}')
end=$((SECONDS + 30))
until [ "$(curl -s -m 2 "http://$ip/" 2>/dev/null)" = "$token" ]; do
  [ $SECONDS -lt $end ] || fail "the ClusterIP Service $ip:80 did not answer from the host"
  sleep 0.5
done
say "ClusterIP $ip answers"

# Cluster DNS from inside the pod (through the API server's exec to the kubelet): the Service's
# name resolves to its ClusterIP via the kube-dns Service, i.e. CoreDNS.
end=$((SECONDS + 30))
until "$kubectl" -n "$ns" exec deploy/web -- busybox nslookup "web.$ns.svc.cluster.local" 2>/dev/null | grep -q "Address: *$ip\$"; do
  [ $SECONDS -lt $end ] || fail "web.$ns.svc.cluster.local did not resolve to $ip in the pod: $("$kubectl" -n "$ns" exec deploy/web -- busybox nslookup "web.$ns.svc.cluster.local" 2>&1 | tr '\n' ' ')"
  sleep 1
done
say "cluster DNS resolves web.$ns.svc.cluster.local"

end=$((SECONDS + 30))
until [ "$(curl -s -m 2 -H "Host: $host" "http://$ingress/" 2>/dev/null)" = "$token" ]; do
  [ $SECONDS -lt $end ] || fail "the ingress on $ingress did not route Host: $host (got: $(curl -s -m 2 -H "Host: $host" "http://$ingress/" 2>&1 | head -c 200))"
  sleep 0.5
done
say "ingress $ingress routes Host: $host"

"$kubectl" delete namespace "$ns" --wait=false >/dev/null
say "passed in $((SECONDS - start))s"
