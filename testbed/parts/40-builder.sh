#!/usr/bin/env bash
# The project's own offline CNB builder, from buildpacks/:
#   1. base: Debian bookworm minbase by debootstrap (from the mirror this machine's apt uses),
#      `docker import`ed; the root filesystem tarball is kept in the cache.
#   2. run and build images: buildpacks/stack/*.Dockerfile on that base, pushed to the registry.
#   3. builder: `pack builder create` with buildpacks/builder.toml (lifecycle from 30-pack.sh),
#      published to the registry as slipway/builder:<hash of its inputs>.
# Every step is skipped when its result, named by a hash of its inputs, is already there.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${SLIPWAY_PACK:?run after 30-pack.sh}"
: "${SLIPWAY_LIFECYCLE_TARBALL:?run after 30-pack.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"

src=$SLIPWAY_ROOT/buildpacks
suite=bookworm
base_packages=ca-certificates,busybox
stack_id=io.slipway.stacks.$suite
stack_dir=$SLIPWAY_CACHE_DIR/stack
case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

hash_of() { sha256sum | cut -c1-12; }
# tree_hash DIR... hashes the names, modes and contents of the files under DIR.
tree_hash() {
  (cd "$src" && find "$@" -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 stat -c '%n %a' && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat) | hash_of
}
# in_registry REPO TAG: whether the testbed registry has that manifest.
in_registry() {
  [ "$(registry_curl -s -o /dev/null -w '%{http_code}' -I \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$SLIPWAY_REGISTRY/v2/$1/manifests/$2")" = 200 ]
}
npm_registry() {
  local r
  r=$(npm config get registry 2>/dev/null || true)
  if [ -z "$r" ] || [ "$r" = undefined ]; then die "cannot read the npm registry from npm's config (is npm installed?)"; fi
  echo "$r"
}

# The Python package index this machine's pip uses (PIP_INDEX_URL, else pip's config), else PyPI.
pip_index() {
  local r=${PIP_INDEX_URL:-}
  if [ -z "$r" ] && command -v pip3 >/dev/null 2>&1; then r=$(pip3 config get global.index-url 2>/dev/null || true); fi
  echo "${r:-https://pypi.org/simple}"
}
# The Go module proxy this machine's go uses, else the public one.
go_proxy() {
  local r=${GOPROXY:-}
  if [ -z "$r" ] && command -v go >/dev/null 2>&1; then r=$(go env GOPROXY 2>/dev/null || true); fi
  echo "${r:-https://proxy.golang.org,direct}"
}

# The Debian mirror: the first URI this machine's apt config lists for the machine's own release
# suite (not -updates or -security), in one-line or deb822 format. A Debian mirror carries every
# release, so it also serves bookworm when the machine runs a later one.
debian_mirror() {
  local want
  want=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$want" ] || return 0
  {
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk -v want="$want" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
                           if ($(i + 1) == want) print $i }'
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v want="$want" 'BEGIN { RS = ""; FS = "\n" }
           { uri = ""; ok = 0; deb = 1
             for (i = 1; i <= NF; i++) {
               if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
               if ($i ~ /^Types:/ && $i !~ /[ \t]deb([ \t]|$)/) deb = 0
               if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == want) ok = 1 }
               if ($i ~ /^Enabled:[ \t]*no/) deb = 0
             }
             if (uri != "" && ok && deb) print uri }' "$f"
    done
  } | grep -E '^https?://' | head -1
}

# --- Stack: base, run and build images ----------------------------------------------------------
base_key=$(printf '%s %s %s' "$suite" "$base_packages" "$arch" | hash_of)
# Certificate authorities the machine's admin added (Debian's place for them): the images trust
# them too, so HTTPS from build and app containers works wherever it works on the host.
local_cas=()
for f in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
  if [ -f "$f" ]; then local_cas+=("$f"); fi
done
stack_tag=$( (echo "$base_key"; tree_hash stack; [ ${#local_cas[@]} -eq 0 ] || cat "${local_cas[@]}") | hash_of)
run_image=$SLIPWAY_REGISTRY/slipway/run:$stack_tag
build_image=$SLIPWAY_REGISTRY/slipway/build:$stack_tag

if in_registry slipway/run "$stack_tag" && in_registry slipway/build "$stack_tag"; then
  log "stack images $stack_tag already in the registry"
else
  base_image=slipway/base:$base_key
  if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    rootfs_tar=$stack_dir/$suite-$base_key.tar
    if [ ! -f "$rootfs_tar" ]; then
      apt_need debootstrap debian-archive-keyring
      mirror=$(debian_mirror)
      [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"
      mkdir -p "$stack_dir"
      rootfs=$(mktemp -d "$stack_dir/rootfs.XXXXXX")
      log "debootstrap $suite (minbase + $base_packages) from $mirror (a few minutes; log: $stack_dir/debootstrap.log)"
      debootstrap --variant=minbase --arch="$arch" --include="$base_packages" "$suite" "$rootfs" "$mirror" \
        >"$stack_dir/debootstrap.log" 2>&1 || { rm -rf "$rootfs"; die "debootstrap failed (see $stack_dir/debootstrap.log)"; }
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log
      tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
      rm -rf "$rootfs"
    fi
    log "docker import $base_image"
    docker import "$rootfs_tar" "$base_image" >/dev/null
  fi
  context=$(mktemp -d "$SLIPWAY_CACHE_DIR/stack-context.XXXXXX")
  cp -a "$src/stack/." "$context/"
  mkdir -p "$context/ca"
  [ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/ca/"
  for kind in run build; do
    image=$SLIPWAY_REGISTRY/slipway/$kind:$stack_tag
    log "docker build $image"
    DOCKER_BUILDKIT=0 docker build -q --network host -f "$context/$kind.Dockerfile" \
      --build-arg "BASE=$base_image" --build-arg "STACK_ID=$stack_id" -t "$image" "$context" 2>&1 \
      | { grep -v -e '^DEPRECATED: The legacy builder' -e '^ \{10,\}' -e '^$' || true; } >&2
    docker push -q "$image" >&2
  done
  rm -rf "$context"
fi

# --- Builder ------------------------------------------------------------------------------------
npm_reg=$(npm_registry)
pip_idx=$(pip_index)
goproxy=$(go_proxy)
builder_tag=$( (echo "$stack_tag $arch $npm_reg $pip_idx $goproxy $(basename "$SLIPWAY_LIFECYCLE_TARBALL")"
  cat "$SLIPWAY_LIFECYCLE_TARBALL.sha256" 2>/dev/null || true
  tree_hash .) | hash_of)
builder=$SLIPWAY_REGISTRY/slipway/builder:$builder_tag

if in_registry slipway/builder "$builder_tag"; then
  log "builder $builder already in the registry"
else
  stage=$(mktemp -d "$SLIPWAY_CACHE_DIR/builder-stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  cp -a "$src/." "$stage/"
  sed -i -e "s|@LIFECYCLE_URI@|file://$SLIPWAY_LIFECYCLE_TARBALL|" \
    -e "s|@BUILD_IMAGE@|$build_image|" -e "s|@RUN_IMAGE@|$run_image|" \
    -e "s|@NPM_REGISTRY@|$npm_reg|" -e "s|@PIP_INDEX_URL@|$pip_idx|" -e "s|@GOPROXY@|$goproxy|" \
    -e "s|@ARCH@|$arch|" "$stage/builder.toml"
  log "pack builder create $builder"
  "$SLIPWAY_PACK" builder create "$builder" --config "$stage/builder.toml" --publish \
    --pull-policy if-not-present >&2
fi

echo "export SLIPWAY_BUILDER=$builder"
echo "export SLIPWAY_RUN_IMAGE=$run_image"
