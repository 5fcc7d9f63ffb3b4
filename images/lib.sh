# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are read by the scripts that source this file
# What building Slipway's images from Debian's packages needs, shared by images/build.sh (which
# install.sh runs) and the testbed (testbed/base.sh): the Debian base made with debootstrap and
# imported into a Docker engine, the tags (hashes of an image's inputs), and the engine's and the
# registry's HTTP APIs through curl, so no docker CLI is needed. The sourcing script defines `log`
# and `die` and sets IMAGES_ENGINE (the engine's unix socket), IMAGES_CACHE (where the base's root
# file system tarballs are kept), and for in_registry IMAGES_REGISTRY (host:port),
# IMAGES_REGISTRY_AUTH (a USER:PASSWORD file, or empty) and IMAGES_REGISTRY_SCHEME (http or https).
suite=trixie
base_packages=ca-certificates,busybox
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
# base_key_of SUITE: the hash that names a suite's base image and its root file system's tarball.
base_key_of() { printf '%s %s %s' "$1" "$base_packages" "$arch" | hash_of; }

# Certificate authorities the machine's admin added (Debian's place for them): the images trust
# them too, so HTTPS from containers works wherever it works on the host.
local_cas=()
for f in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
  if [ -f "$f" ]; then local_cas+=("$f"); fi
done
# The machine's apt may accept Release files past their Valid-Until date (a mirror that serves a
# dated snapshot); the images' apt does as the machine's does.
valid_until=true
if command -v apt-config >/dev/null 2>&1; then
  eval "$(apt-config shell valid_until Acquire::Check-Valid-Until)"
fi

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

# engine ARGS... PATH: curl on the engine's socket (the host name is a placeholder).
engine() {
  local path=${*: -1}
  curl -sS --unix-socket "$IMAGES_ENGINE" "${@:1:$#-1}" "http://docker$path"
}
# engine_has IMAGE: whether the engine holds that image.
engine_has() { [ "$(engine -o /dev/null -w '%{http_code}' "/images/$1/json")" = 200 ]; }
# engine_stream_ok WHAT: reads an engine's JSON progress stream on stdin; dies with its error (the
# engine answers 200 and writes the error into the stream when a build or push fails).
engine_stream_ok() {
  local out err
  out=$(cat)
  # A failed step writes "error" into the stream; a refused request is one {"message": ...}.
  err=$(grep -o -e '"error":"[^"]*"' -e '^{"message":"[^"]*"' <<<"$out" | head -1 | sed 's/^{\{0,1\}"[a-z]*":"//; s/"$//' || true)
  [ -z "$err" ] || die "$1 failed: ${err//\\n/ }"
}
# urlencode TEXT: TEXT for a URL's query.
urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}

# in_registry REPO TAG: whether the registry has that manifest (the credential, if any, goes to
# curl on stdin, quoted for its config file).
in_registry() {
  local auth=() cred=""
  if [ -n "${IMAGES_REGISTRY_AUTH:-}" ]; then
    auth=(-K -)
    cred=$(cat "$IMAGES_REGISTRY_AUTH") cred=${cred//\\/\\\\}
  fi
  [ "$( { [ -z "${IMAGES_REGISTRY_AUTH:-}" ] || printf 'user = "%s"\n' "${cred//\"/\\\"}"; } |
    curl "${auth[@]}" -s -o /dev/null -w '%{http_code}' -I \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "${IMAGES_REGISTRY_SCHEME:-http}://$IMAGES_REGISTRY/v2/$1/manifests/$2")" = 200 ]
}

# ensure_base [SUITE]: the debootstrapped base of SUITE (default trixie) as an image of the engine,
# slipway/base:<base_key_of SUITE> (the images start from it); the root file system's tarball is
# kept in $IMAGES_CACHE. A suite newer than the machine's debootstrap knows (forky on a bookworm
# machine) is made with the script of sid, which testing's suites share.
ensure_base() {
  local want=${1:-$suite} key rootfs_tar rootfs mirror script=()
  key=$(base_key_of "$want")
  engine_has "slipway/base:$key" && return 0
  rootfs_tar=$IMAGES_CACHE/$want-$key.tar
  if [ ! -f "$rootfs_tar" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap debian-archive-keyring)"
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"
    [ -e "/usr/share/debootstrap/scripts/$want" ] || script=(/usr/share/debootstrap/scripts/sid)
    mkdir -p "$IMAGES_CACHE"
    rootfs=$(mktemp -d "$IMAGES_CACHE/rootfs.XXXXXX")
    log "debootstrap $want (minbase + $base_packages) from $mirror (a few minutes; log: $IMAGES_CACHE/debootstrap-$want.log)"
    debootstrap --variant=minbase --arch="$arch" --include="$base_packages" "$want" "$rootfs" "$mirror" "${script[@]}" \
      >"$IMAGES_CACHE/debootstrap-$want.log" 2>&1 || { rm -rf "$rootfs"; die "debootstrap of $want failed (see $IMAGES_CACHE/debootstrap-$want.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  log "importing slipway/base:$key into the engine"
  engine -X POST -H 'Content-Type: application/x-tar' --upload-file "$rootfs_tar" \
    "/images/create?fromSrc=-&repo=slipway/base&tag=$key" | engine_stream_ok "importing slipway/base:$key"
  engine_has "slipway/base:$key" || die "the engine did not keep slipway/base:$key after importing it"
}
