// What a database's pod says of itself (the image's `stats`, images/README.md): its volumes' bytes
// used and sizes and its client connections against its limit. addons:info, pg:info, the API and
// the dashboard show them beside the cluster's view; a volume at FULL_SHARE or more is one sentence
// there, and a backup onto a full backup volume is refused with it before it starts.
import type { Services } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import type { DataKind } from '../../model.ts';
import type { DataStats } from '../../shapes/data.ts';
import { quantityValue } from '../../kube/quantity.ts';

/** A volume this full (used / size) is reported full, and backups onto it are refused. */
export const FULL_SHARE = 0.95;
/** How long addons:info waits for a pod's numbers before it shows none. */
const STATS_TIMEOUT_MS = 5_000;

/**
 * The image's `NAME VALUE` lines as numbers; a field it did not print is null (the server not
 * answering prints no connections). A volume's size is its claim's (`claimBytes`), or less when its
 * file system has less room than that left (a provisioner that enforces no size, as local-path,
 * gives a folder of a file system others fill too).
 */
export function parseStats(stdout: string, claimBytes: number): DataStats {
  const values = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_]+) (\d+)$/.exec(line.trim());
    if (m) values.set(m[1]!, Number(m[2]));
  }
  const volume = (name: 'data' | 'backup') => {
    const used = values.get(`${name}_used`);
    const avail = values.get(`${name}_avail`);
    return used === undefined || avail === undefined ? null : { usedBytes: used, sizeBytes: Math.max(1, Math.min(claimBytes, used + avail)) };
  };
  return {
    connections: values.get('connections') ?? null,
    maxConnections: values.get('max_connections') ?? null,
    data: volume('data'),
    backup: volume('backup'),
  };
}

/** A number of bytes in binary units, one decimal: `812.4 MiB`. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Whether a volume's numbers say it is full (FULL_SHARE or more used). */
export function isFull(v: DataStats['data']): boolean {
  return v !== null && v.usedBytes >= v.sizeBytes * FULL_SHARE;
}

/** One sentence per full volume of database `name` (of `kind`) of `app`, saying what stops and what to do; none when neither is. */
export function fullVolumes(app: string, name: string, s: DataStats, kind: DataKind = 'postgres'): string[] {
  const out: string[] = [];
  const used = (v: NonNullable<DataStats['data']>) => `${bytesText(v.usedBytes)} of ${bytesText(v.sizeBytes)} used`;
  if (isFull(s.data)) {
    out.push(kind === 'valkey'
      ? `The data volume of ${name} is full (${used(s.data!)}): its append-only file cannot grow and writes fail; delete keys it no longer needs, or make a bigger one (addons:create ${app} valkey --size SIZE) and move the data.`
      : `The data volume of ${name} is full (${used(s.data!)}): writes fail once it has no room left; delete what it no longer needs, or move it to a bigger one (pg:backups:download ${app} ${name} > FILE, then pg:backups:restore ${app} --size SIZE --promote < FILE).`);
  }
  if (isFull(s.backup)) {
    out.push(kind === 'valkey'
      ? `The backup volume of ${name} is full (${used(s.backup!)}): new snapshots fail; it keeps the newest 7, so a bigger database is the way out.`
      : `The backup volume of ${name} is full (${used(s.backup!)}): new backups are refused and archiving stops; keep fewer backups (SLIPWAY_DATABASE_BACKUP_RETENTION) or move it to a bigger database.`);
  }
  return out;
}

/** The pod's numbers, or null when it has none to give (not ready, an older image without `stats`, no answer within STATS_TIMEOUT_MS). */
export async function databaseStats(services: Pick<Services, 'deployer'>, app: string, row: Pick<DataRow, 'name' | 'kind' | 'size'>, signal?: AbortSignal): Promise<DataStats | null> {
  if (!services.deployer) return null;
  const timeout = AbortSignal.timeout(STATS_TIMEOUT_MS);
  try {
    const r = await services.deployer.data.command({ app, name: row.name, kind: row.kind }, ['stats'], { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const s = parseStats(r.stdout, quantityValue(row.size));
    return s.data === null && s.backup === null ? null : s;
  } catch {
    return null; // Shown as unknown: addons:info still shows what the cluster says.
  }
}
