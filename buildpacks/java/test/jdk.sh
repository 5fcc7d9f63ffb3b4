#!/usr/bin/env bash
# Checks lib/jdk.sh: what an app asks for (system.properties, pom.xml) and which JDK it gets.
#   bash buildpacks/java/test/jdk.sh      (prints "N passed, N failed"; exit 1 on a failure)
set -uo pipefail
# shellcheck source=buildpacks/java/lib/jdk.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/jdk.sh"
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s: got [%s], want [%s]\n' "$1" "$2" "$3"; fi; }

# request FILES...: jdk_request over a directory holding NAME=CONTENT pairs.
request() {
  rm -rf "$tmp/app" && mkdir "$tmp/app"
  while [ $# -gt 0 ]; do printf '%s' "${1#*=}" >"$tmp/app/${1%%=*}"; shift; done
  jdk_request "$tmp/app"
}
# choose VALUE WHERE EXPECTED: jdk_choose against this builder's three releases; EXPECTED is the
# release, or "! sentence" for a refusal.
choose() {
  local got
  if got=$(jdk_choose "$1" "$2" 17 21 25 2>&1); then :; else got="! $got"; fi
  ok "choose [$1] from $2" "$got" "$3"
}
tab=$'\t'
pom() { printf '<project>\n  <parent><version>4.1.2</version></parent>\n  <properties>\n%s\n  </properties>\n  <profiles><profile><properties><java.version>8</java.version></properties></profile></profiles>\n</project>\n' "$1"; }

ok 'nothing' "$(request README=hi)" ''
ok 'system.properties' "$(request 'system.properties=java.runtime.version=21')" "21${tab}system.properties"
ok 'system.properties, spaces and CRLF' "$(request $'system.properties=# pinned\r\njava.runtime.version = 17 \r\nmaven.version=3.9.9\r\n')" "17${tab}system.properties"
ok 'system.properties with a colon' "$(request 'system.properties=java.runtime.version: 25')" "25${tab}system.properties"
ok 'system.properties wins over pom.xml' "$(request 'system.properties=java.runtime.version=25' "pom.xml=$(pom '<java.version>17</java.version>')")" "25${tab}system.properties"
ok 'system.properties without the key' "$(request 'system.properties=maven.version=3.9.9' "pom.xml=$(pom '<java.version>17</java.version>')")" "17${tab}pom.xml's java.version"
ok 'java.version (Spring Boot)' "$(request "pom.xml=$(pom '    <java.version>21</java.version>')")" "21${tab}pom.xml's java.version"
ok 'maven.compiler.release first' "$(request "pom.xml=$(pom '<java.version>17</java.version><maven.compiler.release>21</maven.compiler.release>')")" "21${tab}pom.xml's maven.compiler.release"
ok 'release refers to java.version' "$(request "pom.xml=$(pom '<maven.compiler.release>${java.version}</maven.compiler.release>
<java.version>17</java.version>')")" "17${tab}pom.xml's maven.compiler.release"
ok 'source and target' "$(request "pom.xml=$(pom '<maven.compiler.source>1.8</maven.compiler.source>
<maven.compiler.target>11</maven.compiler.target>')")" "11${tab}pom.xml's maven.compiler.target"
ok 'an unresolved property is no answer' "$(request "pom.xml=$(pom '<maven.compiler.release>${jdk}</maven.compiler.release>')")" ''
ok 'only the first properties block' "$(request "pom.xml=$(pom '<project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>')")" ''

choose '' '' 25
choose 21 system.properties 21
choose 17 system.properties 17
choose 25 system.properties 25
choose 17.0.9 system.properties 17
choose 21.0.2+13 system.properties 21
choose zulu-21 system.properties 21
choose heroku-17 system.properties 17
choose 1.8 system.properties '! system.properties asks for Java 1.8, which this builder does not have: it has 17, 21 and 25 (set java.runtime.version to one of them)'
choose 11 system.properties '! system.properties asks for Java 11, which this builder does not have: it has 17, 21 and 25 (set java.runtime.version to one of them)'
choose 23 system.properties '! system.properties asks for Java 23, which this builder does not have: it has 17, 21 and 25 (set java.runtime.version to one of them)'
choose latest system.properties '! system.properties asks for Java "latest", which is not a Java version: use one of 17, 21 and 25 (e.g. java.runtime.version=25)'
choose 17 "pom.xml's java.version" 17
choose 1.8 "pom.xml's maven.compiler.source" 17
choose 11 "pom.xml's maven.compiler.target" 17
choose 22 "pom.xml's maven.compiler.release" 25
choose 25 "pom.xml's java.version" 25
choose 26 "pom.xml's java.version" "! pom.xml's java.version asks for Java 26, newer than this builder has: it has 17, 21 and 25"
ok 'one release' "$(jdk_list 21)" 21
ok 'two releases' "$(jdk_list 17 21)" '17 and 21'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
