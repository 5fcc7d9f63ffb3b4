#!/usr/bin/env bash
# The test command (`npm test`, run by CI through scripts/provision): type-check, then unit,
# integration and end-to-end tests with node's test runner. In CI (CI set) or with
# SLIPWAY_TESTBED=1 the testbed is brought up first (idempotent, cached outside the checkout), so
# the end-to-end tests run against real components; elsewhere they skip, saying why, when it is down.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc --noEmit -p .
if [ -n "${CI:-}" ] || [ "${SLIPWAY_TESTBED:-}" = 1 ]; then
  exports=$(bash testbed/up.sh)
  eval "$exports"
fi
files=(test/unit/*.test.ts test/integration/*.test.ts)
# End-to-end files run after the others, one at a time: they share the Docker engine and cluster.
exec node --test --test-reporter=spec --test-concurrency=1 "${files[@]}" test/e2e/*.test.ts
