#!/usr/bin/env bash
# Brings up the hermetic testbed idempotently and prints the `export` lines a shell needs:
#   eval "$(npm run -s testbed)"
# Each part in testbed/parts/ (run in name order) installs and starts one component, logs to
# stderr, and prints its own `export NAME=value` lines on stdout. Caches and state live under
# $SLIPWAY_CACHE_DIR (default ~/.cache/slipway), never in the checkout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SLIPWAY_ROOT=$(cd "$here/.." && pwd)
export SLIPWAY_CACHE_DIR=${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}
export TESTBED_DIR=$SLIPWAY_CACHE_DIR/testbed
mkdir -p "$TESTBED_DIR"
# shellcheck source=lib.sh
. "$here/lib.sh"
started=$SECONDS
# The Go tools build in the background from the start (a cold machine spends most of its
# start-up compiling); the parts that run them wait for their builds (testbed/prebuild.sh).
mkdir -p "$SLIPWAY_CACHE_DIR/bin"
setsid nohup bash "$here/prebuild.sh" </dev/null >"$SLIPWAY_CACHE_DIR/bin/prebuild.log" 2>&1 &
for part in "$here"/parts/*.sh; do
  [ -e "$part" ] || continue
  log "part $(basename "$part")"
  part_started=$SECONDS
  # Each part sees the exports of the parts before it.
  out=$(bash "$part")
  printf '%s\n' "$out"
  eval "$out"
  # What each part costs, cold and warm (docs/testbed.md records them).
  log "part $(basename "$part") took $((SECONDS - part_started)) s"
done
log "up in $((SECONDS - started)) s"
