#!/usr/bin/env bash
# A fresh Debian 12 server to run install.sh on, as a systemd-nspawn machine (nested KVM does not
# work here; a booted nspawn container has its own systemd, journal, users and file system).
#   machine.sh image            debootstrap the root file system once (cached, see below)
#   machine.sh boot NAME        a new machine from the image (or the existing one), booted to multi-user
#   machine.sh exec NAME CMD…   run a command inside it as root (nsenter into its namespaces)
#   machine.sh poweroff NAME    clean shutdown (what `systemctl poweroff` does), waits for it
#   machine.sh kill NAME        power cut: SIGKILL to the whole machine
#   machine.sh destroy NAME     power it off and delete its file system
#   machine.sh dir NAME         print its root directory (the host can copy files straight in)
# The machine shares the host's network (no --private-network): the testbed's loopback services
# (registry 127.0.0.1:5000, the API server, the ingress) are 127.0.0.1 inside too, so whatever
# runs in it must use ports the host does not. The testbed's Docker socket is bind-mounted at
# /srv/testbed/docker.sock when DOCKER_HOST names one. apt inside uses the host's sources, proxy
# settings and added CA certificates (copied into the image). Downloaded .debs and install.sh's own
# cache (/var/cache/slipway: Node and npm tarballs, the npm cache) are bind-mounted from the
# host cache so a warm run downloads nothing twice; the machine is otherwise fresh every boot.
# Cache: ${SLIPWAY_CACHE_DIR:-~/.cache/slipway}/machine/. Host needs: debootstrap, systemd-container.
set -euo pipefail
cache=${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}/machine
image=$cache/rootfs-bookworm
suite=bookworm
log() { printf 'machine: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

build_image() {
  local stamp=$image/.slipway-image want
  want="v1 $suite $({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } | sha256sum | cut -c1-12)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then log "image $image up to date"; return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local mirror
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "debootstrap $suite from $mirror into $image (cold: a few minutes)"
  rm -rf "$image.partial"
  mkdir -p "$cache"
  # What a minimal cloud Debian server has: systemd, dbus, networking tools, CA certificates, curl.
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates,curl,procps,sudo \
    "$suite" "$image.partial" "$mirror" >&2
  # The host's apt sources and settings (proxies, snapshot pins) and the CAs it added.
  rm -f "$image.partial/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/. "$image.partial/etc/apt/sources.list.d/"
  [ ! -f /etc/apt/sources.list ] || cp /etc/apt/sources.list "$image.partial/etc/apt/"
  for f in /etc/apt/apt.conf.d/*; do
    case $(basename "$f") in docker-*|*packagekit*|*appstream*|*postgresql*) ;; *) cp "$f" "$image.partial/etc/apt/apt.conf.d/" ;; esac
  done
  cp -a /usr/local/share/ca-certificates/. "$image.partial/usr/local/share/ca-certificates/"
  chroot "$image.partial" update-ca-certificates >/dev/null
  # A fresh server: no machine id yet (systemd makes one at first boot), a host name, a root login
  # only through nsenter, and keep the .debs apt downloads (the host's cache is mounted there).
  : > "$image.partial/etc/machine-id"
  echo slipway-machine > "$image.partial/etc/hostname"
  echo 'APT::Keep-Downloaded-Packages "true";' > "$image.partial/etc/apt/apt.conf.d/90keep-debs"
  echo "$want" > "$image.partial/.slipway-image"
  rm -rf "$image" && mv "$image.partial" "$image"
}

dir_of() { printf '%s' "$cache/machines/$1"; }
pid_file() { printf '%s' "$cache/machines/$1.pid"; }

# The machine's PID 1 (systemd) as the host sees it: the descendant of nspawn whose pid in its
# own namespace is 1.
leader() {
  local nspawn p
  nspawn=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  kill -0 "$nspawn" 2>/dev/null || return 1
  for p in $(pgrep -P "$nspawn") $(for c in $(pgrep -P "$nspawn"); do pgrep -P "$c"; done); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$p/status" 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

in_machine() { local l; l=$(leader "$1") || die "machine $1 is not running"; shift; nsenter -t "$l" -m -u -i -p -n -C -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb "$@"; }

boot() {
  local name=$1 dir
  dir=$(dir_of "$name")
  if leader "$name" >/dev/null; then log "machine $name already running"; return 0; fi
  [ -f "$image/.slipway-image" ] || die "no image: run machine.sh image first"
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn is not installed (apt-get install systemd-container)"
  if [ ! -d "$dir" ]; then
    log "new machine $name from $image"
    mkdir -p "$(dirname "$dir")"
    cp -a --reflink=auto "$image" "$dir.partial" && mv "$dir.partial" "$dir"
  fi
  mkdir -p "$cache/apt-archives/partial" "$cache/slipway-cache"
  local binds=(--bind="$cache/apt-archives:/var/cache/apt/archives" --bind="$cache/slipway-cache:/var/cache/slipway")
  if [[ ${DOCKER_HOST:-} == unix://* ]]; then
    mkdir -p "$dir/srv/testbed"
    binds+=(--bind="${DOCKER_HOST#unix://}:/srv/testbed/docker.sock")
  fi
  # No machined on this host (PID 1 is not systemd): --register=no, and we find the machine by pid.
  setsid systemd-nspawn -q -b -D "$dir" -M "$name" --register=no --keep-unit --console=passive \
    "${binds[@]}" > "$cache/machines/$name.log" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
  local l=""
  for _ in $(seq 1 120); do l=$(leader "$name") && break; sleep 0.25; done
  [ -n "$l" ] || { cat "$cache/machines/$name.log" >&2; die "machine $name did not start"; }
  # multi-user reached (degraded is fine: a container has units that cannot start, e.g. for devices).
  local state=""
  for _ in $(seq 1 240); do
    state=$(in_machine "$name" systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) log "machine $name booted ($state)"; return 0 ;; esac
    sleep 0.25
  done
  die "machine $name did not finish booting (state: ${state:-unknown}); log: $cache/machines/$name.log"
}

stop() { # NAME SIGNAL
  local nspawn l
  nspawn=$(cat "$(pid_file "$1")" 2>/dev/null) || return 0
  if l=$(leader "$1"); then
    # SIGRTMIN+4 to systemd is `systemctl poweroff`; SIGKILL to nspawn's group is a power cut.
    if [ "$2" = clean ]; then kill -s RTMIN+4 "$l"; else kill -KILL -- "-$nspawn" 2>/dev/null || kill -KILL "$nspawn"; fi
  fi
  for _ in $(seq 1 240); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$nspawn" 2>/dev/null; then kill -KILL -- "-$nspawn" 2>/dev/null || true; sleep 1; fi
  rm -f "$(pid_file "$1")"
}

cmd=${1:-}
case $cmd in
  image) build_image ;;
  boot) boot "${2:?machine name}" ;;
  exec) name=${2:?machine name}; shift 2; in_machine "$name" "$@" ;;
  poweroff) stop "${2:?machine name}" clean ;;
  kill) stop "${2:?machine name}" kill ;;
  destroy) stop "${2:?machine name}" clean; rm -rf "$(dir_of "$2")" ;;
  dir) dir_of "${2:?machine name}"; echo ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
