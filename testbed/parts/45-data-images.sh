#!/usr/bin/env bash
# Testbed part: the images of Slipway's data services, from images/: Postgres 17 (with pgbackrest)
# and Valkey 8, each from Debian trixie's own packages on the debootstrapped base that 40-builder.sh
# builds on too (testbed/base.sh), and Postgres 18 with 17's programs beside it (pg:upgrade's
# image: forky's postgresql-18 and trixie's postgresql-17 on a debootstrapped forky base, the same
# entry script as images/postgres), apt from this machine's Debian mirror over the host network and
# trusting its added certificate authorities. Pushed to the testbed registry as
# slipway/postgres:<tag>, slipway/postgres18:<tag> and slipway/valkey:<tag>, the tag a hash of the
# image's inputs (the base, its folder in images/ and postgres18's script from images/postgres, the
# machine's CAs, apt's Valid-Until choice); a tag the registry already has is not built again. images/check.sh proves the images with docker (TLS, passwords, restarts,
# stop signals, backups and restores); it takes about 100 s, so it runs here only with
# SLIPWAY_TESTBED_CHECK_IMAGES=1.
# Prints: SLIPWAY_POSTGRES_IMAGE, SLIPWAY_VALKEY_IMAGE, SLIPWAY_POSTGRES18_IMAGE (the names the cluster's nodes pull, as
# SLIPWAY_RUN_IMAGE is).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"
# shellcheck source=testbed/base.sh
. "$SLIPWAY_ROOT/testbed/base.sh"
src=$SLIPWAY_ROOT/images

part_lock data-images
exports=()
for name in postgres valkey postgres18; do
  # Postgres 18 comes from forky (testing): its own base; its entry script is images/postgres's.
  image_suite=$suite
  inputs=("$name")
  if [ "$name" = postgres18 ]; then
    image_suite=forky
    inputs+=(postgres/slipway-postgres)
  fi
  image_base=slipway/base:$(base_key_of "$image_suite")
  tag=$( (echo "$(base_key_of "$image_suite") $valid_until"; dir_hash "$src" "${inputs[@]}"
    [ ${#local_cas[@]} -eq 0 ] || cat "${local_cas[@]}") | hash_of)
  image=$SLIPWAY_REGISTRY/slipway/$name:$tag
  if in_registry "slipway/$name" "$tag"; then
    log "data-images: $image already in the registry"
  else
    ensure_base "$image_suite"
    context=$(mktemp -d "$SLIPWAY_CACHE_DIR/image-context.XXXXXX")
    cp -a "$src/$name/." "$context/"
    [ "$name" != postgres18 ] || cp -a "$src/postgres/slipway-postgres" "$context/"
    mkdir -p "$context/ca"
    [ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/ca/"
    log "data-images: docker build $image"
    started=$SECONDS
    if ! DOCKER_BUILDKIT=0 docker build -q --network host --build-arg "BASE=$image_base" \
      --build-arg "CHECK_VALID_UNTIL=${valid_until:-true}" -t "$image" "$context" 2>&1 \
      | { grep -v -e '^DEPRECATED: The legacy builder' -e '^ \{10,\}' -e '^$' -e '^sha256:' || true; } >&2 ||
      ! docker image inspect "$image" >/dev/null 2>&1; then
      rm -rf "$context"
      die "data-images: the build of $image failed (see above)"
    fi
    rm -rf "$context"
    docker push -q "$image" >&2
    log "data-images: $image built and pushed in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
  fi
  exports+=("$(printf 'export SLIPWAY_%s_IMAGE=%q' "${name^^}" "$image")")
done

if [ "${SLIPWAY_TESTBED_CHECK_IMAGES:-0}" = 1 ]; then
  log "data-images: images/check.sh"
  SLIPWAY_POSTGRES_IMAGE=${exports[0]#*=} SLIPWAY_VALKEY_IMAGE=${exports[1]#*=} SLIPWAY_POSTGRES18_IMAGE=${exports[2]#*=} \
    bash "$src/check.sh" >&2
fi
printf '%s\n' "${exports[@]}"
