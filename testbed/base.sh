# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are read by the parts that source this file
# The Debian trixie base the testbed's images start from (40-builder.sh's stack images and
# CPython compiles, 45-data-images.sh's Postgres and Valkey images), and the helpers the parts
# that build images share. Sourced after lib.sh by such a part: sets suite, base_packages, arch,
# stack_dir, base_key, base_image (slipway/base:<base_key>, a local image of the engine), local_cas
# (the machine's added certificate authorities) and valid_until (the machine's apt choice for a
# Release file past its Valid-Until date), and defines ensure_base, debian_mirror, in_registry,
# hash_of and dir_hash. `ensure_base forky` makes the Debian forky (testing) base the same way
# (slipway/base:<base_key_of forky>): the Postgres 18 image, which needs forky's packages, starts
# from it.
suite=trixie
base_packages=ca-certificates,busybox
stack_dir=$SLIPWAY_CACHE_DIR/stack
case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

hash_of() { sha256sum | cut -c1-12; }
# dir_hash ROOT PATH...: a hash of the names (relative to ROOT), modes and contents of the files
# under ROOT/PATH...
dir_hash() {
  local root=$1
  shift
  (cd "$root" && find "$@" -type f -print0 | LC_ALL=C sort -z \
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

# The Debian mirror: the first URI this machine's apt config lists for the machine's own release
# suite (not -updates or -security), in one-line or deb822 format. A Debian mirror carries every
# release, so it also serves trixie when the machine runs another one (e.g. bookworm).
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

# base_key_of SUITE: the hash that names a suite's base image and its root file system's tarball.
base_key_of() { printf '%s %s %s' "$1" "$base_packages" "$arch" | hash_of; }
base_key=$(base_key_of "$suite")
# Certificate authorities the machine's admin added (Debian's place for them): the images trust
# them too, so HTTPS from build and app containers works wherever it works on the host.
local_cas=()
for f in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
  if [ -f "$f" ]; then local_cas+=("$f"); fi
done
base_image=slipway/base:$base_key

# ensure_base [SUITE]: the debootstrapped base of SUITE (default trixie) as a local image of the
# engine, slipway/base:<base_key_of SUITE> (the images above start from it); the root file system's
# tarball is kept in $stack_dir. A suite newer than the machine's debootstrap knows (forky on a
# bookworm machine) is made with the script of sid, which testing's suites share.
ensure_base() {
  local want=${1:-$suite} key image rootfs_tar rootfs mirror script=()
  key=$(base_key_of "$want")
  image=slipway/base:$key
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  rootfs_tar=$stack_dir/$want-$key.tar
  if [ ! -f "$rootfs_tar" ]; then
    apt_need debootstrap debian-archive-keyring
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"
    [ -e "/usr/share/debootstrap/scripts/$want" ] || script=(/usr/share/debootstrap/scripts/sid)
    mkdir -p "$stack_dir"
    rootfs=$(mktemp -d "$stack_dir/rootfs.XXXXXX")
    log "debootstrap $want (minbase + $base_packages) from $mirror (a few minutes; log: $stack_dir/debootstrap-$want.log)"
    debootstrap --variant=minbase --arch="$arch" --include="$base_packages" "$want" "$rootfs" "$mirror" "${script[@]}" \
      >"$stack_dir/debootstrap-$want.log" 2>&1 || { rm -rf "$rootfs"; die "debootstrap of $want failed (see $stack_dir/debootstrap-$want.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  log "docker import $image"
  docker import "$rootfs_tar" "$image" >/dev/null
}

# The machine's apt may accept Release files past their Valid-Until date (a mirror that serves a
# dated snapshot); the container's apt does as the machine's does.
valid_until=true
if command -v apt-config >/dev/null 2>&1; then
  eval "$(apt-config shell valid_until Acquire::Check-Valid-Until)"
fi
