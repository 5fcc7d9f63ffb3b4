#!/bin/sh
# A volume's teardown: local-path-provisioner runs this in its helper pod once the volume's claim
# is deleted (reclaim policy Delete), with VOL_DIR as setup.sh had it. Unmounts the volume's file
# system, frees its loop device and deletes its file and directory. A volume made before volumes
# had a size (a plain directory) is just deleted.
set -eu
dir=${VOL_DIR:?} img=${VOL_DIR}.img
# The device mounted on the directory, if any: the last mount there (/proc/mounts, as busybox may
# have no mountpoint; it escapes spaces, which the provisioner's directory names never have).
dev=$(awk -v d="$dir" '$2 == d { s = $1 } END { print s }' /proc/mounts)
if [ -n "$dev" ]; then
  umount "$dir"
  # Mounted by setup.sh, the device stays bound to the file; mounted with -o loop (a node's
  # start), it was freed with the mount.
  case $dev in /dev/loop*) losetup -d "$dev" 2>/dev/null || true ;; esac
fi
if command -v chattr >/dev/null 2>&1 && [ -d "$dir" ]; then chattr -i "$dir" 2>/dev/null || true; fi
rm -rf "$dir"
rm -f "$img" "$img.partial"
