#!/usr/bin/env bash
# Builds every Go tool of the testbed that is not built yet, one after another:
#   bash testbed/prebuild.sh
# up.sh starts it in the background before its first part, so that on a cold machine the
# compiler keeps both cores busy while the early parts wait on downloads (Debian packages,
# debootstrap, the module proxy). Each part still calls `go_tool` for what it runs: it finds the
# tool built, or waits for this chain's build of it (build_once never starts one build twice).
# Logs to stderr; a failed build is reported here and again by the part that needs it.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SLIPWAY_ROOT=${SLIPWAY_ROOT:-$(cd "$here/.." && pwd)}
export SLIPWAY_CACHE_DIR=${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}
# shellcheck source=testbed/lib.sh
. "$here/lib.sh"
for tool in $GO_TOOLS; do
  # A subshell: die() in one build must not stop the chain.
  (go_tool "$tool") || log "prebuild: $tool did not build; its part will say why"
done
log "prebuild: done"
