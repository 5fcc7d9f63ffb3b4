#!/usr/bin/env bash
# Builds the testbed's metrics-server from testbed/tools/metrics (the pin in its go.mod):
#   bash testbed/metrics/build.sh MODULE_DIR OUT_DIR STAMP
# One static binary, the only file of the image 66-metrics.sh pushes. Builds into OUT_DIR.partial,
# writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only ever holds a
# complete build.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' sigs.k8s.io/metrics-server)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building metrics-server $version"
# Without -X it reports version v0.0.0 (in /version and its user agent).
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$version" \
  -o "$tmp/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server
echo "metrics-server: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh metrics-server) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built metrics-server $version into $out"
