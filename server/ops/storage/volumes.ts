// The rules of persistent storage as pure functions: what a volume's name, size and mount path may
// be, what the deployer is given of an app's volumes and mounts, the sentence refusing a second
// instance of a process type with a volume, and what storage:list says of a volume's use. The
// operations are in storage.ts.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { RELEASE_TYPE } from '../../deploy/workload.ts';
import type { Volume, VolumeMount } from '../../model.ts';
import type { VolumeRow } from '../../store/volumes.ts';
import type { VolumeInfo } from '../../shapes/storage.ts';

// Dokku's rule for storage entry names (they become claim and pod volume names): a DNS label of
// at most 45 characters, a letter first.
const VOLUME_NAME = /^[a-z](?:[a-z0-9-]{0,43}[a-z0-9])?$/;

/** A volume's name, or the sentence saying what one looks like. */
export function volumeName(raw: string): string {
  if (!VOLUME_NAME.test(raw)) throw new UserError(`${shown(raw)} is not a valid volume name: use 1-45 lowercase letters, digits and dashes, starting with a letter and not ending with a dash.`);
  return raw;
}

/** The size a volume gets when storage:create is given none. */
export const DEFAULT_VOLUME_SIZE = '1Gi';

/** A volume's size (a whole number of Mi, Gi or Ti), at most `max`, or one sentence. */
export function volumeSize(raw: string, max: string): string {
  if (!/^[1-9][0-9]{0,5}(Mi|Gi|Ti)$/.test(raw)) throw new UserError(`${shown(raw)} is not a volume size; write a whole number of Mi, Gi or Ti, for example 512Mi or 1Gi.`);
  if (quantityValue(raw) > quantityValue(max)) throw new UserError(`A volume may hold at most ${max} (SLIPWAY_STORAGE_MAX_SIZE); ${raw} is more.`);
  return raw;
}

/**
 * Where a volume may not be mounted: over the app (/workspace), the buildpacks' layers and
 * launcher (/layers, /cnb), the kernel's file systems, or the image's system directories; any of
 * them hidden under a volume leaves a container that cannot start.
 */
export const RESERVED_PATHS: readonly string[] = ['/workspace', '/cnb', '/layers', '/proc', '/sys', '/dev', '/etc', '/bin', '/sbin', '/lib', '/lib64', '/usr'];

/** A mount path: absolute, normalised (no `.`, `..`, `//` or trailing `/`), not / nor under a reserved path, or one sentence. */
export function mountPath(raw: string): string {
  if (!raw.startsWith('/')) throw new UserError(`${shown(raw)} is not an absolute path; mount a volume at a path like /data.`);
  if (raw === '/') throw new UserError('A volume cannot be mounted at /; mount it at a directory like /data.');
  const parts = raw.slice(1).split('/');
  if (raw.length > 200 || parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._@+-]+$/.test(p))) {
    throw new UserError(`${shown(raw)} is not a plain path: use up to 200 characters of letters, digits, . _ @ + - between single slashes, without . or .. parts and without a trailing slash.`);
  }
  const reserved = RESERVED_PATHS.find((r) => raw === r || raw.startsWith(`${r}/`));
  if (reserved) throw new UserError(`${raw} is at or under ${reserved}, which the app's image needs; mount the volume elsewhere, like /data.`);
  return raw;
}

/** The volumes the deployer makes claims for: every one of the app's. */
export function volumesOf(rows: readonly VolumeRow[]): Volume[] {
  return rows.map((v) => ({ name: v.name, size: v.size, ...(v.storageClass ? { storageClass: v.storageClass } : {}) }));
}

/**
 * The mounts of each process type of a release; one-off and release pods (`run`, `release`) get
 * the main type's (`main`), as they get its limits: a release command migrating an SQLite
 * database on the web process's volume finds it there.
 */
export function mountsByType(rows: readonly VolumeRow[], main: string | undefined, runType: string): Record<string, VolumeMount[]> {
  const out: Record<string, VolumeMount[]> = {};
  for (const v of rows) if (v.mount) (out[v.mount.process] ??= []).push({ volume: v.name, path: v.mount.path });
  const shared = main !== undefined ? out[main] : undefined;
  if (shared) {
    out[runType] = shared;
    out[RELEASE_TYPE] ??= shared;
  }
  return out;
}

/** The one sentence refusing more than one instance of a type with a volume, or undefined. */
export function scaleRefusal(rows: readonly VolumeRow[], app: string, type: string, count: number): string | undefined {
  const v = rows.find((r) => r.mount?.process === type);
  if (!v || count <= 1) return undefined;
  return `${type} has volume ${v.name} mounted at ${v.mount!.path}, which one instance writes at a time (ReadWriteOnce); it runs 1 instance at most (storage:unmount ${app} ${v.name} to scale it out).`;
}

/** Bytes as a storage quantity a person reads (`990Ki`, `12.5Mi`, `1.25Gi`). */
export function showSize(n: number): string {
  const round = (x: number) => String(Math.round(x * 100) / 100);
  if (n < 2 ** 20) return `${Math.round(n / 2 ** 10)}Ki`;
  return n < 2 ** 30 ? `${round(n / 2 ** 20)}Mi` : `${round(n / 2 ** 30)}Gi`;
}

/** How full a volume's file system is, in whole percent (the last percent only when it is full). */
function percent(used: number, capacity: number): number {
  return capacity > 0 ? Math.min(100, Math.floor((used / capacity) * 100)) : 100;
}

/** A volume's use as storage:list shows it: `990Ki (98%)`, or `-` when it is not measured. */
export function usageCell(v: Pick<VolumeInfo, 'usedBytes' | 'capacityBytes'>): string {
  if (v.usedBytes === undefined || v.capacityBytes === undefined) return '-';
  return `${showSize(v.usedBytes)} (${percent(v.usedBytes, v.capacityBytes)}%)`;
}

/** The share of a file system past which storage:list calls a volume full: writes are about to fail. */
export const FULL_PERCENT = 95;

/**
 * What storage:list says under its table about a volume's use, one sentence each: a volume not
 * held to its size (its file system is larger: the storage class does not enforce sizes), a full
 * one (writes fail), and one whose use could not be read.
 */
export function usageNotes(v: Pick<VolumeInfo, 'name' | 'size' | 'usedBytes' | 'capacityBytes' | 'usageUnknown'>): string[] {
  if (v.usageUnknown) return [`The use of volume ${v.name} is not known: ${v.usageUnknown}.`];
  if (v.usedBytes === undefined || v.capacityBytes === undefined) return [];
  if (v.capacityBytes > quantityValue(v.size)) {
    return [`Volume ${v.name} is not held to its ${v.size}: its file system holds ${showSize(v.capacityBytes)}, as its storage class does not enforce sizes (SLIPWAY_STORAGE_CLASS names one that does).`];
  }
  const p = percent(v.usedBytes, v.capacityBytes);
  if (p >= FULL_PERCENT) return [`Volume ${v.name} is full (${p}%): writes to it fail with "No space left on device"; delete files on it, or move the data to a larger volume.`];
  return [];
}
