#!/usr/bin/env bash
# The project's own offline CNB builder, from buildpacks/:
#   1. base: Debian trixie (13) minbase by debootstrap (testbed/base.sh, from the mirror this machine's apt uses),
#      `docker import`ed; the root filesystem tarball is kept in the cache.
#   2. run and build images: buildpacks/stack/*.Dockerfile on that base, pushed to the registry.
#   3. builder: `pack builder create` with buildpacks/builder.toml (lifecycle from 30-pack.sh),
#      published to the registry as slipway/builder:<hash of its inputs>.
# Every step is skipped when its result, named by a hash of its inputs, is already there.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=testbed/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/../base.sh"

: "${SLIPWAY_REGISTRY:?run after 20-registry.sh}" "${SLIPWAY_PACK:?run after 30-pack.sh}"
: "${SLIPWAY_LIFECYCLE_TARBALL:?run after 30-pack.sh}" "${DOCKER_HOST:?run after 10-docker.sh}"

src=$SLIPWAY_ROOT/buildpacks
stack_id=io.slipway.stacks.$suite
# tree_hash DIR... hashes the names, modes and contents of the files under buildpacks/DIR.
tree_hash() { dir_hash "$src" "$@"; }

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

# The Maven repository this machine's Maven uses (slipway/java): MAVEN_REPOSITORY_URL, else the
# URL of a mirror of central (or of everything) in ~/.m2/settings.xml, else Maven Central.
maven_repository() {
  local r=${MAVEN_REPOSITORY_URL:-}
  if [ -z "$r" ] && [ -f "$HOME/.m2/settings.xml" ]; then
    r=$(tr -d '\n\r' <"$HOME/.m2/settings.xml" | sed 's|<mirror>|\n<mirror>|g; s|</mirror>|</mirror>\n|g' \
      | sed -n 's|^<mirror>.*<mirrorOf>[[:space:]]*\([^<]*\)</mirrorOf>.*$|\1 &|p' \
      | awk '$1 == "*" || $1 ~ /(^|,)(central|\*)(,|$)/' | sed -n 's|.*<url>[[:space:]]*\([^<[:space:]]*\)[[:space:]]*</url>.*|\1|p' | head -1)
  fi
  echo "${r:-https://repo.maven.apache.org/maven2}"
}

# --- CPython releases trixie lacks --------------------------------------------------------------
# "MINOR DEBIAN-SOURCE-PACKAGE SUITE": compiled once per builder by buildpacks/stack/cpython.sh
# from the upstream tarball in that Debian source package, in a throwaway container of the base,
# and unpacked into /opt/python/MINOR of both stack images (3.13 is trixie's own python3).
# 3.12 is in no Debian suite any more (trixie moved from 3.11 to 3.13); 3.14 is below.
cpythons=("3.11 python3.11 bookworm")
# Each result is $py_dir/cpython-<Debian source version>-<arch>-<recipe>.tar.gz; a pointer file
# per minor and recipe (the script and the base) names the current one, so a warm run looks
# nothing up. Delete the pointer to take a newer source version from the suite.
py_dir=$SLIPWAY_CACHE_DIR/python
py_recipe=$( (echo "$base_key"; cat "$src/stack/cpython.sh") | hash_of)
# in_base SCRIPT ARG...: runs buildpacks/stack/SCRIPT ARG... MIRROR in a container of the base
# (host network for apt, the machine's CAs in /tmp/ca), its output appended to $py_dir/build.log;
# leaves the container's /tmp/out in $py_dir/out.
in_base() {
  local cid mirror script=$1
  shift
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*"
  cid=$(docker create --network host -e "CHECK_VALID_UNTIL=${valid_until:-true}" "$base_image" \
    bash "/tmp/$script" "$@" "$mirror")
  docker cp -q "$src/stack/$script" "$cid:/tmp/$script"
  if [ ${#local_cas[@]} -gt 0 ]; then
    rm -rf "$py_dir/ca" && mkdir -p "$py_dir/ca" && cp "${local_cas[@]}" "$py_dir/ca/"
    docker cp -q "$py_dir/ca/." "$cid:/tmp/ca"
  fi
  rm -rf "$py_dir/out"
  if ! docker start -a "$cid" >>"$py_dir/build.log" 2>&1; then
    docker rm "$cid" >/dev/null
    die "$script $* failed; the end of $py_dir/build.log says why"
  fi
  docker cp -q "$cid:/tmp/out/." "$py_dir/out"
  docker rm "$cid" >/dev/null
}
py_tarballs=()
for spec in "${cpythons[@]}"; do
  read -r minor package from <<<"$spec"
  pointer=$py_dir/$minor-$arch-$py_recipe
  tarball=$(cat "$pointer" 2>/dev/null || true)
  if [ -z "$tarball" ] || [ ! -f "$py_dir/$tarball" ]; then
    mkdir -p "$py_dir"
    ensure_base
    in_base cpython.sh version "$minor" "$package" "$from"
    tarball=cpython-$(cat "$py_dir/out/version")-$arch-$py_recipe.tar.gz
    if [ ! -f "$py_dir/$tarball" ]; then
      log "compiling Python $minor from Debian $from's $package $(cat "$py_dir/out/version") (about 10 minutes on 2 cores; log: $py_dir/build.log)"
      started=$SECONDS
      in_base cpython.sh build "$minor" "$package" "$from"
      mv "$py_dir/out/cpython.tar.gz" "$py_dir/$tarball"
      log "compiled Python $minor in $((SECONDS - started))s: $py_dir/$tarball"
    fi
    echo "$tarball" >"$pointer"
  fi
  py_tarballs+=("$py_dir/$tarball")
done

# --- CPython releases as a newer Debian suite's binary packages -------------------------------
# "MINOR SUITE": Debian's own build of python3.MINOR from SUITE (buildpacks/stack/debian-python.sh
# downloads its packages, signatures checked by apt), unpacked into both stack images as Debian
# lays it out (/usr/bin/python3.14, /usr/lib/python3.14). sid's python3.14 source files are not
# served by this machine's mirror (404), its binary packages are. They are built against sid's
# glibc 2.42 and trixie has 2.41: only the termios module (so tty and pty) needs the newer glibc's
# symbols, and does not load (checked below, and said by the Python buildpack).
debian_pythons=("3.14 sid")
# The newest version in the suite when first fetched, then pinned by a pointer file per minor,
# suite and recipe (the script and the base), so a warm run looks nothing up; delete the pointer to
# take the suite's current version. The .debs are in $py_dir/python<MINOR>-<version>-<arch>-<recipe>/.
deb_recipe=$( (echo "$base_key"; cat "$src/stack/debian-python.sh") | hash_of)
deb_dirs=()
for spec in "${debian_pythons[@]}"; do
  read -r minor suite_from <<<"$spec"
  pointer=$py_dir/$minor-$suite_from-$arch-$deb_recipe
  version=$(cat "$pointer" 2>/dev/null || true)
  dir=$py_dir/python$minor-$version-$arch-$deb_recipe
  if [ -z "$version" ] || ! compgen -G "$dir/*.deb" >/dev/null; then
    mkdir -p "$py_dir"
    ensure_base
    started=$SECONDS
    if [ -z "$version" ]; then
      in_base debian-python.sh version "$minor" "$suite_from"
      version=$(cat "$py_dir/out/version")
      dir=$py_dir/python$minor-$version-$arch-$deb_recipe
    fi
    log "downloading Debian $suite_from's python$minor $version packages (log: $py_dir/build.log)"
    in_base debian-python.sh download "$minor" "$suite_from" "$version"
    rm -rf "$dir" && mkdir -p "$dir.tmp" && cp "$py_dir"/out/*.deb "$dir.tmp/" && mv "$dir.tmp" "$dir"
    echo "$version" >"$pointer"
    log "Python $minor from Debian $suite_from ($version) in $((SECONDS - started))s: $dir"
  fi
  deb_dirs+=("$dir")
done
rm -rf "$py_dir/out" "$py_dir/ca"

# --- Stack: run and build images (on the base of testbed/base.sh) -------------------------------
stack_tag=$( (echo "$base_key"; tree_hash stack; [ ${#local_cas[@]} -eq 0 ] || cat "${local_cas[@]}"
  for t in "${py_tarballs[@]}"; do basename "$t"; done
  for d in "${deb_dirs[@]}"; do basename "$d"; (cd "$d" && ls ./*.deb); done) | hash_of)
run_image=$SLIPWAY_REGISTRY/slipway/run:$stack_tag
build_image=$SLIPWAY_REGISTRY/slipway/build:$stack_tag

if in_registry slipway/run "$stack_tag" && in_registry slipway/build "$stack_tag"; then
  log "stack images $stack_tag already in the registry"
else
  ensure_base
  context=$(mktemp -d "$SLIPWAY_CACHE_DIR/stack-context.XXXXXX")
  cp -a "$src/stack/." "$context/"
  mkdir -p "$context/ca" "$context/python" "$context/debian-python"
  [ ${#local_cas[@]} -eq 0 ] || cp "${local_cas[@]}" "$context/ca/"
  for t in "${py_tarballs[@]}"; do cp "$t" "$context/python/"; done
  for d in "${deb_dirs[@]}"; do cp "$d"/*.deb "$context/debian-python/"; done
  for kind in run build; do
    image=$SLIPWAY_REGISTRY/slipway/$kind:$stack_tag
    log "docker build $image"
    DOCKER_BUILDKIT=0 docker build -q --network host -f "$context/$kind.Dockerfile" \
      --build-arg "BASE=$base_image" --build-arg "STACK_ID=$stack_id" -t "$image" "$context" 2>&1 \
      | { grep -v -e '^DEPRECATED: The legacy builder' -e '^ \{10,\}' -e '^$' || true; } >&2
    # Each compiled interpreter must find its libraries in both images (the run image has no
    # compiler, and a missing library would only show when an app imports the module).
    for spec in "${cpythons[@]}"; do
      read -r minor _ <<<"$spec"
      docker run --rm --entrypoint /opt/python/"$minor"/bin/python3 "$image" \
        -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, readline, uuid, decimal, pyexpat' >&2 \
        || die "Python $minor does not run in $image: a library it links is missing there"
    done
    # Debian's packages were unpacked, not installed: their library dependencies were not resolved
    # by apt, so every extension module's libraries are looked for; termios alone is known not to
    # load (glibc 2.42's symbols), and must stay the only one, as the buildpack says.
    for spec in "${debian_pythons[@]}"; do
      read -r minor _ <<<"$spec"
      # shellcheck disable=SC2016  # expanded by the image's shell
      docker run --rm --entrypoint /bin/sh "$image" -c 'for f in /usr/lib/python$0/lib-dynload/*.so; do
          case $f in */termios.*) continue ;; esac
          ldd "$f" | grep -q "not found" && { echo "$f:"; ldd "$f" | grep "not found"; }; done; true' "$minor" \
        | grep . >&2 && die "Python $minor's modules above do not load in $image: a library they link is missing there"
      docker run --rm --entrypoint "/usr/bin/python$minor" "$image" -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, readline, uuid, decimal, dbm, zoneinfo, xml.dom.minidom
xml.dom.minidom.parseString("<a/>"); zoneinfo.ZoneInfo("Europe/Paris")
try:
    import termios
except ImportError:
    pass
else:
    raise SystemExit("termios loads now: drop the note in buildpacks/python/bin/build")' >&2 \
        || die "Python $minor does not work as expected in $image (see above)"
      if [ "$kind" = build ]; then
        docker run --rm --entrypoint /bin/sh "$image" -c "python$minor -m venv /tmp/v && /tmp/v/bin/python -m pip --version" >/dev/null \
          || die "python$minor -m venv (with pip) fails in $image"
      fi
    done
    docker push -q "$image" >&2
  done
  rm -rf "$context"
fi

# --- Builder ------------------------------------------------------------------------------------
npm_reg=$(npm_registry)
pip_idx=$(pip_index)
goproxy=$(go_proxy)
maven_repo=$(maven_repository)
builder_tag=$( (echo "$stack_tag $arch $npm_reg $pip_idx $goproxy $(basename "$SLIPWAY_LIFECYCLE_TARBALL")"
  echo "maven $maven_repo"
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
  sed -i -e "s|@MAVEN_REPOSITORY@|$maven_repo|" "$stage/builder.toml"
  log "pack builder create $builder"
  "$SLIPWAY_PACK" builder create "$builder" --config "$stage/builder.toml" --publish \
    --pull-policy if-not-present >&2
fi

echo "export SLIPWAY_BUILDER=$builder"
echo "export SLIPWAY_RUN_IMAGE=$run_image"
