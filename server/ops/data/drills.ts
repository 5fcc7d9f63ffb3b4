// Backups proven, not assumed: a restore drill restores a database's backups into a scratch copy
// (never the live database) and checks it. Postgres: its latest backup and archive to five minutes
// ago, after pgBackRest's verify of every backup file and WAL segment; Valkey: its newest snapshot,
// after valkey-check-rdb. Then that the copy starts (the recovery time), the newest heartbeat in it
// (the recovery point: how far behind the time recovered to the data is), and a check of the copy
// (pg_amcheck over every table and index; Valkey's keys counted). The outcome is recorded and
// shown by addons:info, the API and doctor. The db-backups round takes a full backup (a snapshot)
// of each database a day (a Postgres one then copied off the machine when a bucket and a key are
// set: ops/data/copies.ts) and runs its drill a day; pg:backups:verify and addons:verify run one now.
// Each is a job of the app's (jobs APP lists it, its transcript is kept, jobs:cancel stops it, a
// restart leaves it interrupted), beside deploys: none changes what runs. The round's are started
// by `slipway` from `schedule`.
import { log } from '../../output/log.ts';
import { lineTranscript } from '../../output/transcript.ts';
import { UserError } from '../../errors.ts';
import { dataClaimName } from '../../deploy/data.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import type { DataRow, DrillRow } from '../../store/data.ts';
import { allDatabases, databaseOf, existing, serviceOf } from './addons.ts';
import { backupCommand, inDatabase, refuseFullBackupVolume, parseBackups, toolError } from './backups.ts';
import { backupDue } from './rules.ts';
import { copiesConfigured, copyDatabaseOff } from './copies.ts';
import { rollOut } from '../rollout.ts';
import type { Actor, Progress } from '../actor.ts';
import { observeBackup, observeDrill } from '../../observe/metrics.ts';

/** How far back a drill recovers to: a recent point the archive holds, as a restore after a loss would. */
const DRILL_LAG_MS = 5 * 60_000;
/** How long a drill's scratch copy may take to restore and start. */
const DRILL_TIMEOUT_MS = 15 * 60_000;
/** A database with no successful drill in this long fails doctor (a day's drill and some slack). */
export const DRILL_STALE_MS = 26 * 3_600_000;
/** How often the db-backups round looks for databases due a backup or a drill. */
export const BACKUP_ROUND_MS = 10 * 60_000;
/** Who the db-backups round's jobs are started by: Slipway itself (jobs APP says `by slipway`). */
const SLIPWAY: Identity = { name: 'slipway', admin: true, via: 'local' };

/** Runs one drill of a Postgres database and records it; never throws for a failed check (that is the outcome). */
export async function drill(services: Services, app: string, row: DataRow, signal: AbortSignal, now = Date.now()): Promise<Omit<DrillRow, 'at'>> {
  const outcome = await runDrill(services, app, row, signal, now).catch((err: unknown) => {
    // A drill stopped (jobs:cancel, the server stopping) proves nothing either way: no outcome.
    if (signal.aborted) throw err;
    return { ok: false, step: 'restore', message: (err as Error).message, rpoS: null, rtoMs: null };
  });
  services.store.data.addDrill(app, row.name, outcome);
  observeDrill(outcome.ok);
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

/**
 * A drill of `row` as a job of `kind`, beside deploys; its outcome, recorded whether it passed or
 * not. A failed drill fails its job (with the drill's sentence); a stopped one records nothing.
 */
async function drillJob(actor: Pick<Actor, 'identity' | 'services'>, app: string, row: DataRow, kind: string, progress: Progress, now?: number): Promise<Omit<DrillRow, 'at'>> {
  const done: { outcome?: Omit<DrillRow, 'at'> } = {};
  try {
    await rollOut(actor, app, kind, progress, async ({ transcript: t, signal }) => {
      t.step(`Restore drill of ${row.name} of ${app}: ${row.kind === 'postgres' ? 'its backups and archive' : 'its newest snapshot'} restored into a scratch copy (${row.name} is not touched)`);
      const outcome = await drill(actor.services, app, row, signal, now);
      done.outcome = outcome;
      if (!outcome.ok) throw new UserError(`The restore drill of ${row.name} FAILED at ${outcome.step}: ${outcome.message}.`);
      t.detail(`ok: ${outcome.message}; RPO ${outcome.rpoS ?? '?'} s, RTO ${outcome.rtoMs ?? '?'} ms`);
    }, { unlocked: true });
  } catch (err) {
    if (!done.outcome) throw err;
  }
  return done.outcome!;
}

/** pg:backups:verify: a drill of the database now (its first Postgres, or `raw`), as a job; addons:verify and the API: of `raw`, of either kind. */
export async function verifyBackups(actor: Actor, app: string, raw: string | undefined, anyKind: boolean, progress: Progress): Promise<DrillRow> {
  const row = anyKind && raw !== undefined ? existing(actor.services, app, raw) : databaseOf(actor.services, app, 'postgres', raw, (r) => `${r.name} is not a Postgres database; addons:verify ${app} ${r.name} drills it.`);
  await drillJob(actor, app, row, anyKind ? 'addons:verify' : 'pg:backups:verify', progress);
  return actor.services.store.data.drills(app, row.name).last!;
}

/**
 * The db-backups round: a full backup (Valkey: a snapshot) of each database a day (at its
 * pg:backups:schedule time, when it has one), and a drill a day after it, each a job started by
 * `slipway` from `schedule` (kinds scheduled-backup and scheduled-drill); one database's failure
 * does not stop the others.
 */
export async function backupRound(services: Services, signal: AbortSignal, now = Date.now()): Promise<void> {
  if (!services.deployer) return;
  const day = services.config.databaseBackupIntervalMs;
  const actor = { identity: SLIPWAY, services };
  const progress: Progress = { transcript: lineTranscript(() => {}), signal, origin: 'schedule' };
  const failed: string[] = [];
  for (const { app, row } of allDatabases(services, 'backedUp')) {
    if (signal.aborted) break;
    const last = services.store.data.lastBackupAt(app, row.name);
    if (backupDue(services.store.data.backupAt(app, row.name), last, now, day)) {
      const backedUp = await rollOut(actor, app, 'scheduled-backup', progress, async ({ transcript: t, signal: stop }) => {
        t.step(`Backing up ${row.name} of ${app} (${row.kind === 'postgres' ? 'full' : 'a snapshot'}), as the db-backups round does each day`);
        // A full backup volume: the backup is refused, saying so (the drill below still proves the last one).
        await refuseFullBackupVolume(services, app, row, stop);
        await inDatabase(actor, app, row, row.kind === 'postgres' ? backupCommand(services, 'full') : ['snapshot'], stop, (line) => t.detail(line));
      }, { unlocked: true }).then(() => true, (err: unknown) => {
        failed.push(`${app}/${row.name}: backup: ${(err as Error).message}`);
        return false;
      });
      observeBackup(backedUp);
      if (!backedUp) continue;
      services.store.data.backedUp(app, row.name);
      // The day's copy off the machine, when a bucket and a key are set: a failure is the round's.
      if (row.kind === 'postgres' && copiesConfigured(services)) {
        await copyDatabaseOff(actor, app, row.name, progress).catch((err: unknown) => {
          failed.push(`${app}/${row.name}: copy off the machine: ${(err as Error).message}`);
        });
      }
    }
    const { last: lastDrill } = services.store.data.drills(app, row.name);
    if (!lastDrill || now - Date.parse(lastDrill.at) >= day) {
      const why = await drillJob(actor, app, row, 'scheduled-drill', progress, now).then((d) => (d.ok ? null : `drill failed at ${d.step}`), (err: unknown) => `drill: ${(err as Error).message}`);
      if (why) failed.push(`${app}/${row.name}: ${why}`);
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
