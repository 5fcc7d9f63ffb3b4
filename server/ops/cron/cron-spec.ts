// app.json `cron`, in Dokku's shape (`[{"command": "…", "schedule": "@daily", "concurrency_policy":
// "forbid"}]`): validated at the edge with one sentence naming the entry, and the "next run" of a
// schedule. The cron library (croner) lives here only.
//
// A schedule must mean the same to us and to Kubernetes' CronJob controller (robfig/cron's standard
// parser): five fields (minute hour day-of-month month day-of-week) of numbers, `*`, `?`, ranges,
// lists, steps and month or day names, or one of the macros both know. Anything only one of them
// would take (seconds, `L`, `W`, `#`, `@every`, `@reboot`, `TZ=`, day-of-week 7) is refused here,
// so a schedule never fails at apply time, after the rollout.
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import type { ConcurrencyPolicy, CronTask } from '../../model.ts';

/** Most scheduled tasks an app.json may declare (each is a CronJob in the app's namespace). */
export const MAX_CRON_TASKS = 20;
/** Longest command a task may have. */
export const MAX_CRON_COMMAND = 4096;

const MACROS: ReadonlySet<string> = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const POLICIES: readonly ConcurrencyPolicy[] = ['allow', 'forbid', 'replace'];
const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

/** One field's grammar: `*` or `?` or a value or range, optionally stepped, in a comma list. */
function fieldPattern(names?: string): RegExp {
  const value = names ? `(?:\\d{1,2}|${names})` : '\\d{1,2}';
  const item = `(?:[*?]|${value}(?:-${value})?)(?:/\\d{1,2})?`;
  return new RegExp(`^${item}(?:,${item})*$`, 'i');
}
const RANGES = [
  { name: 'minute', min: 0, max: 59 }, { name: 'hour', min: 0, max: 23 }, { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 }, { name: 'day-of-week', min: 0, max: 6 },
] as const;
const FIELDS: readonly RegExp[] = [fieldPattern(), fieldPattern(), fieldPattern(), fieldPattern(MONTHS), fieldPattern(DAYS)];

/** Why `schedule` is not one both we and Kubernetes read the same way, or undefined when it is. */
export function scheduleProblem(schedule: string): string | undefined {
  const s = schedule.trim();
  if (s.startsWith('@')) return MACROS.has(s.toLowerCase()) ? undefined : `${shown(s)} is not a schedule macro (use @yearly, @monthly, @weekly, @daily, @hourly, or five cron fields)`;
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `${shown(s)} has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule is five (minute hour day-of-month month day-of-week) or a macro such as @daily`;
  for (const [i, f] of fields.entries()) {
    const { name, min, max } = RANGES[i]!;
    if (!FIELDS[i]!.test(f)) return `the ${name} field of ${shown(s)} (${shown(f)}) is not numbers, *, ranges, lists or steps`;
    // Values (not steps) in range, said in the user's terms; Kubernetes takes days of the week
    // 0-6 only (croner would also take 7 for Sunday).
    const values = f.split(',').flatMap((item) => item.split('/')[0]!.split('-')).filter((v) => /^\d+$/.test(v)).map(Number);
    if (values.some((v) => v < min || v > max)) return `the ${name} field of ${shown(s)} goes from ${min}${i === 4 ? ' (Sunday)' : ''} to ${max}`;
  }
  let next: Date | null;
  try {
    next = cronOf(s).nextRun();
  } catch (err) {
    return `${shown(s)} is not a valid schedule (${(err as Error).message.replace(/^CronPattern: /, '')})`;
  }
  if (!next) return `${shown(s)} never matches a date`;
  return undefined;
}

function cronOf(schedule: string): Cron {
  // Without a function croner only computes dates: nothing is scheduled in this process. The
  // CronJobs run in UTC (their timeZone), and so do these dates.
  return new Cron(schedule.trim().toLowerCase() === '@midnight' ? '@daily' : schedule.trim(), { mode: '5-part', timezone: 'Etc/UTC' });
}

/** The next time a valid schedule fires after `from` (ISO 8601, UTC), or null when it never does. */
export function nextRun(schedule: string, from: Date): string | null {
  return cronOf(schedule).nextRun(from)?.toISOString() ?? null;
}

/**
 * A task's id: a hash of its command and schedule, as Dokku derives its ids from them (so it is
 * stable across pushes and releases and changes when either changes; the concurrency policy and
 * maintenance flag may change without a new id, keeping cron:suspend's state).
 */
export function cronId(command: string, schedule: string): string {
  return createHash('sha256').update(`${command}\n${schedule}`).digest('hex').slice(0, 10);
}

/** The entries of app.json `cron` (none when absent); a UserError naming the entry for anything malformed. */
export function parseCron(raw: unknown): CronTask[] {
  if (raw === undefined) return [];
  const where = 'Push rejected: app.json cron';
  if (!Array.isArray(raw)) throw new UserError(`${where} must be a list of tasks ({"command": …, "schedule": …}).`);
  if (raw.length > MAX_CRON_TASKS) throw new UserError(`${where} has ${raw.length} tasks, more than the ${MAX_CRON_TASKS} an app may have.`);
  const tasks: CronTask[] = [];
  for (const [i, entry] of raw.entries()) {
    const at = `${where}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new UserError(`${at} must be an object with a command and a schedule.`);
    const e = entry as Record<string, unknown>;
    const unknown = Object.keys(e).find((k) => !['command', 'schedule', 'concurrency_policy', 'maintenance'].includes(k));
    if (unknown !== undefined) throw new UserError(`${at} has ${shown(unknown)}, which is not command, schedule, concurrency_policy or maintenance.`);
    const { command, schedule } = e;
    // A command may use the shell (the launcher runs it as it runs a Procfile line), but one line.
    if (typeof command !== 'string' || command.trim() === '' || command.length > MAX_CRON_COMMAND || /[\x00-\x1f\x7f]/.test(command)) {
      throw new UserError(`${at}: the command must be one line of text of at most ${MAX_CRON_COMMAND} characters.`);
    }
    if (typeof schedule !== 'string') throw new UserError(`${at} (${shown(command)}): the schedule must be a string such as "@daily" or "*/5 * * * *".`);
    const problem = scheduleProblem(schedule);
    if (problem) throw new UserError(`${at} (${shown(command)}): ${problem}.`);
    const policy = e.concurrency_policy ?? 'allow';
    if (typeof policy !== 'string' || !POLICIES.includes(policy as ConcurrencyPolicy)) throw new UserError(`${at} (${shown(command)}): concurrency_policy must be allow, forbid or replace, not ${shown(String(policy))}.`);
    if (e.maintenance !== undefined && typeof e.maintenance !== 'boolean') throw new UserError(`${at} (${shown(command)}): maintenance must be true or false.`);
    const id = cronId(command, schedule.trim());
    const twin = tasks.findIndex((t) => t.id === id);
    if (twin >= 0) throw new UserError(`${at} repeats cron[${twin}] (the same command on the same schedule).`);
    tasks.push({ id, command, schedule: schedule.trim(), concurrencyPolicy: policy as ConcurrencyPolicy, ...(e.maintenance === true ? { maintenance: true } : {}) });
  }
  return tasks;
}
