#!/usr/bin/env bash
# Checks lib/semver.awk against expectations taken from node-semver's maxSatisfying.
#   bash buildpacks/nodejs/test/semver.sh      (prints "N passed, N failed"; exit 1 on a failure)
set -uo pipefail
awk_file=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/semver.awk
versions=$'0.0.3\n0.0.4\n0.1.0\n0.2.5\n0.3.0\n1.0.0\n1.2.3\n1.2.9\n1.3.0\n2.0.0-rc.1\n2.0.0\n18.20.8\n20.9.0\n20.20.2\n22.1.0\n22.3.0\n24.21.0\n26.10.0'
pass=0 fail=0
check() { # RANGE EXPECTED [ENGINE INPUT]
  local got
  if [ $# -gt 2 ]; then got=$(printf '%s\n' "$4" | awk -v range="$1" -v engine="$3" -f "$awk_file")
  else got=$(printf '%s\n' "$versions" | awk -v range="$1" -f "$awk_file"); fi
  if [ "$got" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL range [$1]: got [$got], want [$2]"; fi
}
check '' 26.10.0
check '*' 26.10.0
check 'x' 26.10.0
check '24.x' 24.21.0
check '24' 24.21.0
check '>=18' 26.10.0
check '>= 18 <21' 20.20.2
check '^20.1' 20.20.2
check '~22.3' 22.3.0
check '18 || 20' 20.20.2
check '>18.2 <=22.1' 22.1.0
check '16.0.0 - 18' 18.20.8
check '=v22.1.0' 22.1.0
check '^0.0.3' 0.0.3
check '^0.0' 0.0.4
check '^0.2' 0.2.5
check '~1.2' 1.2.9
check '~1.2.4' 1.2.9
check '1.2 - 2' 2.0.0
check '1.2.3 - 1.2.5' 1.2.3
check '<1.2.3' 1.0.0
check '<=1.2' 1.2.9
check '>1.2' 26.10.0
check '~> 1.2' 1.2.9
check '^1.x' 1.3.0
check '0.x || 2' 2.0.0
check '^2.0.0-rc.0' 2.0.0
check '99' ''
check 'lts' ''
check 'foo || 20' ''
# engine mode: the newest version whose engines range accepts the given engine version
tsv=$'10.9.0\t^18.17.0 || >=20.5.0\n11.6.0\t^20.17.0 || >=22.9.0\n12.2.0\t^22.22.2 || ^24.15.0 || >=26.0.0\n9.9.4\t^14.17.0 || ^16.13.0 || >=18.0.0'
check '<12' 11.6.0 24.21.0 "$tsv"
check '' 12.2.0 24.21.0 "$tsv"
check '' 9.9.4 18.0.0 "$tsv"
check '10' '' 18.0.0 "$tsv"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
