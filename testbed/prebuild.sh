#!/usr/bin/env bash
# Builds every Go tool of the testbed that is not built yet, one after another, and beside them
# the two machines' root file systems (debootstrap: downloads and unpacking, mostly):
#   bash testbed/prebuild.sh
# up.sh starts it in the background before its first part, so that on a cold machine the
# compiler keeps both cores busy while the early parts wait on downloads (Debian packages,
# debootstrap, the module proxy). Each part still calls `go_tool` for what it runs: it finds the
# tool built, or waits for this chain's build of it (build_once never starts one build twice);
# the machine parts take the same locks as the images built here, so they wait for them.
# Logs to stderr; a failed build is reported here and again by the part that needs it.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SLIPWAY_ROOT=${SLIPWAY_ROOT:-$(cd "$here/.." && pwd)}
export SLIPWAY_CACHE_DIR=${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}
# shellcheck source=testbed/lib.sh
. "$here/lib.sh"
export TESTBED_DIR=${TESTBED_DIR:-$SLIPWAY_CACHE_DIR/testbed}
mkdir -p "$TESTBED_DIR"
# The roots, as root only (debootstrap), each under its part's lock.
images() {
  [ "$(id -u)" -eq 0 ] || return 0
  apt_need debootstrap systemd-container util-linux iptables iproute2 openssl curl
  (exec 9>"$TESTBED_DIR/machine.lock" && flock 9 && bash "$here/machine/machine.sh" image 9>&-) ||
    log "prebuild: the install machine's root did not build; 70-machine.sh will say why"
  [ "${SLIPWAY_TESTBED_NODES:-2}" = 2 ] || return 0
  (exec 8>"$TESTBED_DIR/node2.lock" && flock 8 && bash "$here/node2/machine.sh" image 8>&-) ||
    log "prebuild: the second node's root did not build; 61-node2.sh will say why"
}
images &
images_pid=$!
# lane TOOL...: builds the tools one after another; a subshell each, so that die() in one build
# does not stop the lane.
lane() {
  local tool
  for tool in "$@"; do (go_tool "$tool") || log "prebuild: $tool did not build; its part will say why"; done
}
# Two lanes side by side: a build keeps both cores busy while it compiles, but links its large
# binaries on one, and the other lane's compiler takes the idle core. Each lane in the order the
# parts need its tools (50-kube, 60-node, 61-node2 and 62-netpol, 64-storage, 65-certs, 66-metrics, 67-collector, 68-helm, 69-s3).
lane_a=(kube netpol certs helm s3)
lane_b=(node storage metrics collector)
for tool in $GO_TOOLS; do [[ " ${lane_a[*]} ${lane_b[*]} " == *" $tool "* ]] || die "prebuild: $tool is in no lane"; done
lane "${lane_a[@]}" &
lane_a_pid=$!
lane "${lane_b[@]}" &
lane_b_pid=$!
wait "$lane_a_pid" "$lane_b_pid" "$images_pid" || true
log "prebuild: done"
