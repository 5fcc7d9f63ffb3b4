#!/usr/bin/env bash
# Builds Slipway's log collector with the OpenTelemetry Collector Builder (ocb), both pinned in
# testbed/tools/collector (go.mod pins ocb, manifest.yaml the components, one release):
#   bash testbed/collector/build.sh MODULE_DIR OUT_DIR STAMP
# One static binary, slipway-collector, the only file of the image 47-collector.sh pushes. Builds
# into OUT_DIR.partial, writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR
# only ever holds a complete build.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' go.opentelemetry.io/collector/cmd/builder)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp/src"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building ocb $version"
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -o "$tmp/ocb" go.opentelemetry.io/collector/cmd/builder
echo "ocb: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
# Our own exporter (Heroku's HTTPS drains) is a local module beside the image's Dockerfile.
logplex=$(cd ../../../images/collector/logplexexporter && pwd)
sed -e "s|@OUT@|$tmp/src|" -e "s|@LOGPLEX@|$logplex|" manifest.yaml >"$tmp/manifest.yaml"
start=$SECONDS
echo "building slipway-collector (ocb $version)"
# ocb writes the collector's main package into src/ and compiles it there; -s -w keeps the image small.
CGO_ENABLED=0 nice -n 10 "$tmp/ocb" --config "$tmp/manifest.yaml" --ldflags "-s -w" >&2
mv "$tmp/src/slipway-collector" "$tmp/slipway-collector"
echo "slipway-collector: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh slipway-collector) >>"$tmp/BUILD-TIMES"
rm -rf "$tmp/src" "$tmp/ocb"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built slipway-collector (ocb $version) into $out"
