#!/usr/bin/env bash
# Fetches one CPython release as Debian's own binary packages from a suite newer than the stack's
# (sid), inside a throwaway container of the stack's Debian base (testbed/parts/40-builder.sh
# copies it and the machine's certificate authorities, ca/*.crt, to /tmp first, and copies
# /tmp/out back):
#   debian-python.sh version MINOR SUITE MIRROR            /tmp/out/version: the version of
#                                                          pythonMINOR that the suite has now
#   debian-python.sh download MINOR SUITE VERSION MIRROR   /tmp/out/*.deb: the interpreter's
#                                                          packages at that version
#
# apt downloads them with the suite's signed Release file checked against the base's
# debian-archive-keyring. Only the interpreter's own packages (python3.X-minimal, the standard
# library, venv/ensurepip): the libraries they link are the stack's, installed from its suite.
set -euo pipefail
action=$1 minor=$2 suite=$3 want='' mirror=${*: -1}
[ $# -lt 5 ] || want=$4
say() { printf 'debian-python: %s\n' "$*"; }
packages=("python$minor-minimal" "libpython$minor-minimal" "libpython$minor-stdlib" "python$minor" "python$minor-venv")

# The certificate authorities of the machine (an HTTPS mirror behind a proxy).
if compgen -G '/tmp/ca/*.crt' >/dev/null; then cp /tmp/ca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates >/dev/null; fi
# A private apt configuration that knows only the other suite, so the base's own stays untouched
# and apt cannot mix the two.
apt=/tmp/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$suite" >"$apt/sources.list"
opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::lists=$apt/lists"
  -o "Dir::Cache=$apt/cache" -o "Acquire::Check-Valid-Until=${CHECK_VALID_UNTIL:-true}" -o Acquire::Languages=none)
apt-get "${opts[@]}" update -qq
mkdir -p /tmp/out
if [ "$action" = version ]; then
  apt-cache "${opts[@]}" show --no-all-versions "python$minor-minimal" 2>/dev/null \
    | sed -n 's/^Version: //p' | head -1 >/tmp/out/version
  [ -s /tmp/out/version ] || { say "Debian $suite has no python$minor-minimal"; exit 1; }
  exit 0
fi
[ -n "$want" ] || { say "which version? (debian-python.sh download MINOR SUITE VERSION MIRROR)"; exit 1; }
# apt's downloads run as _apt, which must be able to write there.
chown _apt /tmp/out && cd /tmp/out
apt-get "${opts[@]}" download -qq "${packages[@]/%/=$want}" \
  || { say "Debian $suite no longer has python$minor $want (delete the pointer file to take its current one)"; exit 1; }
say "downloaded $(find . -name "*.deb" | wc -l) packages of python$minor $want from Debian $suite"
