# shellcheck shell=bash
# Which Python a build uses, sourced by bin/build (and by test/version.sh).
#
# The interpreters are the stack's: Debian's own python3 (/usr/bin/python3), the releases
# 40-builder.sh compiled into /opt/python/X.Y of both stack images, and those it unpacked there from
# a newer Debian suite's packages (/usr/bin/python3.14). The app asks for one the way
# Heroku's Python buildpack reads it, first found wins:
#   runtime.txt           python-3.13.5 (Heroku's older file)
#   .python-version       3.13 or 3.13.5 (pyenv's, uv's and Heroku's; # comments and blank lines
#                         are skipped)
#   pyproject.toml        [project] requires-python, a PEP 440 specifier (">=3.12"): the newest
#                         interpreter that satisfies it (Heroku does not read it; uv does)
# and with none of them gets the newest. A patch release the builder lacks is served by its
# release of that minor version (3.13.1 gets 3.13.5: patch releases of CPython are compatible);
# a minor version it lacks is refused with the versions it has.

# python_candidates prints "X.Y.Z<TAB>PATH" for each interpreter of this image, once per version
# (/usr/bin/python3 and /usr/bin/python3.13 are one).
python_candidates() {
  local p v seen=' '
  for p in /opt/python/*/bin/python3 /usr/bin/python3 /usr/bin/python3.[0-9]*; do
    [[ $p =~ python3(\.[0-9]+)?$ ]] && [ -x "$p" ] || continue
    v=$("$p" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') || continue
    case $seen in *" $v "*) continue ;; esac
    seen+="$v "
    printf '%s\t%s\n' "$v" "$p"
  done
}

# python_choose CANDIDATES (lines as python_candidates prints them), in the app's directory:
# sets py_version, py_path, py_why and py_note (a second line to show, or empty); or sets py_error
# to one sentence saying what is wrong and returns 1.
# shellcheck disable=SC2034  # the py_* variables are its results, read by the caller
python_choose() {
  local candidates=$1 want='' from='' raw spec line have newest minor p
  py_version='' py_path='' py_why='' py_note='' py_error=''
  candidates=$(sort -t. -k1,1n -k2,2n -k3,3n <<<"$candidates")
  # "3.11 and 3.13", "3.11, 3.13 and 3.14": the minor versions there are, for the messages.
  have=$(awk -F'[.\t]' '{ m = $1 "." $2; if (m != last) v[++n] = last = m }
    END { for (i = 1; i <= n; i++) printf "%s%s", v[i], i == n ? "" : i == n - 1 ? " and " : ", " }' <<<"$candidates")
  newest=${candidates##*$'\n'}
  newest=${newest%%$'\t'*}
  if [ -f runtime.txt ]; then
    from=runtime.txt
    raw=$(tr -d '[:space:]' <runtime.txt)
  elif [ -f .python-version ]; then
    from=.python-version
    raw=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' .python-version | grep -v '^$' | head -1 || true)
    if [ -z "$raw" ]; then
      py_error=".python-version has no version in it: write one, e.g. ${newest%.*}"
      return 1
    fi
  elif [ -f pyproject.toml ]; then
    spec=$(python3 -c 'import sys, tomllib
try:
    with open("pyproject.toml", "rb") as f:
        v = tomllib.load(f).get("project", {}).get("requires-python", "")
except tomllib.TOMLDecodeError as e:
    print(f"pyproject.toml is not valid TOML ({e})")
    sys.exit(1)
print(v if isinstance(v, str) else "")') || { py_error=$spec; return 1; }
    if [ -n "$spec" ]; then
      line=$(awk -v spec="$spec" -f "$(dirname "${BASH_SOURCE[0]}")/pep440.awk" <<<"$candidates") || {
        py_error="pyproject.toml's requires-python \"$spec\" is not a version specifier (write e.g. \">=3.12\")"
        return 1
      }
      if [ -z "$line" ]; then
        py_error="pyproject.toml's requires-python \"$spec\" matches none of the Pythons this builder has ($have): pin one in .python-version, or widen requires-python"
        return 1
      fi
      py_version=${line%%$'\t'*} py_path=${line#*$'\t'}
      py_why="the newest that satisfies requires-python $spec in pyproject.toml"
      return 0
    fi
  fi

  if [ -z "$from" ]; then
    line=${candidates##*$'\n'}
    py_version=${line%%$'\t'*} py_path=${line#*$'\t'}
    py_why="the default: the newest this builder has; pin another with .python-version"
    return 0
  fi
  want=$raw
  for p in python- cpython- python; do want=${want#"$p"}; done
  if ! [[ $want =~ ^3(\.[0-9]+(\.[0-9]+)?)?$ ]]; then
    py_error="$from says \"$raw\", which is not a Python version: write one such as ${newest%.*} (this builder has $have)"
    return 1
  fi
  # 3 -> the newest 3.x; 3.13 and 3.13.5 -> the builder's 3.13.
  case $want in *.*.*) minor=${want%.*} ;; *) minor=$want ;; esac
  line=$(awk -F'\t' -v m="$minor" 'index($1 ".", m ".") == 1' <<<"$candidates" | tail -1)
  if [ -z "$line" ]; then
    py_error="$from asks for Python $want, which this builder does not have: it has $have (put one of those in .python-version)"
    return 1
  fi
  py_version=${line%%$'\t'*} py_path=${line#*$'\t'}
  py_why="from $from"
  if [[ $want =~ ^3\.[0-9]+\.[0-9]+$ ]] && [ "$want" != "$py_version" ]; then
    py_note="$from asks for $want; this builder's $minor release is $py_version (patch releases are compatible)"
  fi
  return 0
}
