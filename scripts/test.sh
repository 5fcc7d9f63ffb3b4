#!/usr/bin/env bash
# The test command (`scripts/provision npm test`, what CI runs): type-check, bring the testbed up
# (idempotent, cached outside the checkout: a cold one builds Kubernetes, pack and the lifecycle,
# about 40 minutes on 2 cores; a warm one takes seconds), then unit, integration and end-to-end
# tests with node's test runner. Nothing is skipped unless a person opts out: SLIPWAY_TESTBED=0
# runs without the testbed and the end-to-end tests skip, saying so.
#   scripts/test.sh            everything
#   scripts/test.sh --fast     type-check, unit and integration tests only (npm run test:fast)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fast=false
[ "${1:-}" = --fast ] && fast=true
tsc --noEmit -p .
# The dashboard's sources (web/src) have their own settings: DOM types, Preact's JSX.
tsc --noEmit -p web
files=(test/unit/*.test.ts test/integration/*.test.ts)
if $fast; then
  # Choosing the fast script is opting out of the testbed: tests that need it skip, saying why.
  export SLIPWAY_TESTBED=0
  exec node --test --test-reporter=spec --test-timeout=300000 "${files[@]}"
fi
if [ "${SLIPWAY_TESTBED:-}" = 0 ]; then
  echo "test: SLIPWAY_TESTBED=0: not bringing the testbed up; the end-to-end tests will skip" >&2
else
  echo "test: bringing the testbed up (bash testbed/up.sh; log on stderr; SLIPWAY_TESTBED=0 skips it and the end-to-end tests)" >&2
  exports=$(bash testbed/up.sh) || { echo "test: the testbed did not come up (see above); nothing was tested" >&2; exit 1; }
  eval "$exports"
fi
# End-to-end files run after the others, one at a time: they share the Docker engine and cluster.
# A test that hangs (a socket left open) fails after 20 minutes instead of holding CI to its limit;
# tests that need longer say so themselves.
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=1200000 "${files[@]}" test/e2e/*.test.ts
