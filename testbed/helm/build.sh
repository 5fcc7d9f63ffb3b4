#!/usr/bin/env bash
# Builds the testbed's Helm from testbed/tools/helm (the pin in its go.mod) and fetches the Traefik
# chart k3s installs (the pin below, from the Go module proxy: the chart's repository has no Go
# code, so the proxy serves it as a `+incompatible` module, checked against the checksum database):
#   bash testbed/helm/build.sh MODULE_DIR OUT_DIR STAMP
# OUT_DIR gets `helm` and `traefik-chart/` (the chart's folder). Builds into OUT_DIR.partial, writes
# BUILD-TIMES and .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only ever holds a complete build.
set -euo pipefail
# k3s v1.34's bundled chart is Traefik's 37.1 line (Traefik v3.5); the proxy has its 37.1.1.
chart=github.com/traefik/traefik-helm-chart@v37.1.1+incompatible
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
{ echo "go: $(go version)"; echo "cores: $(nproc)"; } >"$tmp/BUILD-TIMES"
start=$SECONDS
echo "building helm $version"
CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
  -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
echo "helm: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
dir=$(go mod download -json "$chart" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$dir/traefik/Chart.yaml" ] || { echo "no traefik/Chart.yaml in $chart ($dir)" >&2; exit 1; }
cp -a "$dir/traefik" "$tmp/traefik-chart"
chmod -R u+w "$tmp/traefik-chart"
echo "chart: $chart" >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built helm $version and fetched $chart into $out"
