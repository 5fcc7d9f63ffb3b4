#!/usr/bin/env bash
# The test command (`scripts/provision npm test`, what CI runs): type-check while bringing the testbed up
# (idempotent, cached outside the checkout; a warm one takes seconds, a cold one builds
# Kubernetes, pack and the lifecycle: docs/testbed.md), then every test file under node's test
# runner, several at once (scripts/run-tests.ts). Nothing is skipped unless a person opts out:
# SLIPWAY_TESTBED=0 runs without the testbed and the end-to-end tests skip, saying so.
#   scripts/test.sh                  everything
#   scripts/test.sh --fast           type-check, unit and integration tests only (npm run test:fast)
#   scripts/test.sh --only PATTERN   the test files whose path contains PATTERN, with the testbed
# SLIPWAY_TEST_JOBS sets how many files run at once (default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fast=false
only=()
case "${1:-}" in
  --fast) fast=true ;;
  --only) only=(--only "${2:?--only takes a pattern, e.g. --only e2e/deploy}") ;;
  '') ;;
  *) echo "test: unknown option $1 (--fast, or --only PATTERN)" >&2; exit 2 ;;
esac
# The runner's settings, from the environment: files at once, and where each file's last time is
# kept (outside the checkout) so that the longest start first.
runner=(--jobs "${SLIPWAY_TEST_JOBS:-5}" --times "${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}/test-times.json")
# Node's compile cache (outside the checkout, keyed by each file's content, so an edit is never
# served stale) for every node the run starts: the test files, the servers and CLIs they start.
# Each file's process loads most of the server's modules; with the cache that costs half the CPU
# (docs/testing.md, "What a run costs").
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}/compile-cache}"
# The type-checks run while the testbed comes up (each waits on the other's disk and network
# rather than the cores); a failure of either stops the run before any test.
tsc --noEmit -p . & server_types=$!
# The dashboard's sources (web/src) have their own settings: DOM types, Preact's JSX.
tsc --noEmit -p web & web_types=$!
typed() {
  wait "$server_types" || { echo "test: the server's sources do not type-check (above); nothing was tested" >&2; exit 1; }
  wait "$web_types" || { echo "test: the dashboard's sources do not type-check (above); nothing was tested" >&2; exit 1; }
}
if $fast; then
  typed
  # Choosing the fast script is opting out of the testbed: tests that need it skip, saying why.
  export SLIPWAY_TESTBED=0
  exec node scripts/run-tests.ts --fast "${runner[@]}"
fi
if [ "${SLIPWAY_TESTBED:-}" = 0 ]; then
  echo "test: SLIPWAY_TESTBED=0: not bringing the testbed up; the end-to-end tests will skip" >&2
else
  echo "test: bringing the testbed up (bash testbed/up.sh; log on stderr; SLIPWAY_TESTBED=0 skips it and the end-to-end tests)" >&2
  exports=$(bash testbed/up.sh) || { echo "test: the testbed did not come up (see above); nothing was tested" >&2; exit 1; }
  eval "$exports"
fi
typed
exec node scripts/run-tests.ts "${runner[@]}" "${only[@]}"
