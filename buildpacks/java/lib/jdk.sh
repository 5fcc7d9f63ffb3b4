# shellcheck shell=bash
# Which JDK a Maven app gets (sourced by bin/build and test/jdk.sh; bash, no side effects).
#
# jdk_request: what the app asks for, as "VALUE<TAB>WHERE" (nothing when it asks for nothing):
#   1. system.properties `java.runtime.version` (Heroku's convention; a vendor prefix such as
#      "zulu-" is accepted and ignored: this builder has Debian's OpenJDK only);
#   2. pom.xml's own <properties>: maven.compiler.release, java.version (Spring Boot's),
#      maven.compiler.target, maven.compiler.source, in that order; "${java.version}" resolved.
# jdk_choose VALUE WHERE AVAILABLE...: the feature release to use, or one sentence on stderr and
#   status 1. system.properties names the runtime itself, so its release must be there exactly;
#   a pom names the release the code is compiled for, which a newer javac compiles too (--release),
#   so the oldest JDK at or above it is taken. "1.8" means 8. Nothing asked: the default.

# The feature release used when the app names none: the newest LTS release.
jdk_default=25

# jdk_pom_property FILE NAME: the value of <NAME> in FILE's first <properties> block, trimmed.
jdk_pom_property() {
  awk -v name="$2" '
    /<properties>/ { inside = 1 }
    inside {
      o = "<" name ">"; c = "</" name ">"
      i = index($0, o)
      if (i) {
        rest = substr($0, i + length(o)); j = index(rest, c)
        if (j) { v = substr(rest, 1, j - 1); gsub(/^[ \t]+|[ \t]+$/, "", v); print v; exit }
      }
    }
    /<\/properties>/ { if (inside) exit }
  ' "$1"
}

# jdk_request [DIR]: prints "VALUE<TAB>WHERE" for what the app in DIR asks for, or nothing.
jdk_request() {
  local dir=${1:-.} v name
  if [ -f "$dir/system.properties" ]; then
    v=$(sed -n 's/^[[:space:]]*java\.runtime\.version[[:space:]]*[=:][[:space:]]*//p' "$dir/system.properties" \
      | tr -d '\r' | sed 's/[[:space:]]*$//' | head -1)
    if [ -n "$v" ]; then printf '%s\tsystem.properties\n' "$v"; return 0; fi
  fi
  [ -f "$dir/pom.xml" ] || return 0
  for name in maven.compiler.release java.version maven.compiler.target maven.compiler.source; do
    v=$(jdk_pom_property "$dir/pom.xml" "$name")
    if [ "$v" = '${java.version}' ]; then v=$(jdk_pom_property "$dir/pom.xml" java.version); fi
    if [ -n "$v" ] && [[ $v != *'$'* ]]; then printf '%s\tpom.xml'"'"'s %s\n' "$v" "$name"; return 0; fi
  done
}

# jdk_list A B C: "A, B and C".
jdk_list() {
  local out='' i
  for ((i = 1; i <= $#; i++)); do
    if [ "$i" -eq 1 ]; then out=${!i}
    elif [ "$i" -eq $# ]; then out="$out and ${!i}"
    else out="$out, ${!i}"; fi
  done
  printf '%s' "$out"
}

# jdk_choose VALUE WHERE AVAILABLE...: prints the feature release to use (see the top).
jdk_choose() {
  local value=$1 where=$2 major a
  shift 2
  if [ -z "$value" ]; then printf '%s\n' "$jdk_default"; return 0; fi
  # "zulu-21", "openjdk-21.0.2": the vendor is not a choice here.
  major=${value#"${value%%[0-9]*}"}
  if [[ $major =~ ^1\.([0-9]+)(\.|_|$) ]]; then major=${BASH_REMATCH[1]}
  elif [[ $major =~ ^([0-9]+)([.+_-]|$) ]]; then major=${BASH_REMATCH[1]}
  else
    printf '%s asks for Java "%s", which is not a Java version: use one of %s (e.g. java.runtime.version=%s)\n' \
      "$where" "$value" "$(jdk_list "$@")" "$jdk_default" >&2
    return 1
  fi
  major=$((10#$major))
  if [ "$where" = system.properties ]; then
    for a in "$@"; do
      if [ "$a" = "$major" ]; then printf '%s\n' "$major"; return 0; fi
    done
    printf 'system.properties asks for Java %s, which this builder does not have: it has %s (set java.runtime.version to one of them)\n' \
      "$value" "$(jdk_list "$@")" >&2
    return 1
  fi
  for a in "$@"; do
    if [ "$a" -ge "$major" ]; then printf '%s\n' "$a"; return 0; fi
  done
  printf '%s asks for Java %s, newer than this builder has: it has %s\n' "$where" "$value" "$(jdk_list "$@")" >&2
  return 1
}
