#!/usr/bin/env bash
# Builds the testbed's S3-compatible endpoint from testbed/tools/s3 (the pin in its go.mod):
#   bash testbed/s3/build.sh MODULE_DIR OUT_DIR STAMP
# One static binary, versitygw, which 69-s3.sh runs on loopback. Builds into OUT_DIR.partial,
# writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only ever holds a
# complete build.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' github.com/versity/versitygw)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building versitygw $version"
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w" \
  -o "$tmp/versitygw" github.com/versity/versitygw/cmd/versitygw
echo "versitygw: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh versitygw) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built versitygw $version into $out"
