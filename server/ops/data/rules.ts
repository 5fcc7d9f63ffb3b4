// The rules of an app's databases as pure functions: which kinds and versions there are (in
// Heroku's and Dokku's words), what a name and an attachment may be, and the sentences refusing
// one more database than the app's limits allow. The operations are in addons.ts.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { quantityValue } from '../../kube/quantity.ts';
import type { DataKind } from '../../model.ts';

/** Each kind: its versions (the first is the default), the config var it attaches as by default, and what users type for it. */
export const DATA_KINDS: Readonly<Record<DataKind, { versions: readonly string[]; attachment: string; aliases: readonly string[]; title: string }>> = {
  postgres: { versions: ['17'], attachment: 'DATABASE_URL', aliases: ['postgres', 'postgresql', 'heroku-postgresql', 'pg'], title: 'Postgres' },
  valkey: { versions: ['8'], attachment: 'REDIS_URL', aliases: ['valkey', 'redis', 'heroku-redis', 'heroku-valkey'], title: 'Valkey' },
};

/** The kind a user named (`postgres`, `heroku-postgresql:essential-0`, `redis`), or one sentence. */
export function dataKind(raw: string): DataKind {
  // Heroku's service:plan; a plan means nothing here (the size is --size).
  const service = raw.split(':')[0]!.toLowerCase();
  for (const [kind, k] of Object.entries(DATA_KINDS) as [DataKind, (typeof DATA_KINDS)[DataKind]][]) if (k.aliases.includes(service)) return kind;
  throw new UserError(`${shown(raw)} is not a database Slipway runs; use postgres (Postgres 17) or valkey (Valkey 8, Redis-compatible).`);
}

/**
 * Postgres majors a database can be upgraded to (pg:upgrade --to), with the image of each: 18 is
 * an upgrade target only, not a version addons:create makes (its packages are Debian testing's,
 * and an upgrade keeps the 17 instance beside it to go back to).
 */
export const POSTGRES_UPGRADES: readonly string[] = ['18'];

/** The major `raw` a Postgres database of `from` may be upgraded to (--to), or one sentence. */
export function upgradeTarget(from: string, raw: string): string {
  const to = raw.trim();
  if (!/^\d{1,3}$/.test(to)) throw new UserError(`--to takes a Postgres major version like 18, not ${shown(raw)}.`);
  if (Number(to) <= Number(from)) throw new UserError(`--to ${to} is not newer than the database's Postgres ${from}; pg:upgrade only goes to a newer major.`);
  if (!POSTGRES_UPGRADES.includes(to)) throw new UserError(`Postgres ${to} is not an upgrade this server offers; pg:upgrade goes to Postgres ${POSTGRES_UPGRADES.join(', ')}.`);
  return to;
}

/** The version asked for, or the kind's default; one sentence for one it does not have. */
export function dataVersion(kind: DataKind, raw: string | undefined): string {
  const k = DATA_KINDS[kind];
  if (raw === undefined) return k.versions[0]!;
  if (!k.versions.includes(raw)) throw new UserError(`${k.title} ${shown(raw)} is not available; this server runs ${k.title} ${k.versions.join(', ')}.`);
  return raw;
}

const NAME = /^[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?$/;

/** A database's name in its app, or the sentence saying what one looks like. */
export function dataName(raw: string): string {
  if (!NAME.test(raw)) throw new UserError(`${shown(raw)} is not a valid database name: use 1-30 lowercase letters, digits and dashes, starting with a letter and not ending with a dash.`);
  return raw;
}

/** The first free name for a new database of `kind`: `postgres`, then `postgres-2`, … */
export function freeName(kind: DataKind, taken: readonly string[]): string {
  if (!taken.includes(kind)) return kind;
  for (let n = 2; ; n++) if (!taken.includes(`${kind}-${n}`)) return `${kind}-${n}`;
}

/** The config var a database is attached as: `--as DATABASE` (Heroku's attachment name) is DATABASE_URL; a name already ending in _URL stays. */
export function attachmentVar(raw: string): string {
  const upper = raw.toUpperCase().replace(/-/g, '_');
  if (!/^[A-Z][A-Z0-9_]{0,60}$/.test(upper)) throw new UserError(`${shown(raw)} is not an attachment name: use letters, digits and underscores, starting with a letter (like DATABASE, which sets DATABASE_URL).`);
  return upper.endsWith('_URL') ? upper : `${upper}_URL`;
}

/** The attachment a database gets when none is given: the kind's (DATABASE_URL), or NAME_URL when that one is in use. */
export function defaultAttachment(kind: DataKind, name: string, inUse: ReadonlySet<string>): string {
  const first = DATA_KINDS[kind].attachment;
  return inUse.has(first) ? attachmentVar(name) : first;
}

/** What the app's claims would be with one more database (two claims of `size`), against its limits; one sentence when over. */
export function claimRefusal(app: string, existing: { claims: number; bytes: number }, size: string, limits: { claims: number; storage: string }, per: 1 | 2 = 2): string | undefined {
  const claims = existing.claims + per;
  const what = per === 2 ? '2 volumes (data and backups)' : 'a volume';
  if (claims > limits.claims) return `A database needs ${what} and ${app} has ${existing.claims} of its ${limits.claims} (SLIPWAY_APP_MAX_VOLUMES); storage:destroy or addons:destroy one first.`;
  const bytes = existing.bytes + per * quantityValue(size);
  if (bytes > quantityValue(limits.storage)) return `A database of ${size} needs ${per === 2 ? 'twice that (data and backups)' : 'that much'}, and ${app}'s volumes and databases would then hold more than ${limits.storage} (SLIPWAY_APP_MAX_STORAGE); make it smaller with --size, or free some first.`;
  return undefined;
}

/** A backup schedule's time of day: `HH:MM`, optionally with ` UTC` or `Z` (the only zone: a server's days are UTC); one sentence otherwise. */
export function backupTime(raw: string): string {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)(?: ?(?:UTC|Z))?$/i.exec(raw.trim());
  if (!m) throw new UserError(`${shown(raw)} is not a time of day; write it as 02:00 UTC (times are in UTC).`);
  return `${m[1]!.padStart(2, '0')}:${m[2]}`;
}

/**
 * Whether a database's daily backup is due at `now`: with a time of day (`at`, HH:MM UTC), once that
 * time has passed today and the last backup ended before it; without, once `intervalMs` has passed
 * since the last one. Never backed up: due at once either way.
 */
export function backupDue(at: string | null, last: string | null, now: number, intervalMs: number): boolean {
  if (!last) return true;
  const lastMs = Date.parse(last);
  if (at === null) return now - lastMs >= intervalMs;
  const [h, m] = at.split(':').map(Number) as [number, number];
  const day = new Date(now);
  let slot = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m);
  if (slot > now) slot -= 24 * 3_600_000;
  return lastMs < slot;
}
