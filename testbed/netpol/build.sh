#!/usr/bin/env bash
# Builds the testbed's NetworkPolicy enforcer from testbed/tools/netpol (the pin in its go.mod):
#   bash testbed/netpol/build.sh MODULE_DIR OUT_DIR STAMP
# kube-router, run with only its network policy controller (the one k3s embeds). Builds into
# OUT_DIR.partial, writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only
# ever holds a complete build. Minutes on a cold Go cache: 62-netpol.sh runs it in the background.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' github.com/cloudnativelabs/kube-router/v2)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building kube-router $version"
# Without -X the binary reports no version; -buildvcs=false keeps the checkout's commit out of it.
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$version" \
  -o "$tmp/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
echo "kube-router: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh kube-router) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built kube-router $version into $out"
