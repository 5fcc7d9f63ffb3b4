#!/usr/bin/env bash
# Stops every process the testbed started and keeps every cache and state directory, so that the
# next `bash testbed/up.sh` starts them again as CI does on a machine it was handed (where the
# processes of the session before it were ended):
#   bash testbed/down.sh
# The second node's machine is powered off; the daemons are stopped by their pidfiles (TERM, then
# KILL after 15 s), containerd's shims last, as the end of a session would end them. Logs to
# stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SLIPWAY_CACHE_DIR=${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}
TESTBED_DIR=$SLIPWAY_CACHE_DIR/testbed
say() { printf 'testbed: down: %s\n' "$*" >&2; }

# stop_pid LABEL PID: TERM, then KILL after 15 s.
stop_pid() {
  local label=$1 pid=$2
  kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $label (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
}

bash "$here/node2/machine.sh" poweroff >&2 || say "the second node's machine did not power off cleanly"
# The testbed's own daemons, later parts first (they depend on the earlier ones).
for dir in metrics certs storage netpol node kube; do
  for pidfile in "$TESTBED_DIR/$dir"/run/*.pid; do
    [ -e "$pidfile" ] || continue
    stop_pid "$dir/$(basename "$pidfile" .pid)" "$(cat "$pidfile")"
  done
done
for pidfile in "$TESTBED_DIR/registry/registry.pid" "$TESTBED_DIR/docker/docker.pid"; do
  [ -e "$pidfile" ] || continue
  stop_pid "$(basename "$pidfile" .pid)" "$(cat "$pidfile")"
done
# The containers' shims outlive containerd, and so do the pods' processes (hostNetwork ones hold
# their ports); the end of a session ends them too.
for pid in $(pgrep -f containerd-shim || true); do stop_pid containerd-shim "$pid"; done
for pid in $(find /sys/fs/cgroup -path '*kubepods*' -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un); do
  stop_pid "a pod's process" "$pid"
done
say "stopped; caches kept in $SLIPWAY_CACHE_DIR"
