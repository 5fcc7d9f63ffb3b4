#!/usr/bin/env bash
# `npm run bench`: the transport bench (needs only git and OpenSSH), then, when the testbed is up
# (eval "$(npm run -s testbed)"), the build, deploy-latency, end-to-end, day-2 and HTTPS benches. Each writes
# its table to bench/results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node bench/run.ts
node bench/http-rss.ts
if [ -n "${KUBECONFIG:-}" ] && [ -n "${SLIPWAY_PACK:-}" ] && [ -n "${SLIPWAY_TEST_INGRESS:-}" ]; then
  node bench/build.ts
  node bench/kube-deploy.ts
  node bench/e2e-deploy.ts
  node bench/day2.ts
  if [ -n "${SLIPWAY_TEST_ACME_ROOT:-}" ]; then node bench/certs.ts; else echo 'bench: HTTPS bench skipped: the testbed has no ACME CA (SLIPWAY_TEST_ACME_ROOT)' >&2; fi
else
  echo 'bench: build, deploy and end-to-end benches skipped: the testbed is not up; run eval "$(npm run -s testbed)" first' >&2
fi
