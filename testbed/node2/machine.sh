#!/usr/bin/env bash
# The testbed's second node: a booted systemd-nspawn machine with a network namespace of its own,
# where containerd, the kubelet and kube-proxy run as systemd services (testbed/parts/61-node2.sh).
#   machine.sh image            debootstrap its root file system once (cached)
#   machine.sh boot             boot it (a fresh copy of the image when it has none), set up its link
#   machine.sh exec CMD...      run CMD inside as root (nsenter into all its namespaces)
#   machine.sh poweroff         clean shutdown, waits for it; the network link goes with it
#   machine.sh destroy          power it off and delete its file system
#   machine.sh dir              print its root directory
#   machine.sh cpu-weight [low|default]
#                               print (or set) the CPU weight of its cgroup against the host's other
#                               processes: `low` (the least there is, and cpu.idle) takes only CPU
#                               the first node leaves idle, as a machine of its own would
# Settings (environment): NODE2_NAME (slipway-node2), NODE2_HOST_IP/NODE2_IP (10.44.0.1/10.44.0.2,
# a /30 on the veth pair NODE2_LINK=slw-node2 ↔ eth0), NODE2_KUBE_BIN (mounted read-only at
# /opt/slipway/kube), NODE2_CACHE (${SLIPWAY_CACHE_DIR:-~/.cache/slipway}/node2).
# See docs/node-testbed.md, "The second node", for why each nspawn option is there.
set -euo pipefail
name=${NODE2_NAME:-slipway-node2}
cache=${NODE2_CACHE:-${SLIPWAY_CACHE_DIR:-$HOME/.cache/slipway}/node2}
image=$cache/rootfs-bookworm
dir=$cache/machines/$name
link=${NODE2_LINK:-slw-node2}
host_ip=${NODE2_HOST_IP:-10.44.0.1}
node_ip=${NODE2_IP:-10.44.0.2}
suite=bookworm
log() { printf 'node2: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# What the node runs, from Debian: the same containerd, runc and CNI plugins as the first node.
packages=systemd,systemd-sysv,dbus,iproute2,ca-certificates,curl,procps,iputils-ping,containerd,runc,containernetworking-plugins,iptables,conntrack,ipset

build_image() {
  local stamp=$image/.slipway-image want mirror
  want="v1 $suite $packages $({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } | sha256sum | cut -c1-12)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed"
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "debootstrap $suite with containerd from $mirror into $image (cold: a few minutes; log $cache/debootstrap.log)"
  rm -rf "$image.partial"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include="$packages" "$suite" "$image.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
  : >"$image.partial/etc/machine-id"
  echo "$name" >"$image.partial/etc/hostname"
  # containerd is started by the part once its configuration is written, not at boot.
  chroot "$image.partial" systemctl disable containerd.service >/dev/null 2>&1
  echo "$want" >"$image.partial/.slipway-image"
  rm -rf "$image" && mv "$image.partial" "$image"
}

pid_file=$cache/machines/$name.pid
# The machine's PID 1 as the host sees it: the child of nspawn whose pid in its namespace is 1.
leader() {
  local nspawn p
  nspawn=$(cat "$pid_file" 2>/dev/null) || return 1
  kill -0 "$nspawn" 2>/dev/null || return 1
  grep -q systemd-nspawn "/proc/$nspawn/cmdline" 2>/dev/null || return 1
  for p in $(pgrep -P "$nspawn"); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$p/status" 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
in_machine() {
  local l
  l=$(leader) || die "machine $name is not running"
  nsenter -t "$l" -m -u -i -p -n -C -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb "$@"
}

# own_cgroups: moves this shell into a cgroup of its own, NAME under its current one, in every
# hierarchy. nspawn starts the machine in a cgroup namespace rooted where it runs: without this the
# machine's root cgroup would be the host's root in most v1 controllers (this VM has cgroup v1),
# and its kubelet would manage the host kubelet's /kubepods tree; and nspawn's payload/ cgroup
# would be shared with other nspawn machines (testbed/machine/machine.sh).
own_cgroups() {
  local line hier ctrl path mnt
  while IFS= read -r line; do
    hier=${line%%:*}; line=${line#*:}; ctrl=${line%%:*}; path=${line#*:}
    case $ctrl in
      '') mnt=/sys/fs/cgroup/unified ;;
      name=systemd) mnt=/sys/fs/cgroup/systemd ;;
      *) mnt=/sys/fs/cgroup/${ctrl%%,*} ;;
    esac
    [ -d "$mnt" ] || continue
    local cg=$mnt${path%/}/$name
    mkdir -p "$cg"
    if [ "$ctrl" = cpuset ]; then
      cat "$mnt${path%/}/cpuset.cpus" >"$cg/cpuset.cpus"
      cat "$mnt${path%/}/cpuset.mems" >"$cg/cpuset.mems"
    fi
    echo "$BASHPID" >"$cg/cgroup.procs"
    : "$hier"
  done </proc/self/cgroup
}

boot() {
  if leader >/dev/null; then return 0; fi
  [ -f "$image/.slipway-image" ] || die "no image: run machine.sh image first"
  if [ ! -d "$dir" ]; then
    log "new machine $name from $image"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir.partial"
    cp -a --reflink=auto "$image" "$dir.partial" && mv "$dir.partial" "$dir"
  fi
  ip link del "$link" 2>/dev/null || true
  # A pod whose PID 1 ignores SIGTERM (busybox httpd, sleep) would hold the machine's shutdown for
  # systemd's default 90 s.
  mkdir -p "$dir/etc/systemd/system.conf.d"
  printf '[Manager]\nDefaultTimeoutStopSec=10s\n' >"$dir/etc/systemd/system.conf.d/10-slipway-node2.conf"
  local binds=(--bind=/dev/kmsg)
  [ -z "${NODE2_KUBE_BIN:-}" ] || binds+=(--bind-ro="$NODE2_KUBE_BIN:/opt/slipway/kube")
  # SYSTEMD_SECCOMP=0: no system call filter (runc needs keyctl, and the pods whatever they use);
  # --capability=all: what a privileged kind node has (the bounding set is still the host's);
  # /dev/kmsg: the kubelet's OOM watcher reads it. No machined here: --register=no, --keep-unit.
  (
    own_cgroups
    SYSTEMD_SECCOMP=0 exec setsid systemd-nspawn -q -b -D "$dir" -M "$name" --register=no --keep-unit \
      --console=passive --capability=all --network-veth-extra="$link:eth0" "${binds[@]}" \
      >"$cache/machines/$name.log" 2>&1 </dev/null 8>&- 9>&-
  ) &
  echo $! >"$pid_file"
  local l="" state=""
  for _ in $(seq 1 120); do l=$(leader) && break; sleep 0.25; done
  [ -n "$l" ] || { cat "$cache/machines/$name.log" >&2; die "machine $name did not start"; }
  for _ in $(seq 1 240); do
    state=$(in_machine systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.25
  done
  case $state in running|degraded) ;; *) die "machine $name did not finish booting (state: ${state:-unknown})" ;; esac
  # The v1 controllers are mounted read-only in the machine; the kubelet and runc make the pods'
  # cgroups in them (inside the machine's own cgroup, thanks to the cgroup namespace).
  local c
  for c in blkio cpu cpuacct cpuset devices freezer memory pids hugetlb net_cls net_prio perf_event; do
    in_machine sh -c "! mountpoint -q /sys/fs/cgroup/$c || mount -o remount,bind,rw /sys/fs/cgroup/$c"
  done
  # The link: a /30 between the host and the machine; the machine's default route is the host.
  ip addr replace "$host_ip/30" dev "$link"
  ip link set "$link" up
  in_machine ip addr replace "$node_ip/30" dev eth0
  in_machine ip link set eth0 up
  in_machine ip route replace default via "$host_ip"
  log "machine $name booted ($state), $node_ip on $link"
}

stop() {
  local nspawn l=""
  nspawn=$(cat "$pid_file" 2>/dev/null) || return 0
  if l=$(leader); then
    # The pods' containers first (the kubelet would restart them; their PID 1 may ignore SIGTERM).
    # shellcheck disable=SC2016 # expanded inside the machine
    in_machine sh -c 'systemctl stop kubelet kube-proxy kube-router 2>/dev/null
      a=/var/lib/slipway/containerd/containerd.sock
      [ -S $a ] || exit 0
      for t in $(ctr --address $a -n k8s.io tasks ls -q 2>/dev/null); do ctr --address $a -n k8s.io tasks kill -s KILL "$t" 2>/dev/null; done' || true
    kill -s RTMIN+4 "$l"
  fi
  for _ in $(seq 1 120); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.25; done
  # Still up after 30 s: SIGKILL to its PID 1 ends every process in its PID namespace.
  if [ -n "$l" ] && kill -0 "$l" 2>/dev/null; then
    log "machine $name did not power off in 30 s; killing it"
    kill -KILL "$l" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.25; done
  fi
  if kill -0 "$nspawn" 2>/dev/null && grep -q systemd-nspawn "/proc/$nspawn/cmdline" 2>/dev/null; then
    kill -KILL "$nspawn" 2>/dev/null || true; sleep 1
  fi
  rm -f "$pid_file"
}

# cpu_weight [low|default]: the CPU weight of the machine's cgroup (cgroup v1 cpu.shares, 2 to
# 262144, 1024 by default; v2 cpu.weight, 1 to 10000, 100 by default), printed, or set first; `low`
# also makes the group idle where the kernel can (`idle` is printed then). The weight that counts
# against the host's other processes is that of the machine's topmost cgroup (the first NAME in
# nspawn's path; its children may be named NAME too): set there and in each cgroup below it.
cpu_weight() {
  local line ctrl path mnt="" file low default top dir
  leader >/dev/null || die "machine $name is not running"
  while IFS= read -r line; do
    line=${line#*:}; ctrl=${line%%:*}; path=${line#*:}
    case ,$ctrl, in
      *,cpu,*) mnt=/sys/fs/cgroup/${ctrl%%,*}; file=cpu.shares; low=2; default=1024; break ;;
      ,,) if [ -f "/sys/fs/cgroup${path%/}/cpu.weight" ]; then mnt=/sys/fs/cgroup; file=cpu.weight; low=1; default=100; fi ;;
    esac
  done <"/proc/$(cat "$pid_file")/cgroup"
  case $path in */"$name"|*/"$name"/*) ;; *) die "machine $name is not in a cgroup of its own ($path)" ;; esac
  top=${path%%/"$name"/*}; top=$mnt${top%/"$name"}/$name
  if [ -z "$mnt" ] || [ ! -f "$top/$file" ]; then die "no CPU controller for the cgroup of machine $name"; fi
  case ${1:-} in
    '') ;;
    low|default)
      local value=$low idle=1; [ "$1" = low ] || { value=$default; idle=0; }
      # From nspawn's own cgroup up to the machine's topmost. cpu.idle (Linux 5.15+): the group runs
      # only when nothing else wants the CPU, and anything else waking preempts it at once
      # (SCHED_IDLE). An idle group's weight cannot be written: idle is cleared first, set after.
      dir=$mnt${path%/}
      while :; do
        [ ! -f "$dir/cpu.idle" ] || echo 0 >"$dir/cpu.idle"
        [ ! -f "$dir/$file" ] || echo "$value" >"$dir/$file"
        [ ! -f "$dir/cpu.idle" ] || [ "$idle" = 0 ] || echo 1 >"$dir/cpu.idle"
        [ "$dir" != "$top" ] || break
        dir=${dir%/*}
      done ;;
    *) die "cpu-weight takes low or default, not $1" ;;
  esac
  if [ "$(cat "$top/cpu.idle" 2>/dev/null)" = 1 ]; then echo idle; else cat "$top/$file"; fi
}

case ${1:-} in
  cpu-weight) shift; cpu_weight "$@" ;;
  image) build_image ;;
  boot) boot ;;
  exec) shift; in_machine "$@" ;;
  poweroff) stop ;;
  destroy) stop; rm -rf "$dir" ;;
  dir) echo "$dir" ;;
  leader) leader ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
