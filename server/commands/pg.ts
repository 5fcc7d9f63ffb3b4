// pg:backups, pg:backups:capture, pg:restore, pg:promote: a Postgres database's backups and
// point-in-time restores into a new instance, over ops/data/backups.ts.
import { UsageError, UserError } from '../errors.ts';
import { captureBackup, listBackups, promoteDatabase, restoreDatabase, scheduleBackups } from '../ops/data/backups.ts';
import { upgradeDatabase } from '../ops/data/upgrade.ts';
import { verifyBackups } from '../ops/data/drills.ts';
import { showSize } from '../ops/storage/volumes.ts';
import { defineCommand, listing, type Command, type Listing } from './types.ts';
import type { DrillRow } from '../store/data.ts';
import { actorOf, jsonProgressOf, progressOf } from './progress.ts';

/** A drill's outcome as a line, and the command's failure when it failed. */
function drillOutcome(d: DrillRow): Listing {
  return listing(d, (out) => {
    if (d.ok) out.line(`Restore drill ok: ${d.message}; RPO ${d.rpoS ?? '?'} s, RTO ${d.rtoMs === null ? '?' : (d.rtoMs / 1000).toFixed(1)} s`);
    else out.line(`Restore drill FAILED at ${d.step}: ${d.message}`);
  }, d.ok ? undefined : new UserError(`The restore drill failed at ${d.step}; the backups are not proven.`));
}

export const pgCommands: Command[] = [
  defineCommand({
    name: 'pg:backups',
    usage: 'APP [NAME]',
    summary: "List a Postgres database's backups (its first, or NAME) and the span of WAL archived since",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name]) => {
      const b = await listBackups(actorOf(ctx), app, name);
      return listing(b, (out) => {
        out.heading(`${app} ${b.database} Backups`);
        if (b.backups.length === 0) out.line(`No backups yet; pg:backups:capture ${app} ${b.database} takes one (the daily schedule takes the next).`);
        else out.table(b.backups.map((x) => [x.label, x.type, x.finishedAt, showSize(x.bytes), showSize(x.storedBytes)]), ['Label', 'Type', 'Finished', 'Size', 'Stored']);
        out.line(b.archive ? `WAL archived continuously: ${b.archive.from} to ${b.archive.to}` : 'No WAL archived yet.');
      });
    },
  }),
  defineCommand({
    name: 'pg:backups:schedule',
    usage: "APP [NAME] --at '02:00 UTC'",
    summary: "Take a Postgres database's daily full backup at a time of day (UTC) instead of a day after the last one",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    flags: { at: { type: 'string', help: 'the time of day, HH:MM UTC' } },
    run: async (ctx, app, [name], flags) => {
      if (flags.at === undefined) throw new UsageError(`pg:backups:schedule needs --at, for example: pg:backups:schedule ${app} --at '02:00 UTC'`);
      const r = scheduleBackups(actorOf(ctx), app, name, flags.at);
      return listing(r, (out) => out.line(`${r.database} is backed up every day at ${r.at} UTC (then its restore drill runs)`));
    },
  }),
  defineCommand({
    name: 'pg:backups:unschedule',
    usage: 'APP [NAME]',
    summary: "Take a Postgres database's daily full backup a day after the last one again, at no set time",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name]) => {
      const r = scheduleBackups(actorOf(ctx), app, name, null);
      return listing(r, (out) => out.line(`${r.database} is backed up a day after its last backup, at no set time`));
    },
  }),
  defineCommand({
    name: 'pg:backups:capture',
    usage: 'APP [NAME] [--type full|diff|incr]',
    summary: 'Back up a Postgres database now onto its backup volume (pgBackRest; full by default)',
    access: 'app',
    args: { min: 1, max: 2 },
    flags: { type: { type: 'string', help: 'full (default), diff (since the last full) or incr (since the last backup)' } },
    run: async (ctx, app, [name], flags) => {
      const type = flags.type ?? 'full';
      if (type !== 'full' && type !== 'diff' && type !== 'incr') throw new UsageError(`--type is full, diff or incr, not "${type}".`);
      const b = await captureBackup(actorOf(ctx), app, name, type, progressOf(ctx));
      ctx.out.line(`Backed up as ${b.label} (${b.type}, ${showSize(b.bytes)}, ${showSize(b.storedBytes)} stored)`);
    },
  }),
  defineCommand({
    name: 'pg:restore',
    usage: 'APP [--from NAME] [--at TIME] [--to NEWNAME] [--promote]',
    summary: "Restore a Postgres database's backups and archive into a NEW database (to TIME, or the latest), checked and attached as NEWNAME_URL (or, with --promote, as DATABASE_URL); the source is never touched",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      from: { type: 'string', help: 'the database whose backups to restore (default the first Postgres)' },
      at: { type: 'string', help: 'the time to recover to: 2026-12-05T10:15:00Z (default: the end of the archive)' },
      to: { type: 'string', help: 'the new database\'s name (default postgres-2, …)' },
      promote: { type: 'boolean', help: "make it the app's DATABASE_URL in the same release (the one that held it stays, as its own NAME_URL)" },
    },
    run: async (ctx, app, _args, flags) => {
      const progress = jsonProgressOf(ctx, flags.json);
      const r = await restoreDatabase(actorOf(ctx), app, { from: flags.from, at: flags.at, to: flags.to, promote: flags.promote }, progress);
      return listing(r, (out) => {
        out.line(`Restored ${r.from} into ${r.name} (${r.target ? `as of ${r.target}` : 'to the end of its archive'}; ready in ${(r.readyMs / 1000).toFixed(1)} s; newest heartbeat ${r.newestHeartbeat ?? 'none'}), attached as ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}`);
        out.line(r.promoted ? `${r.from} stays, with its data as it was` : `Make it the app's database with: pg:promote ${app} ${r.name}`);
      });
    },
  }),
  defineCommand({
    name: 'pg:promote',
    usage: 'APP NAME [--as DATABASE]',
    summary: "Make a Postgres database the app's DATABASE_URL in one release; the one that held it stays, as its own NAME_URL (rollback brings it back)",
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { as: { type: 'string', help: 'the attachment to move (default DATABASE)' } },
    run: async (ctx, app, [name], flags) => {
      const r = await promoteDatabase(actorOf(ctx), app, name!, flags.as, progressOf(ctx));
      ctx.out.line(`Promoted ${r.name} to ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}${r.previous ? `; ${r.previous} stays` : ''}`);
    },
  }),
  defineCommand({
    name: 'pg:upgrade',
    usage: 'APP [NAME] --to 18 [--name NEWNAME]',
    summary: "Upgrade a Postgres database to a newer major in a NEW database (a copy restored from its backups, pg_upgrade, checked), which takes over its DATABASE_URL in one release; the old one stays, as its own NAME_URL (rollback brings it back)",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    flags: {
      to: { type: 'string', help: 'the major to upgrade to: 18' },
      name: { type: 'string', help: "the new database's name (default postgres-2, …)" },
    },
    run: async (ctx, app, [name], flags) => {
      if (flags.to === undefined) throw new UsageError('pg:upgrade needs --to, the major to upgrade to (--to 18).');
      const r = await upgradeDatabase(actorOf(ctx), app, { database: name, to: flags.to, name: flags.name }, jsonProgressOf(ctx, flags.json));
      return listing(r, (out) => {
        out.line(`Upgraded ${r.from} (Postgres ${r.fromVersion}) into ${r.name} (Postgres ${r.serverVersion}; ${r.tables} tables, ${r.rows} rows, the same as before pg_upgrade; restored in ${(r.restoreMs / 1000).toFixed(1)} s, upgraded in ${(r.upgradeMs / 1000).toFixed(1)} s), now ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}`);
        out.line(`${r.from} stays, with its data as it was; rollback brings it back, addons:destroy ${app} ${r.from} removes it`);
      });
    },
  }),
  defineCommand({
    name: 'pg:backups:verify',
    usage: 'APP [NAME]',
    summary: "Prove a Postgres database's backups now: its latest backup and archive restored into a scratch copy, started and checked (pgBackRest verify, the heartbeat, pg_amcheck); addons:info shows the outcome",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name]) => drillOutcome(await verifyBackups(actorOf(ctx), app, name, false, progressOf(ctx))),
  }),
  defineCommand({
    name: 'addons:verify',
    usage: 'APP NAME',
    summary: "Prove a database's backups now, Postgres or Valkey (its newest snapshot checked with valkey-check-rdb, restored into a scratch copy, started, its heartbeat read); addons:info shows the outcome",
    access: 'app',
    args: { min: 2, max: 2 },
    json: true,
    run: async (ctx, app, [name]) => drillOutcome(await verifyBackups(actorOf(ctx), app, name, true, progressOf(ctx))),
  }),
];
