#!/usr/bin/env bash
# OCI registry for the testbed: Debian's docker-registry (the distribution registry binary) run
# directly on 127.0.0.1:5000, storage under the cache dir, deletes enabled (tests and garbage collection delete images).
# Docker, pack and the lifecycle talk plain HTTP to a registry on 127.0.0.0/8 without any
# configuration. SLIPWAY_REGISTRY_ADDR moves it (a second testbed beside the first one).
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

addr=${SLIPWAY_REGISTRY_ADDR:-127.0.0.1:5000}
dir=$TESTBED_DIR/registry
pidfile=$dir/registry.pid

up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/")" = 200 ]; }

apt_need docker-registry curl
mkdir -p "$dir/storage"

# Debian's package ships a service with basic auth on :5000; where its init script started it
# (it keeps its pid in /var/run/docker-registry.pid), it holds our port, so stop it.
svc_pid=$(cat /var/run/docker-registry.pid 2>/dev/null || true)
if [ -n "$svc_pid" ] && [ "$(cat "/proc/$svc_pid/comm" 2>/dev/null)" = docker-registry ]; then
  log "stopping Debian's docker-registry service (it holds :5000)"
  /etc/init.d/docker-registry stop >&2 || true
fi

# No blob descriptor cache: after `garbage-collect` (Slipway's GC runs it on this storage) a cached
# descriptor of a deleted blob makes the registry skip that blob's next upload and serve a broken
# image (distribution#1803, #4569). A changed config restarts the registry.
cat >"$dir/config.yml.new" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: $addr
  headers:
    X-Content-Type-Options: [nosniff]
EOF
if cmp -s "$dir/config.yml.new" "$dir/config.yml"; then
  rm "$dir/config.yml.new"
else
  mv "$dir/config.yml.new" "$dir/config.yml"
  old_pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$old_pid" ] && [ "$(cat "/proc/$old_pid/comm" 2>/dev/null)" = docker-registry ]; then
    log "registry config changed: restarting the registry on $addr"
    kill "$old_pid"
    for _ in $(seq 50); do [ -e "/proc/$old_pid" ] || break; sleep 0.1; done
  fi
fi

if up; then
  log "registry already running on $addr"
else
  log "starting docker-registry on $addr (log: $dir/registry.log)"
  setsid /usr/bin/docker-registry serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "registry on $addr (see $dir/registry.log)" 30 up
fi

echo "export SLIPWAY_REGISTRY=$addr"
# Slipway's storage GC runs the registry's own garbage-collect on this machine, on this config.
echo "export SLIPWAY_REGISTRY_GC_CONFIG=$dir/config.yml"
echo "export SLIPWAY_REGISTRY_BINARY=/usr/bin/docker-registry"
