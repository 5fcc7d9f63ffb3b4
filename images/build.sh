#!/usr/bin/env bash
# images/build.sh: Slipway's data service images (postgres, valkey, postgres18: images/README.md)
# built from Debian's packages through a Docker engine's API and pushed to a registry as
# slipway/NAME:TAG, the tag a hash of the image's inputs (its base, its folder here, postgres18's
# entry script from postgres/, the machine's added CAs, apt's Valid-Until choice). A tag the
# registry has already is neither built nor pushed again. install.sh runs it for the registry it
# sets up, the testbed (testbed/parts/45-data-images.sh) for its own.
#
#   images/build.sh --engine SOCKET --registry HOST:PORT [--auth FILE] [--https] [--cache DIR] [--tags] NAME...
#
# --auth FILE: the registry's USER:PASSWORD. --cache: where debootstrap's root file systems are
# kept (default /var/cache/slipway/images). --tags: print the tags only (nothing asked or built).
# Prints `NAME slipway/NAME:TAG` a line per NAME on stdout; progress goes to stderr. Runs as root
# when a base must be made (debootstrap).
set -euo pipefail
log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '9p' "$0" | sed 's/^#   //' >&2; exit 2; }

IMAGES_ENGINE="" IMAGES_REGISTRY="" IMAGES_REGISTRY_AUTH="" IMAGES_REGISTRY_SCHEME=http
IMAGES_CACHE=/var/cache/slipway/images
tags_only=0
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --engine) IMAGES_ENGINE=${2:?}; shift 2 ;;
    --registry) IMAGES_REGISTRY=${2:?}; shift 2 ;;
    --auth) IMAGES_REGISTRY_AUTH=${2:?}; shift 2 ;;
    --https) IMAGES_REGISTRY_SCHEME=https; shift ;;
    --cache) IMAGES_CACHE=${2:?}; shift 2 ;;
    --tags) tags_only=1; shift ;;
    postgres|valkey|postgres18) names+=("$1"); shift ;;
    *) log "unknown argument $1"; usage ;;
  esac
done
[ ${#names[@]} -gt 0 ] || usage
src=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=images/lib.sh
. "$src/lib.sh"

# suite_of NAME: the Debian suite NAME starts from (postgres18 forky, the others trixie); tag_of NAME: its tag.
suite_of() { if [ "$1" = postgres18 ]; then echo forky; else echo "$suite"; fi; }
tag_of() {
  local inputs=("$1")
  [ "$1" != postgres18 ] || inputs+=(postgres/slipway-postgres)
  (echo "$(base_key_of "$(suite_of "$1")") $valid_until"; dir_hash "$src" "${inputs[@]}"
    [ ${#local_cas[@]} -eq 0 ] || cat "${local_cas[@]}") | hash_of
}

if [ "$tags_only" = 1 ]; then
  for name in "${names[@]}"; do echo "$name slipway/$name:$(tag_of "$name")"; done
  exit 0
fi
[ -S "$IMAGES_ENGINE" ] || die "--engine must name the Docker engine's socket (got \"$IMAGES_ENGINE\")"
[ -n "$IMAGES_REGISTRY" ] || die "--registry HOST:PORT is required"
[ -z "$IMAGES_REGISTRY_AUTH" ] || [ -r "$IMAGES_REGISTRY_AUTH" ] || die "cannot read the registry credential $IMAGES_REGISTRY_AUTH"

# The registry's credential for the engine's push: X-Registry-Auth, base64url JSON, given to curl
# on stdin so that it never shows in a process list.
push_config() {
  local user="" pass=""
  if [ -n "$IMAGES_REGISTRY_AUTH" ]; then IFS=: read -r user pass <"$IMAGES_REGISTRY_AUTH"; fi
  user=${user//\\/\\\\} pass=${pass//\\/\\\\}
  printf 'header = "X-Registry-Auth: %s"\n' "$(printf '{"username":"%s","password":"%s","serveraddress":"%s"}' \
    "${user//\"/\\\"}" "${pass//\"/\\\"}" "$IMAGES_REGISTRY" | base64 -w0 | tr '+/' '-_')"
}

for name in "${names[@]}"; do
  tag=$(tag_of "$name")
  image=$IMAGES_REGISTRY/slipway/$name:$tag
  if in_registry "slipway/$name" "$tag"; then
    log "$image is in the registry already"
  else
    base_suite=$(suite_of "$name")
    ensure_base "$base_suite"
    context=$(mktemp -d)
    trap 'rm -rf "$context"' EXIT
    cp -a "$src/$name/." "$context/"
    [ "$name" != postgres18 ] || cp -a "$src/postgres/slipway-postgres" "$context/"
    mkdir -p "$context/ca"
    [ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/ca/"
    log "building $image from Debian's packages"
    started=$SECONDS
    args=$(urlencode "{\"BASE\":\"slipway/base:$(base_key_of "$base_suite")\",\"CHECK_VALID_UNTIL\":\"${valid_until:-true}\"}")
    tar -C "$context" -cf - . | engine -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
      "/build?t=$(urlencode "$image")&networkmode=host&q=1&rm=1&forcerm=1&buildargs=$args" | engine_stream_ok "the build of $image"
    engine_has "$image" || die "the build of $image left no image"
    rm -rf "$context"
    trap - EXIT
    push_config | engine -X POST -K - "/images/$(urlencode "$IMAGES_REGISTRY/slipway/$name")/push?tag=$tag" | engine_stream_ok "pushing $image"
    in_registry "slipway/$name" "$tag" || die "the registry does not have $image after the push"
    log "$image built and pushed in $((SECONDS - started)) s"
  fi
  echo "$name slipway/$name:$tag"
done
