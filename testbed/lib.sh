# Helpers shared by the testbed parts. Everything here logs to stderr; stdout carries exports only.
log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }
# apt_need PKG... installs the Debian packages that are missing (root only).
apt_need() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root)"
  log "apt-get install ${missing[*]}"
  if [ ! -f "$SLIPWAY_CACHE_DIR/.apt-updated" ] || [ -n "$(find "$SLIPWAY_CACHE_DIR/.apt-updated" -mmin +720)" ]; then
    apt-get update -qq >&2 && touch "$SLIPWAY_CACHE_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
# wait_for DESCRIPTION SECONDS CMD... retries CMD until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}
