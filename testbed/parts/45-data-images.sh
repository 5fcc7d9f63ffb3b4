#!/usr/bin/env bash
# Testbed part: the images of Slipway's data services, built by images/build.sh as install.sh
# builds them (images/README.md): Postgres 17 (with pgbackrest) and Valkey 8, each from Debian
# trixie's own packages on the debootstrapped base that 40-builder.sh builds on too
# (images/lib.sh), and Postgres 18 with 17's programs beside it (pg:upgrade's image: forky's
# postgresql-18 and trixie's postgresql-17 on a debootstrapped forky base, the same entry script
# as images/postgres), apt from this machine's Debian mirror over the host network and trusting
# its added certificate authorities. Pushed to the testbed registry as slipway/postgres:<tag>,
# slipway/postgres18:<tag> and slipway/valkey:<tag>, the tag a hash of the image's inputs; a tag
# the registry already has is not built again. images/check.sh proves the images with docker
# (TLS, passwords, restarts, stop signals, backups and restores); it takes about 100 s, so it runs
# here only with SLIPWAY_TESTBED_CHECK_IMAGES=1.
# Prints: SLIPWAY_POSTGRES_IMAGE, SLIPWAY_VALKEY_IMAGE, SLIPWAY_POSTGRES18_IMAGE (the names the
# cluster's nodes pull, as SLIPWAY_RUN_IMAGE is).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
# shellcheck source=testbed/base.sh
. "$SLIPWAY_ROOT/testbed/base.sh"
src=$SLIPWAY_ROOT/images

part_lock data-images
# images/build.sh, which install.sh runs too: a tag the registry has is not built again.
built=$(bash "$src/build.sh" --engine "$IMAGES_ENGINE" --registry "$SLIPWAY_REGISTRY" --auth "$SLIPWAY_REGISTRY_AUTH_FILE" \
  --cache "$stack_dir" postgres valkey postgres18) || die "data-images: images/build.sh failed (see above)"
exports=()
while read -r name ref; do
  exports+=("$(printf 'export SLIPWAY_%s_IMAGE=%q' "${name^^}" "$SLIPWAY_REGISTRY/$ref")")
done <<<"$built"

if [ "${SLIPWAY_TESTBED_CHECK_IMAGES:-0}" = 1 ]; then
  log "data-images: images/check.sh"
  SLIPWAY_POSTGRES_IMAGE=${exports[0]#*=} SLIPWAY_VALKEY_IMAGE=${exports[1]#*=} SLIPWAY_POSTGRES18_IMAGE=${exports[2]#*=} \
    bash "$src/check.sh" >&2
fi
printf '%s\n' "${exports[@]}"
