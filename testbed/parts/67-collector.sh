#!/usr/bin/env bash
# Testbed part: Slipway's log collector image (per-app log drains, docs/drains.md): the
# OpenTelemetry Collector built by ocb at the pins in testbed/tools/collector (go.mod: ocb;
# manifest.yaml: the components, one release) from the Go module proxy, in an image on the
# debootstrapped trixie base (testbed/base.sh; images/collector/Dockerfile) pushed to the testbed
# registry as slipway/collector:<tag>, the tag a hash of its inputs (the binary, the Dockerfile,
# the base, the authorities it trusts); a tag the registry already has is not built again.
# The image trusts the machine's added authorities and the testbed's drain CA, made here once
# ($TESTBED_DIR/collector/ca.{pem,key}): the end-to-end tests sign their receivers' certificates
# with it, as a real drain's endpoint has a certificate from a public authority.
# Slipway itself deploys the collector (a DaemonSet in slipway-drains) from SLIPWAY_COLLECTOR_IMAGE.
# The node runs on this machine (60-node.sh) with its pod logs in $TESTBED_DIR/node/kubelet/pod-logs,
# the second node (61-node2.sh) in /var/log/pods: the collector reads both paths.
# Installs rsyslog and rsyslog-openssl, the receiver test/e2e/drains.test.ts runs.
# Prints: SLIPWAY_COLLECTOR_IMAGE, SLIPWAY_COLLECTOR_POD_LOGS, SLIPWAY_COLLECTOR_STATE_DIR and
# SLIPWAY_TEST_DRAIN_CA (the folder of the drain CA's ca.pem and ca.key).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
# shellcheck source=testbed/base.sh
. "$SLIPWAY_ROOT/testbed/base.sh"

part_lock collector
cdir=$TESTBED_DIR/collector
mkdir -p "$cdir"
# The end-to-end tests' real receivers: Debian's rsyslog with its TLS driver (started by the test
# on a port of its own; the package's service is never started here).
apt_need rsyslog rsyslog-openssl

# --- 1. the drain CA (kept: receivers' certificates made from it stay valid) --------------------
if [ ! -s "$cdir/ca.pem" ] || [ ! -s "$cdir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=Slipway testbed drain CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$cdir/ca.key.tmp" -out "$cdir/ca.pem.tmp" 2>/dev/null || die "collector: openssl could not make the drain CA"
  chmod 0600 "$cdir/ca.key.tmp"
  mv "$cdir/ca.key.tmp" "$cdir/ca.key"
  mv "$cdir/ca.pem.tmp" "$cdir/ca.pem"
  log "collector: made the drain CA $cdir/ca.pem"
fi

# --- 2. the binary ---------------------------------------------------------------------------------
go_tool collector
bin=$GO_TOOL_BIN

# --- 3. the image ----------------------------------------------------------------------------------
src=$SLIPWAY_ROOT/images/collector
tag=$( (echo "$(base_key_of "$suite")"; sha256sum "$bin/slipway-collector"; dir_hash "$SLIPWAY_ROOT/images" collector
  cat "$cdir/ca.pem"; [ ${#local_cas[@]} -eq 0 ] || cat "${local_cas[@]}") | hash_of)
image=$SLIPWAY_REGISTRY/slipway/collector:$tag
if in_registry slipway/collector "$tag"; then
  log "collector: $image already in the registry"
else
  ensure_base "$suite"
  context=$(mktemp -d "$SLIPWAY_CACHE_DIR/image-context.XXXXXX")
  cp -a "$src/." "$context/"
  cp "$bin/slipway-collector" "$context/"
  mkdir -p "$context/ca"
  cp "$cdir/ca.pem" "$context/ca/slipway-testbed-drain-ca.crt"
  [ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/ca/"
  started=$SECONDS
  if ! DOCKER_BUILDKIT=0 nice -n 19 docker build -q --network host --build-arg "BASE=slipway/base:$(base_key_of "$suite")" \
    -t "$image" "$context" 2>&1 \
    | { grep -v -e '^DEPRECATED: The legacy builder' -e '^ \{10,\}' -e '^$' -e '^sha256:' || true; } >&2 ||
    ! docker image inspect "$image" >/dev/null 2>&1; then
    rm -rf "$context"
    die "collector: the build of $image failed (see above)"
  fi
  rm -rf "$context"
  docker push -q "$image" >&2
  log "collector: $image built and pushed in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'); $(tr '\n' ' ' <"$bin/BUILD-TIMES"))"
fi

printf 'export SLIPWAY_COLLECTOR_IMAGE=%q\n' "$image"
printf 'export SLIPWAY_COLLECTOR_POD_LOGS=%q\n' "$TESTBED_DIR/node/kubelet/pod-logs,/var/log/pods"
printf 'export SLIPWAY_COLLECTOR_STATE_DIR=%q\n' "$TESTBED_DIR/collector/state"
printf 'export SLIPWAY_TEST_DRAIN_CA=%q\n' "$cdir"
