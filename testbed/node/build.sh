#!/usr/bin/env bash
# Builds the node's own programs from testbed/tools/node (the pins in its go.mod):
#   bash testbed/node/build.sh MODULE_DIR OUT_DIR STAMP
# pause (static, the pod sandbox image's only file), traefik (the ingress controller) and coredns
# (the cluster DNS, from the nested module dns/). Builds
# into OUT_DIR.partial, writes BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR
# only ever holds a complete set. Takes minutes on a cold Go cache: 60-node.sh runs it in the
# background and polls.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
traefik_version=$(go list -m -f '{{.Version}}' github.com/traefik/traefik/v3)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
# -buildvcs=false: the binaries do not embed the checkout's commit, so an unchanged program builds
# byte for byte the same (the sandbox image's tag is the pause binary's hash).
start=$SECONDS
echo "building pause"
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$tmp/pause" ./pause
echo "pause: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
start=$SECONDS
echo "building traefik $traefik_version"
# Without -X the binary reports version "dev".
nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${traefik_version#v}" \
  -o "$tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik
echo "traefik: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
start=$SECONDS
coredns_version=$(cd dns && go list -m -f '{{.Version}}' github.com/coredns/coredns)
echo "building coredns $coredns_version"
(cd dns && CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$tmp/coredns" .)
echo "coredns: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh pause traefik coredns) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built pause, traefik $traefik_version and coredns $coredns_version into $out"
