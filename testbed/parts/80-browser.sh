#!/usr/bin/env bash
# Testbed part: Debian's Chromium, which the dashboard's browser tests drive with playwright-core
# (test/support/browser.ts). Idempotent: installed once from apt (no browser download from the
# internet), then only checked. Prints: SLIPWAY_CHROMIUM (the browser's executable).
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${SLIPWAY_CACHE_DIR:=$HOME/.cache/slipway}"
mkdir -p "$SLIPWAY_CACHE_DIR"

apt_need chromium fonts-dejavu-core
bin=/usr/bin/chromium
[ -x "$bin" ] || die "browser: $bin is missing after installing Debian's chromium package"
# A headless start proves the browser runs here (its libraries, the sandbox settings) before a test does.
version=$("$bin" --headless --no-sandbox --disable-gpu --version 2>/dev/null) || die "browser: $bin does not start"
log "browser: $version"
echo "export SLIPWAY_CHROMIUM=$bin"
