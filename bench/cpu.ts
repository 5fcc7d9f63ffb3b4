// CPU time per process tree, from a cgroup's accounting. On a shared, busy 2-core machine wall
// times swing by 2× between rounds; the CPU a server and its descendants (git, hooks, sshd's
// per-connection processes) burn for one operation is far steadier, so the bench reports it next
// to the wall times. Works with cgroup v1 (cpuacct) and v2; without either the bench goes on
// without CPU numbers.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A cgroup the bench created, and the processes it moved there (children follow). */
export interface CpuGroup {
  /** CPU time used by everything in the group so far, in milliseconds. */
  usageMs(): number;
  /** Moves a process (with all its threads, and its future children) into the group. */
  add(pid: number): void;
  /** Moves the given processes back to where the bench process started, then removes the group. */
  remove(pids: readonly number[]): void;
}

interface Flavour { root: string; usage: (dir: string) => number; original: string }

function flavour(): Flavour | undefined {
  const mine = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  if (existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage')) {
    const line = mine.find((l) => /^\d+:([^:]*,)?cpuacct(,[^:]*)?:/.test(l));
    return {
      root: '/sys/fs/cgroup/cpuacct',
      usage: (dir) => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6,
      original: join('/sys/fs/cgroup/cpuacct', line?.split(':')[2] ?? '/'),
    };
  }
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const line = mine.find((l) => l.startsWith('0::'));
    return {
      root: '/sys/fs/cgroup',
      usage: (dir) => Number(/^usage_usec (\d+)/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? Number.NaN) / 1000,
      original: join('/sys/fs/cgroup', line?.slice(3) ?? '/'),
    };
  }
  return undefined;
}

/** Creates a fresh cgroup for CPU accounting, or returns undefined if this machine has none we can use. */
export function cpuGroup(name: string): CpuGroup | undefined {
  const f = flavour();
  if (!f) return undefined;
  const dir = join(f.root, name);
  try {
    mkdirSync(dir, { recursive: true });
    f.usage(dir);
  } catch {
    return undefined;
  }
  return {
    usageMs: () => f.usage(dir),
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    remove: (pids) => {
      for (const pid of pids) {
        try {
          writeFileSync(join(f.original, 'cgroup.procs'), String(pid));
        } catch (err) {
          // ESRCH: the process has already exited, which is fine.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      rmdirSync(dir);
    },
  };
}

/** The whole machine's CPU time by kind, in seconds, from the first line of /proc/stat. */
export interface MachineCpu { user: number; system: number; softirq: number; idle: number }

/** The machine's CPU time so far (see coresSince). */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal …, in USER_HZ ticks (100 a second on Linux).
  const [user, nice, system, idle, iowait, irq, softirq] = line.trim().split(/\s+/).slice(1).map((x) => Number(x) / 100);
  return { user: user! + nice!, system: system!, softirq: irq! + softirq!, idle: idle! + iowait! };
}

/** The machine's CPU by kind since `before`, read `seconds` ago, in cores. */
export function coresSince(before: MachineCpu, seconds: number): MachineCpu {
  const now = machineCpu();
  const cores = (k: keyof MachineCpu) => (now[k] - before[k]) / seconds;
  return { user: cores('user'), system: cores('system'), softirq: cores('softirq'), idle: cores('idle') };
}
