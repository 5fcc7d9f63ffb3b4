#!/usr/bin/env bash
# Testbed part: the Debian 12 root file system test/e2e/install.test.ts boots fresh machines from
# (testbed/machine/machine.sh: debootstrap once, then systemd-nspawn -b). Built when missing or
# when the host's apt sources changed (machine.sh's stamp), cached under
# $SLIPWAY_CACHE_DIR/machine, never in the checkout; warm, this is a stamp check.
# Prints: SLIPWAY_TEST_MACHINE (the machine.sh to drive machines with).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
machine=$SLIPWAY_ROOT/testbed/machine/machine.sh

apt_need debootstrap systemd-container util-linux
# One image build at a time (engineers and CI share the cache).
exec 9>"$TESTBED_DIR/machine.lock"
flock -n 9 || { log "machine: waiting for another testbed run to finish"; flock 9; }
started=$SECONDS
bash "$machine" image 9>&-
log "machine: image ready in $((SECONDS - started))s ($SLIPWAY_CACHE_DIR/machine/rootfs-bookworm)"

printf 'export SLIPWAY_TEST_MACHINE=%q\n' "$machine"
