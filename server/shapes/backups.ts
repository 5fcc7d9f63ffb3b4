// A Postgres database's backups as pg:backups, pg:backups:capture, pg:restore and pg:promote show them.
import { Type, type Static } from 'typebox';

/** One backup in pgBackRest's repository on the database's backup volume. */
export const BackupInfoSchema = Type.Object({
  label: Type.String({ description: "pgBackRest's label (`20261205-101500F`)." }),
  type: Type.Union([Type.Literal('full'), Type.Literal('diff'), Type.Literal('incr')]),
  startedAt: Type.String(), finishedAt: Type.String(),
  bytes: Type.Integer({ minimum: 0, description: 'The database as it was backed up.' }),
  storedBytes: Type.Integer({ minimum: 0, description: 'What this backup adds to the backup volume (compressed).' }),
}, { additionalProperties: false });
/** One backup. */
export type BackupInfo = Static<typeof BackupInfoSchema>;

/** `pg:backups --json`: a database's backups, oldest first, and the span of WAL archived. */
export const BackupsSchema = Type.Object({
  database: Type.String(),
  backups: Type.Array(BackupInfoSchema),
  archive: Type.Union([Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false }), Type.Null()], { description: 'The first and last WAL segment archived (continuous archiving, at most SLIPWAY_DATABASE_ARCHIVE_TIMEOUT_S behind).' }),
}, { additionalProperties: false });
/** A database's backups. */
export type Backups = Static<typeof BackupsSchema>;

/** What pg:restore made: the new instance, where it recovered to, and how long until it answered. */
export const RestoredSchema = Type.Object({
  name: Type.String(), from: Type.String(), attachment: Type.String(),
  target: Type.Union([Type.String(), Type.Null()], { description: 'The time recovered to; null: the end of the archive.' }),
  newestHeartbeat: Type.Union([Type.String(), Type.Null()], { description: 'The newest heartbeat Slipway wrote into the source that the new instance holds.' }),
  readyMs: Type.Integer({ minimum: 0, description: 'From starting the new instance until it accepted connections (recovery time).' }),
  release: Type.Union([Type.Integer(), Type.Null()]),
  promoted: Type.Boolean({ description: "Whether it was made the app's DATABASE_URL in that same release (--promote)." }),
}, { additionalProperties: false });
/** What pg:restore made. */
export type Restored = Static<typeof RestoredSchema>;

/** What pg:upgrade made: the upgraded copy, what it was checked with, and the release that made it the app's database. */
export const UpgradedSchema = Type.Object({
  name: Type.String({ description: 'The new database (a copy of the source, upgraded).' }),
  from: Type.String({ description: 'The source database, untouched; it stays attached as its own NAME_URL.' }),
  fromVersion: Type.String(), version: Type.String({ description: 'The major the new database runs.' }),
  serverVersion: Type.String({ description: "The upgraded server's own `SHOW server_version`." }),
  attachment: Type.String({ description: 'The config var the new database holds (the one the source held, DATABASE_URL by default).' }),
  tables: Type.Integer({ minimum: 0, description: 'User tables whose row counts were compared before and after pg_upgrade (all equal).' }),
  rows: Type.Integer({ minimum: 0, description: 'Rows in them.' }),
  newestHeartbeat: Type.Union([Type.String(), Type.Null()], { description: 'The newest heartbeat from the source that the new database holds.' }),
  restoreMs: Type.Integer({ minimum: 0, description: 'From starting the copy until the restored 17 accepted connections.' }),
  upgradeMs: Type.Integer({ minimum: 0, description: 'From starting the new image until the upgraded server accepted connections (pg_upgrade and vacuumdb included).' }),
  release: Type.Union([Type.Integer(), Type.Null()]),
}, { additionalProperties: false });
/** What pg:upgrade made. */
export type Upgraded = Static<typeof UpgradedSchema>;

/** A database's backup schedule (pg:backups:schedule, unschedule). */
export const BackupScheduleSchema = Type.Object({
  database: Type.String(),
  at: Type.Union([Type.String(), Type.Null()], { description: 'The time of day (HH:MM, UTC) its daily backup is taken at; null: a day after the last one.' }),
}, { additionalProperties: false });
