#!/usr/bin/env bash
# Compiles one CPython release for the stack inside a throwaway container of the stack's Debian
# base (testbed/parts/40-builder.sh copies it and the machine's certificate authorities, ca/*.crt,
# to /tmp first, and copies /tmp/out back):
#   cpython.sh version MINOR PACKAGE SUITE MIRROR   /tmp/out/version: the Debian source version
#                                                   the suite has now
#   cpython.sh build MINOR PACKAGE SUITE MIRROR     that and /tmp/out/cpython.tar.gz, the
#                                                   interpreter in MINOR/, to unpack in /opt/python
#
# The source is the upstream tarball inside Debian's source package (`apt-get source`, which
# checks it against the suite's signed Release file): Debian packages every CPython release it
# ships, and its mirror is reachable where python.org is not. Of Debian's own patches only the
# ones after the first CVE fix in debian/patches/series are applied: those are the security fixes
# and upstream backports of a stable release (bookworm's 3.11.2 has years of them); the ones
# before adapt CPython to Debian's own file layout, which an interpreter under /opt must not have.
#
# Built without PGO/LTO (minutes instead of most of an hour on 2 cores), statically linked
# (no libpython to find at run time), stripped, without its test suite. The modules apps expect
# are checked at the end (ssl, sqlite3, ctypes, zlib, bz2, lzma, readline, uuid, decimal, pyexpat,
# and a venv with pip): a missing -dev package fails the build instead of shipping a lame interpreter.
set -euo pipefail
action=$1 minor=$2 package=$3 suite=$4 mirror=$5
prefix=/opt/python/$minor
say() { printf 'cpython: %s\n' "$*"; }

export DEBIAN_FRONTEND=noninteractive
# The certificate authorities of the machine (an HTTPS mirror or package index behind a proxy).
if compgen -G '/tmp/ca/*.crt' >/dev/null; then cp /tmp/ca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates >/dev/null; fi
# The machine's own choice for a Release file past its Valid-Until date (a mirror that serves a
# dated snapshot of sid needs it off; the signatures are checked either way).
if [ "${CHECK_VALID_UNTIL:-true}" = false ]; then echo 'Acquire::Check-Valid-Until "false";' >/etc/apt/apt.conf.d/90cpython; fi
printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$suite" \
  >/etc/apt/sources.list.d/cpython-src.list
apt-get update -qq
mkdir -p /tmp/out
apt-cache showsrc --only-source "$package" | awk -v suite="$suite" '/^Version:/ { print $2 }' | sort -V | tail -1 >/tmp/out/version
[ -s /tmp/out/version ] || { say "Debian $suite has no source package $package"; exit 1; }
[ "$action" = build ] || exit 0
# Compiler, and the -dev package of every library an extension module of the list above links.
apt-get install -y -qq --no-install-recommends \
  gcc make pkg-config patch xz-utils libc6-dev libssl-dev libsqlite3-dev libffi-dev zlib1g-dev \
  libbz2-dev liblzma-dev libreadline-dev libncurses-dev uuid-dev libzstd-dev libcrypt-dev

work=/tmp/cpython
mkdir -p "$work" && cd "$work"
apt-get source --download-only "$package/$suite"
dsc=$(ls ./*.dsc)
version=$(sed -n 's/^Version: //p' "$dsc")
say "$package $version ($suite)"
orig=
for f in ./*.orig.tar.*; do case $f in *.asc) ;; *) orig=$f ;; esac; done
tar -xf "$orig"
src=$(find . -mindepth 1 -maxdepth 1 -type d -name 'Python-*' | head -1)
[ -n "$src" ] || { say "no Python-* directory in $orig"; exit 1; }
if debian=$(ls ./*.debian.tar.* 2>/dev/null); then
  tar -xf "$debian"
  if [ -f debian/patches/series ]; then
    n=0
    while read -r p _; do
      patch -d "$src" -p1 -s -N <"debian/patches/$p" || { say "Debian's $p does not apply"; exit 1; }
      n=$((n + 1))
    done < <(sed -n '/^CVE-/,$p' debian/patches/series | grep -v -e '^#' -e '^[[:space:]]*$')
    say "applied $n of Debian's security and backported patches"
  fi
fi
# A backported fix may include an internal header in pyexpat.c (bookworm's CVE-2026-4224 patch
# does): Debian links pyexpat into the interpreter, where that compiles; built as a shared module,
# as here, it needs the define that later upstream releases of the branch put at its top.
if grep -q '#include "pycore_' "$src/Modules/pyexpat.c" && ! grep -q 'Py_BUILD_CORE_MODULE' "$src/Modules/pyexpat.c"; then
  sed -i '1i #ifndef Py_BUILD_CORE_BUILTIN\n#  define Py_BUILD_CORE_MODULE 1\n#endif' "$src/Modules/pyexpat.c"
fi

cd "$src"
started=$SECONDS
./configure --prefix="$prefix" --with-ensurepip=no --without-system-libmpdec >/dev/null
make -j"$(nproc)" >/dev/null 2>"$work/make.log" || { tail -40 "$work/make.log"; exit 1; }
make install >/dev/null 2>>"$work/make.log" || { tail -40 "$work/make.log"; exit 1; }
say "compiled in $((SECONDS - started))s"

# Neither the test suite nor the GUI and demo modules (no Tk here), nor the static library
# (only for embedding Python in another program), nor debug symbols.
lib=$prefix/lib/python$minor
rm -rf "$lib/test" "$lib/idlelib" "$lib/tkinter" "$lib/turtledemo" "$lib/turtle.py" "$lib/lib2to3/tests" \
  "$lib"/config-"$minor"*/libpython"$minor"*.a
find "$lib" -name '*.opt-[12].pyc' -delete
find "$prefix" -type f \( -name '*.so' -o -path "$prefix/bin/python$minor" \) -exec strip --strip-unneeded {} +
printf '%s %s (Debian %s)\n' "$package" "$version" "$suite" >"$prefix/SOURCE"

py=$prefix/bin/python$minor
"$py" -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, readline, uuid, _uuid, decimal, hashlib, pyexpat, _elementtree, venv, ensurepip'
"$py" -m venv /tmp/venv-check
/tmp/venv-check/bin/python -m pip --version
say "$("$py" -c 'import sys; print(sys.version.split()[0])') in $prefix: $(du -sm "$prefix" | cut -f1) MB"
tar -C /opt/python -czf /tmp/out/cpython.tar.gz "$minor"
printf '%s\n' "$version" >/tmp/out/version  # what apt-get source fetched, if the suite moved on meanwhile
