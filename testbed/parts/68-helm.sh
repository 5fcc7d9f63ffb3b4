#!/usr/bin/env bash
# Testbed part: what renders k3s's own Traefik, to prove the values install.sh gives it: Helm
# (testbed/tools/helm's pin, built from the Go module proxy) and the Traefik chart k3s bundles
# (testbed/helm/build.sh's pin), beside the testbed's Traefik binary (testbed/tools/node), which
# test/e2e/k3s-traefik.test.ts runs with the chart's arguments. Nothing runs here.
# Idempotent: rebuilt only when testbed/tools/helm or testbed/helm/build.sh change.
# Prints: SLIPWAY_TEST_HELM, SLIPWAY_TEST_TRAEFIK_CHART, SLIPWAY_TEST_TRAEFIK.
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"

part_lock helm
go_tool node
traefik=$GO_TOOL_BIN/traefik
go_tool helm
helm=$GO_TOOL_BIN/helm
if [ ! -x "$helm" ] || [ ! -f "$GO_TOOL_BIN/traefik-chart/Chart.yaml" ] || [ ! -x "$traefik" ]; then
  die "helm: the build left no helm, chart or traefik"
fi
log "helm: $("$helm" version --short), chart $(awk '$1 == "version:" { print $2; exit }' "$GO_TOOL_BIN/traefik-chart/Chart.yaml")"
printf 'export SLIPWAY_TEST_HELM=%q\n' "$helm"
printf 'export SLIPWAY_TEST_TRAEFIK_CHART=%q\n' "$GO_TOOL_BIN/traefik-chart"
printf 'export SLIPWAY_TEST_TRAEFIK=%q\n' "$traefik"
