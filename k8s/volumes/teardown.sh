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
  # Mounted by setup.sh, the device stays bound to the file until it is freed here; mounted with
  # -o loop (a node's start), it was freed with the mount and may be another volume's by now, so
  # it is freed only while it still names this volume's file. A node whose /dev lacks the device
  # (the pod's /dev is a copy of the node's) gets it made, as setup.sh does.
  case $dev in
    /dev/loop[0-9]*)
      [ -b "$dev" ] || mknod "$dev" b 7 "${dev#/dev/loop}"
      case $(losetup "$dev" 2>/dev/null) in *"/${img##*/}"*) losetup -d "$dev" ;; esac ;;
  esac
fi
if command -v chattr >/dev/null 2>&1 && [ -d "$dir" ]; then chattr -i "$dir" 2>/dev/null || true; fi
rm -rf "$dir"
rm -f "$img" "$img.partial"
