#!/bin/sh
# A volume's setup: local-path-provisioner runs this in its helper pod on the node the volume goes
# to, with VOL_DIR (the volume's directory, under the node's storage path, which the pod mounts
# with Bidirectional propagation), VOL_MODE and VOL_SIZE_BYTES (the claim's size). The volume is a
# file system of its own, in a file of exactly that size next to its directory (VOL_DIR.img) and
# mounted on it: a write past the size fails with "No space left on device", and the node's disk
# holds no more for it than the claim asked. The file's blocks are reserved up front where the
# node can (fallocate), so a node whose disk fills later cannot fail a write the volume has room
# for. The pod is privileged (loop devices, mount) and the mount reaches the node through the
# shared mount of the storage path; the node mounts the files again when it starts
# (install.sh's slipway-volumes.service; testbed/parts/64-storage.sh).
# Runs with busybox (mke2fs makes ext2; no journal at these sizes) or util-linux and e2fsprogs
# (mkfs.ext4). Idempotent: a retried setup finishes what an interrupted one began.
set -eu
fail() { echo "volume setup: $*" >&2; exit 1; }
# Whether a file system is mounted on $1 (/proc/mounts: busybox may have no mountpoint).
mounted() { awk -v d="$1" '$2 == d { m = 1 } END { exit !m }' /proc/mounts; }
dir=${VOL_DIR:?} size=${VOL_SIZE_BYTES:?} img=${VOL_DIR}.img
[ "${VOL_MODE:-Filesystem}" = Filesystem ] || fail "volume mode $VOL_MODE: only Filesystem volumes are made here"
case $size in '' | *[!0-9]*) fail "size $size is not a number of bytes" ;; esac
# 1 MiB at least (Slipway's smallest, storage:create's 1Mi): a smaller file holds no file system.
[ "$size" -ge 1048576 ] || fail "a volume holds 1 MiB at least, not $size bytes"
mkdir -p "$dir"
if mounted "$dir"; then echo "volume setup: $dir is mounted already"; exit 0; fi
# The directory under the mount: where an app would write if the volume were ever not mounted
# (a node that started without mounting it). Immutable, where the image has chattr: such a write
# then fails instead of filling the node's disk, and the kubelet cannot hand it to a pod.
if command -v chattr >/dev/null 2>&1; then chattr +i "$dir"; fi
if [ ! -f "$img" ]; then
  rm -f "$img.partial"
  fallocate -l "$size" "$img.partial" 2>/dev/null || truncate -s "$size" "$img.partial"
  # No blocks reserved for root (-m 0): the app gets the whole size.
  if command -v mkfs.ext4 >/dev/null 2>&1; then mkfs.ext4 -q -F -m 0 "$img.partial" >/dev/null
  elif command -v mke2fs >/dev/null 2>&1; then mke2fs -F -m 0 "$img.partial" >/dev/null
  else busybox mke2fs -F -m 0 "$img.partial" >/dev/null; fi
  mv "$img.partial" "$img"
fi
# A free loop device: the kernel allocates one (loop-control), and a node that made it after this
# pod started has no node for it in the pod's /dev yet. Two setups at once may pick the same: retry.
[ -e /dev/loop-control ] || mknod /dev/loop-control c 10 237
tries=0
while :; do
  # util-linux says "/dev/loopN (lost)" for a device the kernel has and /dev lacks: the name is the first word.
  dev=$(losetup -f) || fail "no free loop device (losetup -f)"
  dev=${dev%% *}
  [ -b "$dev" ] || mknod "$dev" b 7 "${dev#/dev/loop}"
  if losetup "$dev" "$img" 2>/dev/null; then break; fi
  tries=$((tries + 1))
  [ "$tries" -lt 20 ] || fail "no free loop device for $img"
  sleep 1
done
mount -o nodev,nosuid "$dev" "$dir" || { losetup -d "$dev"; fail "could not mount $img on $dir"; }
# Writable by the app's user, as the directory was before volumes had a size (the kubelet then
# gives it the pod's fsGroup).
chmod 0777 "$dir"
echo "volume setup: $dir is a file system of $size bytes ($img on $dev)"
