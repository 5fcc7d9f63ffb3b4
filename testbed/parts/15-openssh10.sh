#!/usr/bin/env bash
# An OpenSSH 10 client for the post-quantum key exchange test: a minimal Debian trixie root
# (debootstrap, openssh-client only) under the cache dir, used as `chroot ROOT ssh …`. The
# machine's own client (Debian 12, OpenSSH 9.2) has no mlkem768x25519-sha256, and OpenSSH 10 is
# not packaged for it; a chroot needs no daemon and leaves the host's packages alone.
# Built once into a temporary directory and moved into place, so an interrupted run never leaves a
# half-made root that looks finished.
set -euo pipefail
# shellcheck source=testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${SLIPWAY_CACHE_DIR:=$HOME/.cache/slipway}"

root=$SLIPWAY_CACHE_DIR/trixie-ssh
suite=trixie

# OpenSSH 10.0 is the first release that prefers mlkem768x25519-sha256.
ready() {
  local v
  v=$(chroot "$root" ssh -V 2>&1) || return 1
  [[ $v =~ ^OpenSSH_([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 10 ]
}

mkdir -p "$SLIPWAY_CACHE_DIR"
# Two testbed runs (other checkouts share the cache) must not debootstrap the same root at once.
exec 7>"$root.lock"
flock -n 7 || { log "openssh10: waiting for another testbed run to finish"; flock 7; }

if [ -d "$root" ] && ready; then
  log "openssh10: reusing $root ($(chroot "$root" ssh -V 2>&1))"
else
  apt_need debootstrap
  rm -rf "$root" "$root".tmp.*
  tmp=$(mktemp -d "$root.tmp.XXXXXX")
  chmod 755 "$tmp" # mktemp makes it 0700; it becomes the chroot's /
  log "openssh10: debootstrap $suite with openssh-client into $tmp (log $tmp.log)"
  if ! debootstrap --variant=minbase --include=openssh-client "$suite" "$tmp" >"$tmp.log" 2>&1; then
    tail -n 20 "$tmp.log" >&2
    die "openssh10: debootstrap failed (log $tmp.log)"
  fi
  mv "$tmp" "$root"
  rm -f "$tmp.log"
  ready || die "openssh10: $root has no OpenSSH 10 client ($(chroot "$root" ssh -V 2>&1 || true))"
  log "openssh10: $(chroot "$root" ssh -V 2>&1) in $root"
fi

echo "export SLIPWAY_TEST_OPENSSH10=$root"
