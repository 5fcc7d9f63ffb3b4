#!/usr/bin/env bash
# OCI registry for the testbed: Debian's docker-registry (the distribution registry binary) run
# directly on 127.0.0.1:5000, storage under the cache dir, deletes enabled (tests and garbage
# collection delete images), and closed as install.sh closes the registry it installs: every
# request (push, pull, delete, catalog) needs the credential (htpasswd basic auth), which only
# Slipway, the node's containerd (60-node.sh) and the testbed's own tools hold.
# Docker, pack and the lifecycle talk plain HTTP to a registry on 127.0.0.0/8 without any
# configuration. SLIPWAY_REGISTRY_ADDR moves it (a second testbed beside the first one).
# Prints: SLIPWAY_REGISTRY, SLIPWAY_REGISTRY_AUTH_FILE (USER:PASSWORD, 0600), DOCKER_CONFIG (the
# docker CLI's and pack's config holding that credential), and the storage GC settings.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

addr=${SLIPWAY_REGISTRY_ADDR:-127.0.0.1:5000}
dir=$TESTBED_DIR/registry
pidfile=$dir/registry.pid

apt_need docker-registry curl apache2-utils openssl
mkdir -p "$dir/storage"

# --- the credential ---------------------------------------------------------------------------------
# One per testbed, kept across runs (as install.sh keeps its own): 256 random bits as hex, so it
# needs no quoting anywhere it is written.
export SLIPWAY_REGISTRY_AUTH_FILE=$dir/auth
if [ ! -s "$SLIPWAY_REGISTRY_AUTH_FILE" ]; then
  (umask 077 && printf 'slipway:%s\n' "$(openssl rand -hex 32)" >"$SLIPWAY_REGISTRY_AUTH_FILE.new")
  mv "$SLIPWAY_REGISTRY_AUTH_FILE.new" "$SLIPWAY_REGISTRY_AUTH_FILE"
  log "registry: new credential in $SLIPWAY_REGISTRY_AUTH_FILE"
fi
IFS=: read -r user password <"$SLIPWAY_REGISTRY_AUTH_FILE"
# The registry's htpasswd, made as install.sh makes it (bcrypt at a low cost: the registry checks
# it on every request, and a random password needs no key stretching); kept while it matches.
if ! printf '%s' "$password" | htpasswd -vi "$dir/htpasswd" "$user" >/dev/null 2>&1; then
  (umask 077 && printf '%s' "$password" | htpasswd -niB -C 5 "$user" >"$dir/htpasswd.new")
  mv "$dir/htpasswd.new" "$dir/htpasswd"
fi
# The docker CLI (the parts push with it) and pack (`pack builder create --publish`) read this.
docker_config=$dir/docker
mkdir -p "$docker_config" && chmod 0700 "$docker_config"
(umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$addr" "$(printf '%s:%s' "$user" "$password" | base64 -w0)" \
  >"$docker_config/config.json.new")
mv "$docker_config/config.json.new" "$docker_config/config.json"

# up: the registry answers with the credential and refuses a request without it.
up() {
  [ "$(registry_curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/")" = 200 ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/")" = 401 ]
}

# Debian's package ships a service with basic auth on :5000; where its init script started it
# (it keeps its pid in /var/run/docker-registry.pid), it holds our port, so stop it.
svc_pid=$(cat /var/run/docker-registry.pid 2>/dev/null || true)
if [ -n "$svc_pid" ] && [ "$(cat "/proc/$svc_pid/comm" 2>/dev/null)" = docker-registry ]; then
  log "stopping Debian's docker-registry service (it holds :5000)"
  /etc/init.d/docker-registry stop >&2 || true
fi

# No blob descriptor cache: after `garbage-collect` (Slipway's GC runs it on this storage) a cached
# descriptor of a deleted blob makes the registry skip that blob's next upload and serve a broken
# image (distribution#1803, #4569). A changed config, or htpasswd (the registry reads it once, at
# start), restarts the registry.
cat >"$dir/config.yml.new" <<CONFIG
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
auth:
  htpasswd:
    realm: slipway-registry
    path: $dir/htpasswd
http:
  addr: $addr
  headers:
    X-Content-Type-Options: [nosniff]
CONFIG
inputs=$(cat "$dir/config.yml.new" "$dir/htpasswd" | sha256sum | cut -c1-16)
if cmp -s "$dir/config.yml.new" "$dir/config.yml" && [ "$(cat "$dir/inputs" 2>/dev/null)" = "$inputs" ]; then
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
  wait_for "registry on $addr, refusing requests without its credential (see $dir/registry.log)" 30 up
fi
echo "$inputs" >"$dir/inputs"

echo "export SLIPWAY_REGISTRY=$addr"
echo "export SLIPWAY_REGISTRY_AUTH_FILE=$SLIPWAY_REGISTRY_AUTH_FILE"
echo "export DOCKER_CONFIG=$docker_config"
# Slipway's storage GC runs the registry's own garbage-collect on this machine, on this config.
echo "export SLIPWAY_REGISTRY_GC_CONFIG=$dir/config.yml"
echo "export SLIPWAY_REGISTRY_BINARY=/usr/bin/docker-registry"
