#!/usr/bin/env bash
# Builds the testbed's volume provisioner from testbed/tools/storage (the pin in its go.mod):
#   bash testbed/storage/build.sh MODULE_DIR OUT_DIR STAMP
# Rancher's local-path-provisioner, the one k3s ships as its default StorageClass. Builds into
# OUT_DIR.partial, writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only
# ever holds a complete build.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' github.com/rancher/local-path-provisioner)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building local-path-provisioner $version"
# main.VERSION is what `--version` prints (its default is 0.0.1).
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.VERSION=$version" \
  -o "$tmp/local-path-provisioner" github.com/rancher/local-path-provisioner
echo "local-path-provisioner: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh local-path-provisioner) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built local-path-provisioner $version into $out"
