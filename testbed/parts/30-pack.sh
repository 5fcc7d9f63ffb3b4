#!/usr/bin/env bash
# pack CLI and CNB lifecycle, built from source at the versions pinned in testbed/tools/pack/go.mod and
# testbed/tools/pack/lifecycle/go.mod (the only way to get them here: release downloads are not
# reachable, the Go module proxy is).
# Produces:
#   $SLIPWAY_CACHE_DIR/bin/pack
#   $SLIPWAY_CACHE_DIR/bin/lifecycle/{lifecycle,launcher,<phase symlinks>}
#   $SLIPWAY_CACHE_DIR/lifecycle/lifecycle-v<version>+linux.<arch>.tgz  (for `pack builder create`)
# and rebuilds only when the pins (go.mod/go.sum) or the Go toolchain change.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

mod=$SLIPWAY_ROOT/testbed/tools/pack
bin=$SLIPWAY_CACHE_DIR/bin
stamp=$bin/.pack-stamp
pack_home=$SLIPWAY_CACHE_DIR/pack-home

go=$(command -v go || true)
[ -n "$go" ] || go=/usr/local/go/bin/go
[ -x "$go" ] || die "Go is needed to build pack and the lifecycle (not on PATH, not at /usr/local/go/bin/go)"

# Module and build caches live under the cache dir too, like everything else the testbed makes.
export GOMODCACHE=$SLIPWAY_CACHE_DIR/go/mod GOCACHE=$SLIPWAY_CACHE_DIR/go/build GOFLAGS=-modcacherw
export GOTOOLCHAIN=local

case $(uname -m) in
  x86_64) goarch=amd64 tgz_arch=x86-64 ;;
  aarch64) goarch=arm64 tgz_arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

want="$(cat "$mod/go.mod" "$mod/go.sum" "$mod/lifecycle/go.mod" "$mod/lifecycle/go.sum" | sha256sum | cut -c1-16) $("$go" env GOVERSION) $goarch"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/pack" ]; then
  lifecycle_tgz=$(sed -n 's/^tarball //p' "$bin/.lifecycle")
  log "pack and lifecycle up to date"
else
  cd "$mod"
  pack_version=$("$go" list -m -f '{{.Version}}' github.com/buildpacks/pack)
  lifecycle_version=$(cd lifecycle && "$go" list -m -f '{{.Version}}' github.com/buildpacks/lifecycle)
  lifecycle_src=$(cd lifecycle && "$go" mod download -json github.com/buildpacks/lifecycle | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  log "building pack $pack_version and lifecycle $lifecycle_version (first time: a few minutes)"
  mkdir -p "$bin"
  tmp=$(mktemp -d "$SLIPWAY_CACHE_DIR/pack-build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT

  "$go" build -trimpath -o "$tmp/pack" \
    -ldflags "-s -w -X github.com/buildpacks/pack/pkg/client.Version=${pack_version#v}" \
    github.com/buildpacks/pack >&2

  # The lifecycle runs inside the build image: a static linux binary for this machine's arch.
  mkdir -p "$tmp/lifecycle"
  lc_ldflags="-s -w -X github.com/buildpacks/lifecycle/cmd.Version=${lifecycle_version#v}"
  lc_ldflags+=" -X github.com/buildpacks/lifecycle/cmd.SCMRepository=github.com/buildpacks/lifecycle"
  (cd lifecycle
    CGO_ENABLED=0 GOOS=linux GOARCH=$goarch "$go" build -trimpath -ldflags "$lc_ldflags" \
      -o "$tmp/lifecycle/lifecycle" github.com/buildpacks/lifecycle/cmd/lifecycle >&2
    CGO_ENABLED=0 GOOS=linux GOARCH=$goarch "$go" build -trimpath -ldflags "$lc_ldflags" \
      -o "$tmp/lifecycle/launcher" github.com/buildpacks/lifecycle/cmd/launcher >&2)
  # One binary serves every phase; it picks the phase from the name it was called by.
  for phase in detector analyzer restorer builder exporter rebaser creator extender; do
    ln -sf lifecycle "$tmp/lifecycle/$phase"
  done

  # The lifecycle's own packager writes lifecycle.toml (the supported platform and buildpack API
  # versions, taken from the lifecycle's api package) next to the binaries, as pack expects.
  mkdir -p "$SLIPWAY_CACHE_DIR/lifecycle"
  lifecycle_tgz=$SLIPWAY_CACHE_DIR/lifecycle/lifecycle-$lifecycle_version+linux.$tgz_arch.tgz
  (cd lifecycle && "$go" tool packager -inputDir "$tmp/lifecycle" -archivePath "$lifecycle_tgz" \
    -descriptorPath "$lifecycle_src/lifecycle.toml" -version "${lifecycle_version#v}" >&2)

  rm -rf "$bin/lifecycle"
  mv "$tmp/lifecycle" "$bin/lifecycle"
  mv "$tmp/pack" "$bin/pack"
  printf 'version %s\ntarball %s\n' "$lifecycle_version" "$lifecycle_tgz" >"$bin/.lifecycle"
  echo "$want" >"$stamp"
  log "built $("$bin/pack" --version) and lifecycle $lifecycle_version"
fi

mkdir -p "$pack_home"
# pack names a build's cache volume from the image name and this key; without it pack keeps a key
# per image in $PACK_HOME and warns on each new one. A fixed key per cache dir keeps names stable.
[ -s "$pack_home/volume-key" ] || (umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pack_home/volume-key")
echo "export PATH=\"$bin:\$PATH\""
echo "export SLIPWAY_PACK=$bin/pack"
echo "export PACK_HOME=$pack_home"
echo "export PACK_VOLUME_KEY=$(cat "$pack_home/volume-key")"
echo "export SLIPWAY_LIFECYCLE_TARBALL=$lifecycle_tgz"
