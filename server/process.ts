import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Whether a process with this pid exists (signal 0 only checks; EPERM means it exists). */
export function processAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined
 * if it is gone or there is no /proc. With the pid it names one process for good: after a reboot
 * or a wrap-around a pid is soon another process's, but not with the same start time.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw new Error(`reading /proc/${pid}/stat failed`, { cause: err });
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': count from the last.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** Whether the process recorded as (pid, start time) still runs; without a start time, by pid only. */
export function sameProcessAlive(pid: number | null | undefined, startTime: string | null | undefined): boolean {
  if (!pid || !processAlive(pid)) return false;
  if (!startTime) return true;
  const current = processStartTime(pid);
  // Undefined: it exited just now, between the two checks; counting it alive only delays a takeover.
  return current === undefined || current === startTime;
}

/** This process as an owner of cluster objects: `host/pid/start time` (see ownerAlive). */
export function processOwner(): string {
  return `${hostname()}/${process.pid}/${processStartTime(process.pid) ?? ''}`;
}

/**
 * Whether the process an owner string (processOwner) names still runs. An owner on another host
 * cannot be checked from here and counts as alive: only what is provably gone is cleaned up.
 */
export function ownerAlive(owner: string): boolean {
  const m = /^(.+)\/(\d+)\/(\d*)$/.exec(owner);
  if (!m) return false;
  if (m[1] !== hostname()) return true;
  return sameProcessAlive(Number(m[2]), m[3] || undefined);
}
