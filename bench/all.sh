#!/usr/bin/env bash
# `npm run bench`: the transport, memory, API and dashboard benches (they need only git, OpenSSH and,
# for the dashboard, Chromium), then,
# when the testbed is up (eval "$(npm run -s testbed)"), the build, cluster build, build load, deploy-latency, end-to-end,
# cutover, day-2, flow (issue 22: previews, webhooks, promotion) and HTTPS benches. Each writes its table to
# bench/results/ (index: bench/results/README.md).
# The server is launched one way (bin/slipway-server: npm start's Node flags and malloc settings):
# benches that run it in a process of its own go through bench/slipway.ts, which uses the
# launcher; those that host it in their own process run under the launcher themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node bench/run.ts
node bench/http-rss.ts
# (a) and (b) start a server of their own; (c) hosts one, on the testbed when it is up.
bin/slipway-server bench/api.ts
# Idle RSS of the sources vs the built server (with the testbed's KUBECONFIG when it is up).
node bench/memory.ts
# What a GET /metrics scrape costs, and the API's latency with scrapes (a server of its own, fake backends).
node bench/observe.ts
# Slipway's own backup and restore (no testbed: the registry is in memory; about 2 GB of temporary files).
node bench/self-backup.ts
# The audit log's cost per entry and audit:verify of 100,000 entries (no testbed: a store in a temporary directory).
node bench/audit.ts
# The client CLI (issue 41): its cold start and config:set vs ssh, on a server with the fake backends.
bin/slipway-server bench/cli.ts
# The dashboard in headless Chromium (Debian's chromium) against a server with the fake backends.
if [ -x "${SLIPWAY_CHROMIUM:-/usr/bin/chromium}" ]; then node bench/dashboard.ts; else echo "bench: dashboard bench skipped: no Chromium (testbed/parts/80-browser.sh installs Debian's chromium, or set SLIPWAY_CHROMIUM)" >&2; fi
if [ -n "${KUBECONFIG:-}" ] && [ -n "${SLIPWAY_PACK:-}" ] && [ -n "${SLIPWAY_TEST_INGRESS:-}" ]; then
  bin/slipway-server bench/build.ts
  bin/slipway-server bench/cluster-build.ts
  bin/slipway-server bench/cluster-queue.ts
  if [ -n "${SLIPWAY_NODE2_NAME:-}" ]; then bin/slipway-server bench/build-load.ts; else echo 'bench: build load bench skipped: the testbed has one node (SLIPWAY_TESTBED_NODES=1)' >&2; fi
  node bench/kube-deploy.ts
  bin/slipway-server bench/e2e-deploy.ts
  bin/slipway-server bench/cutover.ts
  bin/slipway-server bench/wake.ts
  bin/slipway-server bench/day2.ts
  bin/slipway-server bench/flow.ts
  node bench/reads.ts
  if [ -n "${SLIPWAY_POSTGRES_IMAGE:-}" ] && [ -n "${SLIPWAY_TEST_S3_ENDPOINT:-}" ]; then bin/slipway-server bench/db-copy.ts; else echo "bench: database copy bench skipped: no database images or S3 endpoint on the testbed" >&2; fi
  if [ -n "${SLIPWAY_POSTGRES_IMAGE:-}" ]; then bin/slipway-server bench/data.ts; else echo "bench: databases bench skipped: the testbed built no database images (SLIPWAY_POSTGRES_IMAGE)" >&2; fi
  if [ -n "${SLIPWAY_TEST_ACME_ROOT:-}" ]; then bin/slipway-server bench/certs.ts; else echo 'bench: HTTPS bench skipped: the testbed has no ACME CA (SLIPWAY_TEST_ACME_ROOT)' >&2; fi
  # Canary releases (issue 40): from an aborted canary's verdict to every request on the stable release.
  if [ -n "${SLIPWAY_INGRESS_API:-}" ]; then bin/slipway-server bench/canary.ts; else echo "bench: canary bench skipped: Traefik's API and metrics are not known (SLIPWAY_INGRESS_API)" >&2; fi
else
  echo 'bench: build, deploy and end-to-end benches skipped: the testbed is not up; run eval "$(npm run -s testbed)" first' >&2
fi
