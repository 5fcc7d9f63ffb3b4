#!/usr/bin/env bash
# Testbed part: certificates for apps, as install.sh sets them up on k3s but with a real test CA:
#   Pebble (Let's Encrypt's ACME test server) on 127.0.0.1:14000, validating HTTP-01 for real on
#     port 80 of whatever its DNS says (Pebble's httpPort);
#   pebble-challtestsrv as that DNS (127.0.0.1:8053): every name is 127.0.0.80, where the node's
#     Traefik has an entryPoint on port 80 (60-node.sh); its management API (127.0.0.1:8055) lets
#     a test point one host elsewhere;
#   cert-manager's control loops on the host (like Traefik; testbed/tools/certs/controller), with the admin kubeconfig, its CRDs from
#     the pinned module's deploy/crds, its HTTP-01 solver pods from an image built here
#     (acmesolver, one static file) and pushed to the testbed registry;
#   the ClusterIssuer slipway-acme pointing at Pebble.
# Idempotent, like 60-node.sh: binaries are rebuilt only when testbed/tools/certs or
# testbed/tools/pebble change; running components are reused when their arguments are the same.
# Prints: SLIPWAY_TEST_ACME_ROOT (PEM file: the root Pebble issues under; it changes when Pebble
# restarts), SLIPWAY_TEST_ACME_ISSUER, SLIPWAY_TEST_ACME_DNS (challtestsrv's management address).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${KUBECONFIG:?run after 50-kube.sh}" "${SLIPWAY_KUBE_BIN_DIR:?run after 50-kube.sh}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${SLIPWAY_TEST_NODE80:?run after 60-node.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
src=$SLIPWAY_ROOT/testbed/certs
tools=$SLIPWAY_ROOT/testbed/tools
kubectl=$SLIPWAY_KUBE_BIN_DIR/kubectl

part_lock certs
cdir=$TESTBED_DIR/certs
run=$cdir/run
logs=$cdir/log
mkdir -p "$run" "$logs"
restart_all=0
issuer=slipway-acme
acme_url=https://127.0.0.1:14000/dir
dns_addr=127.0.0.1:8053
dns_mgmt=127.0.0.1:8055
pebble_mgmt=127.0.0.1:15000
cm_health=127.0.0.1:9403

# --- 1. binaries -----------------------------------------------------------------------------------
go_tool certs
bin=$GO_TOOL_BIN
pebble_dir=$(cd "$tools/pebble" && go list -m -f '{{.Dir}}' github.com/letsencrypt/pebble/v2)
cm_dir=$(cd "$tools/certs" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)

# --- 2. the HTTP-01 solver image (as 60-node.sh's pause image) -------------------------------------
# USER 65532: cert-manager runs the solver as non-root (runAsNonRoot).
solver_image=$(binary_image certs "$bin" acmesolver "HTTP-01 solver" 'USER 65532')

# --- 3. processes ----------------------------------------------------------------------------------
render "$src/pebble.json" "$cdir/pebble.json" PEBBLE_DIR="$pebble_dir"
healthy() {
  case $1 in
    challtestsrv) curl -s -m 3 -o /dev/null -X POST -d '{}' "http://$dns_mgmt/clear-request-history" ;;
    pebble) curl -s -m 3 -k -o /dev/null "https://$pebble_mgmt/roots/0" ;;
    cert-manager) [ "$(curl -s -m 3 "http://$cm_health/livez")" = ok ] ;;
  esac
}
started_any=0
# ensure NAME EXE PORT TIMEOUT INPUTS -- ARGS...: ensure_daemon (testbed/lib.sh) for the certs part.
ensure() { ensure_daemon certs "$@"; }
node80_ip=${SLIPWAY_TEST_NODE80%:*}
ensure challtestsrv "$bin/pebble-challtestsrv" "${dns_mgmt##*:}" 30 "" -- \
  -defaultIPv4 "$node80_ip" -defaultIPv6 "" -dnsserver "$dns_addr" -management "$dns_mgmt" \
  -http01 "" -https01 "" -tlsalpn01 "" -doh ""
# VA_NOSLEEP: no random 0-15 s wait before each validation; NONCEREJECT=0: no nonces refused on
# purpose (each costs the client a retry). Both only slow a test down.
ensure pebble "$bin/pebble" "${acme_url##*:}" 30 "$(sha256sum <"$cdir/pebble.json" | cut -c1-16)" -- \
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 -config "$cdir/pebble.json" -dnsserver "$dns_addr"
# The root of what Pebble issues (a new one each time it starts).
curl -s -k -f "https://$pebble_mgmt/roots/0" >"$cdir/acme-root.pem.tmp" && mv "$cdir/acme-root.pem.tmp" "$cdir/acme-root.pem" ||
  die "certs: could not read Pebble's root certificate"

"$kubectl" apply --server-side --field-manager=slipway-testbed -f "$cm_dir/deploy/crds/" >/dev/null ||
  die "certs: could not apply cert-manager's CRDs"
wait_for "cert-manager's CRDs" 30 "$kubectl" wait --for=condition=Established crd/certificates.cert-manager.io crd/clusterissuers.cert-manager.io --timeout=5s
# Pebble keeps its accounts in memory: a ClusterIssuer registered at an earlier Pebble process
# still says Ready, but its account is unknown to this one and every order fails. Then the issuer
# and its account key go, and cert-manager registers again.
pebble_run="$(cat "$run/pebble.pid")-$(awk '{print $22}' "/proc/$(cat "$run/pebble.pid")/stat" 2>/dev/null)"
if [ "$("$kubectl" get clusterissuer "$issuer" -o jsonpath='{.metadata.annotations.slipway\.dev/acme-instance}' 2>/dev/null)" != "$pebble_run" ]; then
  "$kubectl" delete clusterissuer "$issuer" --ignore-not-found --wait=true >/dev/null
  "$kubectl" -n cert-manager delete secret "$issuer-account" --ignore-not-found >/dev/null
fi
"$kubectl" get namespace cert-manager >/dev/null 2>&1 || "$kubectl" create namespace cert-manager >/dev/null
render "$SLIPWAY_ROOT/k8s/cluster-issuer.yaml" "$cdir/cluster-issuer.yaml" ISSUER="$issuer" ACME_URL="$acme_url" INSTANCE="$pebble_run" \
  EMAIL=testbed@slipway.test CA_BUNDLE="$(base64 -w0 "$pebble_dir/test/certs/pebble.minica.pem")"
"$kubectl" apply --server-side --field-manager=slipway-testbed -f "$cdir/cluster-issuer.yaml" >/dev/null ||
  die "certs: could not apply the ClusterIssuer"

# --solver-nameserver: the self-check cert-manager makes before asking the CA to validate
# resolves app hosts as Pebble does. --check-retry-period: the first self-check usually runs
# before Traefik routes to the new solver pod; retrying after 2 s instead of 10 s brings issuance
# from ~19 s to ~11 s (the 5 passes 2 s apart that follow are fixed in cert-manager).
ensure cert-manager "$bin/cert-manager" "${cm_health##*:}" 60 "$(sha256sum <"$KUBECONFIG" | cut -c1-16)" -- \
  --kubeconfig="$KUBECONFIG" --cluster-resource-namespace=cert-manager \
  --solver-image="$solver_image" --solver-nameserver="$dns_addr" --check-retry-period=2s \
  --healthz="$cm_health"
wait_for "the ClusterIssuer $issuer to be Ready (its ACME account at Pebble)" 60 \
  "$kubectl" wait --for=condition=Ready "clusterissuer/$issuer" --timeout=5s
log "certs: cert-manager, Pebble ($acme_url) and ClusterIssuer $issuer ready"

printf 'export SLIPWAY_TEST_ACME_ROOT=%q\n' "$cdir/acme-root.pem"
printf 'export SLIPWAY_TEST_ACME_ISSUER=%q\n' "$issuer"
printf 'export SLIPWAY_TEST_ACME_DNS=%q\n' "$dns_mgmt"
