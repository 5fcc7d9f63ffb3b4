#!/usr/bin/env bash
# Checks lib/version.sh (which Python a build gets, and what it says) and lib/pep440.awk against
# expectations written from Heroku's documented precedence and PEP 440's specifier rules (the
# specifier table agrees with the packaging library's SpecifierSet).
#   bash buildpacks/python/test/version.sh      (prints "N passed, N failed"; exit 1 on a failure)
set -uo pipefail
lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)
# shellcheck source=buildpacks/python/lib/version.sh
. "$lib/version.sh"
two=$'3.13.5\t/usr/bin/python3\n3.11.2\t/opt/python/3.11/bin/python3'
three=$'3.11.2\t/opt/python/3.11/bin/python3\n3.14.2\t/usr/bin/python3.14\n3.13.5\t/usr/bin/python3'
pass=0 fail=0
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT

# check CANDIDATES EXPECTED FILE=CONTENT...: EXPECTED is "VERSION PATH | WHY[ | NOTE]" or the refusal.
check() {
  local candidates=$1 want=$2 got f
  shift 2
  rm -rf "$app" && mkdir -p "$app"
  for f in "$@"; do printf '%b' "${f#*=}" >"$app/${f%%=*}"; done
  got=$(cd "$app" && if python_choose "$candidates"; then
    printf '%s %s | %s' "$py_version" "$py_path" "$py_why"; [ -z "$py_note" ] || printf ' | %s' "$py_note"
  else printf '%s' "$py_error"; fi)
  if [ "$got" = "$want" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL [%s]\n  got  [%s]\n  want [%s]\n' "$*" "$got" "$want"; fi
}

# No version file: the newest.
check "$two" '3.13.5 /usr/bin/python3 | the default: the newest this builder has; pin another with .python-version'
check "$three" '3.14.2 /usr/bin/python3.14 | the default: the newest this builder has; pin another with .python-version'
# .python-version: minor, exact, major; comments and blank lines.
check "$two" '3.11.2 /opt/python/3.11/bin/python3 | from .python-version' '.python-version=3.11\n'
check "$two" '3.13.5 /usr/bin/python3 | from .python-version' '.python-version=# The Python version to use.\n\n3.13\n'
check "$two" '3.13.5 /usr/bin/python3 | from .python-version' '.python-version=3.13.5'
check "$two" "3.13.5 /usr/bin/python3 | from .python-version | .python-version asks for 3.13.1; this builder's 3.13 release is 3.13.5 (patch releases are compatible)" '.python-version=3.13.1\n'
check "$three" '3.14.2 /usr/bin/python3.14 | from .python-version' '.python-version=3\n'
check "$three" '3.14.2 /usr/bin/python3.14 | from .python-version' '.python-version=  3.14  \n'
# A minor version the builder lacks, and things that are no version: one sentence.
check "$two" '.python-version asks for Python 3.12, which this builder does not have: it has 3.11 and 3.13 (put one of those in .python-version)' '.python-version=3.12\n'
check "$two" '.python-version asks for Python 3.14, which this builder does not have: it has 3.11 and 3.13 (put one of those in .python-version)' '.python-version=3.14\n'
check "$three" '.python-version asks for Python 3.12.7, which this builder does not have: it has 3.11, 3.13 and 3.14 (put one of those in .python-version)' '.python-version=3.12.7\n'
check "$two" '.python-version says "pypy3.10", which is not a Python version: write one such as 3.13 (this builder has 3.11 and 3.13)' '.python-version=pypy3.10\n'
check "$two" '.python-version asks for Python 3.1, which this builder does not have: it has 3.11 and 3.13 (put one of those in .python-version)' '.python-version=3.1\n'
check "$two" '.python-version has no version in it: write one, e.g. 3.13' '.python-version=# nothing\n'
# runtime.txt (Heroku's format) comes before .python-version, as on Heroku.
check "$two" "3.13.5 /usr/bin/python3 | from runtime.txt | runtime.txt asks for 3.13.1; this builder's 3.13 release is 3.13.5 (patch releases are compatible)" 'runtime.txt=python-3.13.1\n'
check "$two" '3.11.2 /opt/python/3.11/bin/python3 | from runtime.txt' 'runtime.txt=python-3.11.2' '.python-version=3.13'
check "$two" 'runtime.txt asks for Python 3.12.4, which this builder does not have: it has 3.11 and 3.13 (put one of those in .python-version)' 'runtime.txt=python-3.12.4\n'
# requires-python: only without the two files; the newest that satisfies it.
check "$three" '3.14.2 /usr/bin/python3.14 | the newest that satisfies requires-python >=3.12 in pyproject.toml' 'pyproject.toml=[project]\nname = "a"\nrequires-python = ">=3.12"\n'
check "$two" '3.13.5 /usr/bin/python3 | the newest that satisfies requires-python >=3.12 in pyproject.toml' 'pyproject.toml=[project]\nname = "a"\nrequires-python = ">=3.12"\n'
check "$three" '3.13.5 /usr/bin/python3 | the newest that satisfies requires-python >=3.10, <3.14 in pyproject.toml' 'pyproject.toml=[project]\nrequires-python = ">=3.10, <3.14"\n'
check "$three" '3.11.2 /opt/python/3.11/bin/python3 | from .python-version' 'pyproject.toml=[project]\nrequires-python = ">=3.12"\n' '.python-version=3.11'
check "$three" '3.14.2 /usr/bin/python3.14 | the default: the newest this builder has; pin another with .python-version' 'pyproject.toml=[tool.black]\nline-length = 100\n'
check "$two" "pyproject.toml's requires-python \">=3.14\" matches none of the Pythons this builder has (3.11 and 3.13): pin one in .python-version, or widen requires-python" 'pyproject.toml=[project]\nrequires-python = ">=3.14"\n'
check "$two" "pyproject.toml's requires-python \"3.12\" is not a version specifier (write e.g. \">=3.12\")" 'pyproject.toml=[project]\nrequires-python = "3.12"\n'

# pep440.awk on its own: the specifier forms requires-python uses.
spec() { # SPEC EXPECTED
  local got
  got=$(printf '3.9.18\n3.10.14\n3.11.2\n3.12.9\n3.13.5\n3.14.2\n' | awk -v spec="$1" -f "$lib/pep440.awk")
  if [ "$got" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL spec [%s]: got [%s], want [%s]\n' "$1" "$got" "$2"; fi
}
spec '' 3.14.2
spec '>=3.12' 3.14.2
spec '>=3.9,<3.13' 3.12.9
spec '<3.13' 3.12.9
spec '<=3.13' 3.12.9
spec '<=3.13.5' 3.13.5
spec '>3.14' 3.14.2
spec '>3.14.2' ''
spec '~=3.11' 3.14.2
spec '~=3.11.0' 3.11.2
spec '~=3.11.5' ''
spec '==3.13.*' 3.13.5
spec '==3.13' ''
spec '==3.13.5' 3.13.5
spec '===3.13.5' 3.13.5
spec '!=3.14.*' 3.13.5
spec '>=3.10, !=3.13.*, <3.14' 3.12.9
spec '>=3.12.0rc1' 3.14.2
spec '>= 3.11 , < 3.12' 3.11.2
spec 'python>=3' invalid
spec '>=3.*' invalid
spec '~=3' invalid

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
