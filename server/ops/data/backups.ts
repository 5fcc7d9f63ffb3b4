// A Postgres database's backups (Heroku's pg:backups, pg:backups:capture; pg:restore, pg:promote):
// continuous WAL archiving and base backups by pgBackRest in the database's pod onto its own
// backup volume (images/README.md), listed from pgBackRest's own record; a restore, to a point
// in time or the end of the archive, always into a NEW instance that reads the old one's backup
// volume read-only, is checked, and is attached under its own config var; pg:promote then moves
// DATABASE_URL to it in one release, and the old instance stays (a rollback brings it back).
// The heartbeat round writes the time into every Postgres database every 30 s, so a restore
// (and a drill) can say how recent the data it holds is.
import { performance } from 'node:perf_hooks';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { log } from '../../output/log.ts';
import { dataClaimName, dataHostNames, retentionArg, type DataCommand } from '../../deploy/data.ts';
import { newServerCert } from '../../data/certs.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import type { BackupInfo, Backups, Restored } from '../../shapes/backups.ts';
import { setConfig } from '../config/config.ts';
import { rollOut } from '../rollout.ts';
import type { DataKind } from '../../model.ts';
import { attachmentVar, backupTime, DATA_KINDS, freeName } from './rules.ts';
import { allDatabases, checked, databaseOf, existing, guardsOf, makeAndAttach, serviceOf } from './addons.ts';
import { rowUrl } from './attachments.ts';
import type { Actor, Progress } from '../actor.ts';
import { databaseStats, fullVolumes, isFull } from './stats.ts';
import { observeBackup } from '../../observe/metrics.ts';

/** How long a restore may take to replay its backup and archive before it accepts connections. */
const RESTORE_TIMEOUT_MS = 15 * 60_000;
/** How often the heartbeat round writes into every Postgres database. */
export const HEARTBEAT_MS = 30_000;

/** The app's Postgres database `raw`, or its first one. */
export function postgresOf(services: Pick<Services, 'store'>, app: string, raw: string | undefined): DataRow {
  return databaseOf(services, app, 'postgres', raw, (row) => `${row.name} is not a Postgres database; backups here are Postgres's (Valkey keeps its own snapshots).`);
}

/** The line of a tool's standard error that says why it failed: pgBackRest's ERROR line (its last line only says the command ended), else the last. */
export function toolError(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  return (lines.findLast((l) => /ERROR|error|corrupt/.test(l)) ?? lines.at(-1) ?? '').replace(/^P\d+ +\w+: /, '');
}

/**
 * The image's backup command of `type` with the configured retention
 * (SLIPWAY_DATABASE_BACKUP_RETENTION). The default (2 full backups) is the image's own and is not
 * passed, so a database still running an older image, which takes no retention argument, backs up.
 */
export function backupCommand(services: Pick<Services, 'config'>, type: 'full' | 'diff' | 'incr'): DataCommand {
  const r = services.config.databaseBackupRetention;
  return 'fullBackups' in r && r.fullBackups === 2 ? ['backup', type] : ['backup', type, retentionArg(r)];
}

/** Throws the full backup volume's sentence when the pod says it is full (a pod that cannot say lets the backup try). */
export async function refuseFullBackupVolume(services: Pick<Services, 'deployer'>, app: string, row: DataRow, signal?: AbortSignal): Promise<void> {
  const stats = await databaseStats(services, app, row, signal);
  if (stats && isFull(stats.backup)) throw new UserError(fullVolumes(app, row.name, { ...stats, data: null })[0]!);
}

/** Runs one of the image's commands in the database's pod; its failure is one sentence with the tool's reason. */
export async function inDatabase(actor: Actor, app: string, row: DataRow, command: DataCommand, signal: AbortSignal, onLine?: (line: string) => void): Promise<string> {
  const r = await requireDeployer(actor.services).data.command({ app, name: row.name, kind: row.kind }, command, { signal, ...(onLine ? { onLine } : {}) });
  if (r.code !== 0) {
    const why = toolError(r.stderr);
    throw new UserError(`${command.join(' ')} failed in ${row.name} (exit ${r.code})${why ? `: ${why}` : ''}.`);
  }
  return r.stdout;
}

interface PgBackRestInfo {
  name: string;
  backup?: { label: string; type: string; timestamp: { start: number; stop: number }; info?: { size?: number; repository?: { delta?: number; size?: number } } }[];
  archive?: { min?: string | null; max?: string | null }[];
}

/** pgBackRest's `info --output=json` as Slipway shows it; one sentence when it is not that. */
export function parseBackups(name: string, json: string): Backups {
  let info: PgBackRestInfo[];
  try {
    info = JSON.parse(json) as PgBackRestInfo[];
  } catch (err) {
    throw new Error(`the backup list of ${name} is not pgBackRest's JSON`, { cause: err });
  }
  const stanza = info.find((s) => s.name === 'db');
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const backups: BackupInfo[] = (stanza?.backup ?? []).map((b) => ({
    label: b.label,
    type: b.type === 'diff' || b.type === 'incr' ? b.type : 'full',
    startedAt: iso(b.timestamp.start),
    finishedAt: iso(b.timestamp.stop),
    bytes: b.info?.size ?? 0,
    storedBytes: b.info?.repository?.delta ?? b.info?.repository?.size ?? 0,
  }));
  const a = stanza?.archive?.[0];
  return { database: name, backups, archive: a?.min && a.max ? { from: a.min, to: a.max } : null };
}

/** pg:backups: a Postgres database's backups. */
export async function listBackups(actor: Actor, app: string, raw: string | undefined): Promise<Backups> {
  const row = postgresOf(actor.services, app, raw);
  return parseBackups(row.name, await inDatabase(actor, app, row, ['backups'], actor.signal ?? new AbortController().signal));
}

/**
 * pg:backups:schedule (a time of day, `02:00 UTC`) and unschedule (null): when the db-backups round
 * takes the database's daily full backup; unscheduled, a day after the last one
 * (SLIPWAY_DATABASE_BACKUP_INTERVAL_S).
 */
export function scheduleBackups(actor: Actor, app: string, raw: string | undefined, at: string | null): { database: string; at: string | null } {
  const row = postgresOf(actor.services, app, raw);
  const time = at === null ? null : backupTime(at);
  actor.services.store.data.setBackupAt(app, row.name, time);
  return { database: row.name, at: time };
}

/** pg:backups:capture: a backup now (full by default), pgBackRest's lines on the transcript; the backup made. */
export async function captureBackup(actor: Actor, app: string, raw: string | undefined, type: 'full' | 'diff' | 'incr', progress: Progress): Promise<BackupInfo> {
  const row = postgresOf(actor.services, app, raw);
  await refuseFullBackupVolume(actor.services, app, row, progress.signal);
  // A job (its transcript kept, jobs:cancel stops it, a restart leaves it interrupted), beside deploys.
  await rollOut(actor, app, 'pg:backups:capture', progress, async ({ transcript: t, signal }) => {
    t.step(`Backing up ${row.name} of ${app} (${type})`);
    await inDatabase(actor, app, row, backupCommand(actor.services, type), signal, (line) => t.detail(line)).catch((err: unknown) => {
      observeBackup(false);
      throw err;
    });
  }, { unlocked: true });
  observeBackup(true);
  actor.services.store.data.backedUp(app, row.name);
  actor.services.events.publish({ type: 'app', app, change: 'data' });
  const { backups } = await listBackups(actor, app, row.name);
  const made = backups.at(-1);
  if (!made) throw new UserError(`The backup of ${row.name} ended, but pgBackRest lists none.`);
  return made;
}

/** A restore's target time: an ISO 8601 time (or `YYYY-MM-DD HH:MM:SS` in UTC) not in the future. */
export function restoreTarget(raw: string, now = Date.now()): string {
  const normal = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(UTC|Z))?$/.test(raw) ? `${raw.replace(/ ?(UTC|Z)$/, '').replace(' ', 'T')}Z` : raw;
  const t = Date.parse(normal);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(t)) throw new UserError(`${shown(raw)} is not a time; write it as 2026-12-05T10:15:00Z (or "2026-12-05 10:15:00 UTC").`);
  if (t > now) throw new UserError(`${raw} is in the future; a restore recovers to a time that has passed.`);
  return new Date(t).toISOString();
}

/**
 * pg:restore: a NEW instance made from the backups and archive of `from` (the app's first
 * Postgres database by default), recovered to `at` (or the end of the archive). The source is
 * never touched: its backup volume is mounted read-only while the new one fills its own data
 * volume, then unmounted again (the new instance must not depend on the old one's volume). It is
 * attached under its own config var (NAME_URL) in one release; pg:promote makes it the app's
 * DATABASE_URL. A failure at any step removes the new instance.
 */
export async function restoreDatabase(actor: Actor, app: string, opts: { from?: string | undefined; at?: string | undefined; to?: string | undefined; promote?: boolean | undefined }, progress: Progress): Promise<Restored> {
  const { store } = actor.services;
  const source = postgresOf(actor.services, app, opts.from);
  const target = opts.at !== undefined ? restoreTarget(opts.at) : undefined;
  const name = opts.to ?? freeName('postgres', store.data.list(app).map((r) => r.name));
  const attachment = attachmentVar(name);
  const first = checked(actor, app, { kind: 'postgres', name, as: attachment }, 'postgres', source.size);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const tls = await newServerCert(ca, dataHostNames(app, first.name));
  const t = progress.transcript;
  const deployer = requireDeployer(actor.services);
  let readyMs = 0;
  let newestHeartbeat: string | null = null;
  const restored = (attachment: string, release: number | null, promoted: boolean): Restored => ({ name: first.name, from: source.name, attachment, target: target ?? null, newestHeartbeat, readyMs, release, promoted });
  return makeAndAttach(actor, app, 'pg:restore', progress, () => {
    checked(actor, app, { kind: 'postgres', name: first.name, as: first.attachment }, 'postgres', source.size);
    return { ...source, name: first.name, attachment: first.attachment, tlsKey: tls.key, tlsCert: tls.cert, createdAt: '' };
  }, async (row, p) => {
    const t = p.transcript;
    const guards = guardsOf(actor.services, app);
    const service = serviceOf(actor.services, app, row, ca.cert);
    t.step(`Restoring ${source.name} of ${app} into a new database ${row.name}, ${target ? `to ${target}` : 'to the end of its archive'} (${source.name} is not touched)`);
    const started = performance.now();
    await deployer.data.apply({ ...service, restore: { fromClaim: dataClaimName(source.name, 'backup'), target } }, guards, { transcript: t, signal: p.signal, timeoutMs: RESTORE_TIMEOUT_MS });
    readyMs = Math.round(performance.now() - started);
    t.detail(`${row.name} accepted connections ${(readyMs / 1000).toFixed(1)} s after it started`);
    newestHeartbeat = (await inDatabase(actor, app, row, ['last-heartbeat'], p.signal)).trim() || null;
    t.detail(newestHeartbeat ? `Newest heartbeat in it: ${newestHeartbeat}` : 'No heartbeat in it (the source had none yet)');
    // On its own from now on: the source's backup volume is no longer mounted.
    await deployer.data.apply(service, guards, { transcript: t, signal: p.signal, timeoutMs: RESTORE_TIMEOUT_MS });
    // Its own repository has WAL from now on but no backup to start from: one, before it is used.
    t.detail(`Taking a first full backup of ${row.name}`);
    await inDatabase(actor, app, row, backupCommand(actor.services, 'full'), p.signal);
    store.data.backedUp(app, row.name);
  }, async (row) => {
    // Promoted at once, in the same release: after a loss the app's DATABASE_URL names a database
    // that is gone, and a release that only attached this one would run the release phase there.
    if (opts.promote) {
      const p = await promote(actor, app, row, 'DATABASE_URL', progress);
      return restored(p.attachment, p.release, true);
    }
    t.step(`Attaching ${row.name} as ${row.attachment}`);
    const r = await setConfig(actor, app, { set: { [row.attachment]: rowUrl(app, row) } }, progress);
    return restored(row.attachment, r.release, false);
  });
}

/**
 * pg:promote (redis:promote: `kind` valkey, REDIS_URL; the API: `any`): makes `raw` the app's
 * DATABASE_URL (or `as`) in one release; the database that held
 * it keeps its data and is attached as its own NAME_URL in the same release, so a rollback to an
 * earlier release brings it back as DATABASE_URL.
 */
export async function promoteDatabase(actor: Actor, app: string, raw: string, as: string | undefined, progress: Progress, kind: DataKind | 'any' = 'postgres'): Promise<{ name: string; attachment: string; release: number | null; previous: string | null }> {
  const row = kind === 'any' ? existing(actor.services, app, raw)
    : kind === 'postgres' ? postgresOf(actor.services, app, raw)
    : databaseOf(actor.services, app, kind, raw, (r) => `${r.name} is a Postgres database; pg:promote ${app} ${r.name} promotes it.`);
  const target = as !== undefined ? attachmentVar(as) : DATA_KINDS[row.kind].attachment;
  if (row.attachment === target) throw new UserError(`${row.name} is ${target} already.`);
  return promote(actor, app, row, target, progress);
}

/** Sets `target` to `row`'s URL in one release, the database that held it moving to its own NAME_URL, and records both. */
export async function promote(actor: Actor, app: string, row: DataRow, target: string, progress: Progress): Promise<{ name: string; attachment: string; release: number | null; previous: string | null }> {
  const { store } = actor.services;
  const vars = store.config.all(app);
  const holder = store.data.list(app).find((r) => r.attachment === target && r.name !== row.name);
  const set: Record<string, string> = { [target]: rowUrl(app, row) };
  const unset: string[] = [];
  let holderVar: string | undefined;
  if (holder) {
    holderVar = attachmentVar(holder.name);
    if (holderVar === target || (Object.hasOwn(vars, holderVar) && vars[holderVar] !== rowUrl(app, holder))) throw new UserError(`${holderVar} is already set for ${app}; config:unset it first, so ${holder.name} can keep its own name.`);
    set[holderVar] = rowUrl(app, holder);
  }
  if (row.attachment !== holderVar && Object.hasOwn(vars, row.attachment)) unset.push(row.attachment);
  progress.transcript.step(`Promoting ${row.name} to ${target}${holder ? ` (${holder.name} stays, as ${holderVar})` : ''}`);
  const r = await setConfig(actor, app, { set, unset: unset.filter((k) => !Object.hasOwn(set, k)) }, progress);
  if (holder && holderVar) store.data.setAttachment(app, holder.name, holderVar);
  store.data.setAttachment(app, row.name, target);
  return { name: row.name, attachment: target, release: r.release, previous: holder?.name ?? null };
}

/** The heartbeat round: the time written into every database of every app (Valkey: a key); one database's failure does not stop the others. */
export async function writeHeartbeats(services: Services, signal: AbortSignal): Promise<void> {
  if (!services.deployer) return;
  const failed: string[] = [];
  for (const { app, row } of allDatabases(services)) {
    if (signal.aborted) break;
    const r = await services.deployer.data.command({ app, name: row.name, kind: row.kind }, ['heartbeat'], { signal }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: (err as Error).message }));
    if (r.code !== 0) {
      failed.push(`${app}/${row.name}`);
      log.warn('a database heartbeat failed', { app, database: row.name, code: r.code, stderr: r.stderr.slice(-300) });
    }
  }
  if (failed.length) throw new Error(`the heartbeat failed in ${failed.join(', ')}`);
}
