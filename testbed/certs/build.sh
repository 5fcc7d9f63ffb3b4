#!/usr/bin/env bash
# Builds the testbed's certificate programs from testbed/tools/certs and testbed/tools/pebble:
#   bash testbed/certs/build.sh TOOLS_DIR OUT_DIR STAMP
# pebble and pebble-challtestsrv (the ACME CA and its DNS server), acmesolver (static, the HTTP-01
# solver image's only file) and cert-manager (the controller). Builds into OUT_DIR.partial, writes
# BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR (see testbed/node/build.sh). The
# controller takes many minutes on a cold Go cache: 65-certs.sh runs this in the background.
set -euo pipefail
tools=${1:?tools dir}
out=${2:?out dir}
stamp=${3:?stamp}
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
cm_version=$(cd "$tools/certs" && go list -m -f '{{.Version}}' github.com/cert-manager/cert-manager)
# step NAME DIR ARGS...: go build ARGS in DIR, timed.
step() {
  local name=$1 dir=$2 start=$SECONDS
  shift 2
  echo "building $name"
  (cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false "$@")
  echo "$name: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
}
step pebble "$tools/pebble" -ldflags "-s -w" -o "$tmp/" github.com/letsencrypt/pebble/v2/cmd/pebble github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv
step acmesolver "$tools/certs" -ldflags "-s -w" -o "$tmp/acmesolver" ./acmesolver
# Without -X the controller reports version "canary" (and puts it in its user agent).
step cert-manager "$tools/certs" -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$cm_version" \
  -o "$tmp/cert-manager" ./controller
(cd "$tmp" && du -sh pebble pebble-challtestsrv acmesolver cert-manager) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built pebble, acmesolver and cert-manager $cm_version into $out"
