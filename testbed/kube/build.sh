#!/usr/bin/env bash
# Builds the pinned Kubernetes and etcd binaries from the Go module proxy:
#   bash testbed/kube/build.sh MODULE_DIR OUT_DIR STAMP
# MODULE_DIR is testbed/tools/kube (its go.mod pins the versions and lists the binaries as `tool`s).
# Builds into OUT_DIR.partial, writes BUILD-TIMES (seconds per group, measured here) and
# .stamp=STAMP, then renames it to OUT_DIR, so OUT_DIR only ever holds a complete set.
# Runs for many minutes on a cold Go cache: 50-kube.sh starts it in the background and polls.
set -euo pipefail
mod=${1:?module dir}
out=${2:?out dir}
stamp=${3:?stamp}
cd "$mod"
version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
[ -n "$version" ] || { echo "no k8s.io/kubernetes pin in $mod/go.mod" >&2; exit 1; }
minor=$(echo "$version" | cut -d. -f2)
# Without these the binaries report v0.0.0-master: kubectl and the kubelet would warn about
# version skew, and /version would not say what runs. Module builds carry no git commit.
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ld+=" -X $pkg.gitTreeState=clean"
done
tmp=$out.partial
rm -rf "$tmp"
mkdir -p "$tmp"
echo "go: $(go version)" >"$tmp/BUILD-TIMES"
echo "cores: $(nproc)" >>"$tmp/BUILD-TIMES"
total_start=$SECONDS
# group NAME PKG...: one `go build` per group, so packages the group's binaries share compile once.
group() {
  local name=$1 start=$SECONDS
  shift
  echo "building $name: $*"
  # Builds are niced: the testbed is built on machines that do other work at the same time.
  nice -n 10 go build -trimpath -ldflags "$ld" -o "$tmp/" "$@"
  echo "$name: $((SECONDS - start))s" | tee -a "$tmp/BUILD-TIMES"
}
group etcd go.etcd.io/etcd/server/v3
mv "$tmp/server" "$tmp/etcd"
group control-plane k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
group kubectl k8s.io/kubernetes/cmd/kubectl
group node k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
echo "total: $((SECONDS - total_start))s" | tee -a "$tmp/BUILD-TIMES"
(cd "$tmp" && du -sh -- * | grep -v BUILD-TIMES) >>"$tmp/BUILD-TIMES"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built $version into $out"
