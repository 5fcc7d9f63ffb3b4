#!/usr/bin/env bash
# Docker engine for the testbed: Debian's docker.io, started by hand with its own socket, data
# and state under the cache dir, so it never touches a system Docker (or needs systemd).
#
# Settings that work on this VM (cgroup v1, ext4, no systemd):
#   --storage-driver overlay2   ext4 supports overlayfs; vfs would copy every layer.
#   --bridge none --iptables=false --ip-masq=false
#                               No docker0 bridge and no iptables rules: Docker's rules set the
#                               FORWARD policy to DROP, which would break the k3s pod network on
#                               the same host. Every container the testbed runs uses
#                               `--network host` instead (pack build --network host,
#                               docker build --network host).
#   cgroupfs driver (default)   systemd is not running, so the systemd cgroup driver can't work.
# dockerd starts its own containerd under --exec-root.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

dir=$TESTBED_DIR/docker
sock=$dir/docker.sock
pidfile=$dir/docker.pid
export DOCKER_HOST=unix://$sock

answering() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_need docker.io
mkdir -p "$dir/data" "$dir/exec"

if answering; then
  log "dockerd already running ($sock)"
else
  # A pidfile left by a dead daemon (or one whose pid now belongs to another program) makes
  # dockerd refuse to start.
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
      log "dockerd (pid $pid) is running but not answering; waiting for it"
      wait_for "dockerd on $sock" 60 answering
    else
      rm -f "$pidfile" "$sock"
    fi
  fi
fi

if ! answering; then
  log "starting dockerd (log: $dir/dockerd.log)"
  setsid /usr/sbin/dockerd \
    --host "$DOCKER_HOST" \
    --data-root "$dir/data" \
    --exec-root "$dir/exec" \
    --pidfile "$pidfile" \
    --storage-driver overlay2 \
    --bridge none --iptables=false --ip-masq=false \
    </dev/null >>"$dir/dockerd.log" 2>&1 &
  wait_for "dockerd on $sock (see $dir/dockerd.log)" 90 answering
  log "dockerd $(docker version --format '{{.Server.Version}}') up"
fi

echo "export DOCKER_HOST=$DOCKER_HOST"
