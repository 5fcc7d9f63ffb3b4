// Backups proven, not assumed: a restore drill restores a database's backups into a scratch copy
// (never the live database) and checks it. Postgres: its latest backup and archive to five minutes
// ago, after pgBackRest's verify of every backup file and WAL segment; Valkey: its newest snapshot,
// after valkey-check-rdb. Then that the copy starts (the recovery time), the newest heartbeat in it
// (the recovery point: how far behind the time recovered to the data is), and a check of the copy
// (pg_amcheck over every table and index; Valkey's keys counted). The outcome is recorded and
// shown by addons:info, the API and doctor. The db-backups round takes a full backup (a snapshot)
// of each database a day and runs its drill a day; pg:backups:verify and addons:verify run one now.
import { log } from '../../output/log.ts';
import { dataClaimName } from '../../deploy/data.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { DataRow, DrillRow } from '../../store/data.ts';
import { allDatabases, databaseOf, existing, serviceOf } from './addons.ts';
import { backupCommand, refuseFullBackupVolume, parseBackups, toolError } from './backups.ts';
import { backupDue } from './rules.ts';
import type { Actor } from '../actor.ts';

/** How far back a drill recovers to: a recent point the archive holds, as a restore after a loss would. */
const DRILL_LAG_MS = 5 * 60_000;
/** How long a drill's scratch copy may take to restore and start. */
const DRILL_TIMEOUT_MS = 15 * 60_000;
/** A database with no successful drill in this long fails doctor (a day's drill and some slack). */
export const DRILL_STALE_MS = 26 * 3_600_000;
/** How often the db-backups round looks for databases due a backup or a drill. */
export const BACKUP_ROUND_MS = 10 * 60_000;

/** Runs one drill of a Postgres database and records it; never throws for a failed check (that is the outcome). */
export async function drill(services: Services, app: string, row: DataRow, signal: AbortSignal, now = Date.now()): Promise<Omit<DrillRow, 'at'>> {
  const outcome = await runDrill(services, app, row, signal, now).catch((err: unknown) => ({ ok: false, step: 'restore', message: (err as Error).message, rpoS: null, rtoMs: null }));
  services.store.data.addDrill(app, row.name, outcome);
  // The dashboard's Databases section shows the newest drill (and pg:backups:capture's backup): it refetches on this event.
  services.events.publish({ type: 'app', app, change: 'data' });
  if (!outcome.ok) log.warn('a restore drill failed', { app, database: row.name, step: outcome.step, message: outcome.message });
  return outcome;
}

async function runDrill(services: Services, app: string, row: DataRow, signal: AbortSignal, now: number): Promise<Omit<DrillRow, 'at'>> {
  const deployer = requireDeployer(services);
  const at = { app, name: row.name, kind: row.kind };
  const fail = (step: string, message: string): Omit<DrillRow, 'at'> => ({ ok: false, step, message, rpoS: null, rtoMs: null });
  const postgres = row.kind === 'postgres';
  const verify = await deployer.data.command(at, ['verify'], { signal });
  if (verify.code !== 0) {
    const why = toolError(verify.stderr) || `exit ${verify.code}`;
    return fail('verify', postgres ? `pgBackRest's verify found the backups damaged: ${why}` : why.replace(/^slipway-valkey: verify: /, ''));
  }
  // Postgres: five minutes ago, or the end of the archive when the first backup is more recent
  // than that. Valkey: its newest snapshot, the only point it can go back to.
  let target: string | undefined;
  if (postgres) {
    const list = await deployer.data.command(at, ['backups'], { signal });
    if (list.code !== 0) return fail('verify', `the backups could not be listed: ${toolError(list.stderr)}`);
    const first = parseBackups(row.name, list.stdout).backups[0];
    if (!first) return fail('verify', 'there is no backup to restore yet');
    target = now - DRILL_LAG_MS > Date.parse(first.finishedAt) ? new Date(now - DRILL_LAG_MS).toISOString() : undefined;
  }
  const ca = services.store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const d = { ...serviceOf(services, app, row, ca.cert), restore: { fromClaim: dataClaimName(row.name, 'backup'), target } };
  const check = postgres ? 'amcheck' : 'check';
  const { readyMs, results } = await deployer.data.drill(d, [['last-heartbeat'], [check]], { signal, timeoutMs: DRILL_TIMEOUT_MS });
  const [heartbeat, checked] = results;
  if (!heartbeat || heartbeat.code !== 0) return { ...fail('heartbeat', `the heartbeat could not be read from the restored copy: ${toolError(heartbeat?.stderr ?? '')}`), rtoMs: readyMs };
  const beat = heartbeat.stdout.trim();
  const rpoS = beat ? Math.max(0, Math.round(((target ? Date.parse(target) : now) - Date.parse(beat)) / 1000)) : null;
  if (!checked || checked.code !== 0) {
    const why = toolError(checked?.stdout || checked?.stderr || '');
    return { ok: false, step: check, message: postgres ? `pg_amcheck found corruption in the restored copy: ${why}` : `the restored copy did not answer: ${why}`, rpoS, rtoMs: readyMs };
  }
  const restored = postgres ? (target ? `to ${target}` : 'to the end of the archive') : 'from its newest snapshot';
  const clean = postgres ? 'amcheck clean' : checked.stdout.trim();
  return { ok: true, step: null, message: `restored ${restored}, ${clean}${beat ? '' : ', no heartbeat yet'}`, rpoS, rtoMs: readyMs };
}

/** pg:backups:verify: a drill of the database now (its first Postgres, or `raw`); addons:verify and the API: of `raw`, of either kind. */
export async function verifyBackups(actor: Actor, app: string, raw: string | undefined, anyKind = false): Promise<DrillRow> {
  const row = anyKind && raw !== undefined ? existing(actor.services, app, raw) : databaseOf(actor.services, app, 'postgres', raw, (r) => `${r.name} is not a Postgres database; addons:verify ${app} ${r.name} drills it.`);
  await drill(actor.services, app, row, actor.signal ?? new AbortController().signal);
  return actor.services.store.data.drills(app, row.name).last!;
}

/** The db-backups round: a full backup (Valkey: a snapshot) of each database a day (at its pg:backups:schedule time, when it has one), and a drill a day after it; one database's failure does not stop the others. */
export async function backupRound(services: Services, signal: AbortSignal, now = Date.now()): Promise<void> {
  if (!services.deployer) return;
  const day = services.config.databaseBackupIntervalMs;
  const failed: string[] = [];
  for (const { app, row } of allDatabases(services, 'backedUp')) {
    if (signal.aborted) break;
    const last = services.store.data.lastBackupAt(app, row.name);
    if (backupDue(services.store.data.backupAt(app, row.name), last, now, day)) {
      // A full backup volume: the backup is refused, saying so (the drill below still proves the last one).
      const full = await refuseFullBackupVolume(services, app, row, signal).then(() => null, (err: unknown) => (err as Error).message);
      const r = full ? { code: -1, stdout: '', stderr: full } : await services.deployer.data.command({ app, name: row.name, kind: row.kind }, row.kind === 'postgres' ? backupCommand(services, 'full') : ['snapshot'], { signal }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: (err as Error).message }));
      if (r.code !== 0) {
        failed.push(`${app}/${row.name}: backup: ${toolError(r.stderr)}`);
        continue;
      }
      services.store.data.backedUp(app, row.name);
    }
    const { last: lastDrill } = services.store.data.drills(app, row.name);
    if (!lastDrill || now - Date.parse(lastDrill.at) >= day) {
      const d = await drill(services, app, row, signal, now);
      if (!d.ok) failed.push(`${app}/${row.name}: drill failed at ${d.step}`);
    }
  }
  if (failed.length) throw new Error(failed.join('; '));
}

/**
 * doctor's view: the databases whose last drill failed, and those older than
 * DRILL_STALE_MS without a successful drill since, each as `app/name (why)`.
 */
export function unprovenDatabases(services: Pick<Services, 'store'>, now = Date.now()): string[] {
  const out: string[] = [];
  for (const { app, row } of allDatabases(services, 'backedUp')) {
    const { last, lastOk } = services.store.data.drills(app, row.name);
    const failed = last !== undefined && !last.ok;
    if (!failed && now - Date.parse(row.createdAt) < DRILL_STALE_MS) continue;
    if (!failed && lastOk && now - Date.parse(lastOk.at) < DRILL_STALE_MS) continue;
    out.push(`${app}/${row.name} (${failed ? `last drill failed at ${last.step}: ${last.message}` : 'no verified restore in 26 h'})`);
  }
  return out;
}
