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
