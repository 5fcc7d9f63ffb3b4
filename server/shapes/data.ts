// An app's databases as addons, addons:info and addons:create show them (--json and the API).
import { Type, type Static } from 'typebox';

/** A restore drill's outcome. */
export const DrillSchema = Type.Object({
  at: Type.String(),
  ok: Type.Boolean(),
  step: Type.Union([Type.String(), Type.Null()], { description: 'The step that failed: verify, restore, heartbeat or amcheck; null when it passed.' }),
  message: Type.Union([Type.String(), Type.Null()]),
  rpoS: Type.Union([Type.Number(), Type.Null()], { description: 'Recovery point: how far the newest heartbeat in the restored copy was behind the time recovered to, in seconds.' }),
  rtoMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Recovery time: from starting the copy until it accepted connections, in ms.' }),
}, { additionalProperties: false });

/** One database of `addons --json`. */
const VolumeUseSchema = Type.Union([Type.Object({ usedBytes: Type.Integer({ minimum: 0 }), sizeBytes: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }), Type.Null()]);

/** What a database's pod says of itself (Postgres; the image's `stats`). */
export const DataStatsSchema = Type.Object({
  connections: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Client sessions open now, every user\'s; null when the server did not answer.' }),
  maxConnections: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'The most it accepts (SLIPWAY_DATABASE_MAX_CONNECTIONS).' }),
  data: VolumeUseSchema,
  backup: VolumeUseSchema,
}, { additionalProperties: false });
/** What a database's pod says of itself. */
export type DataStats = Static<typeof DataStatsSchema>;

export const AddonInfoSchema = Type.Object({
  name: Type.String({ description: 'Its name in the app (`postgres`, `valkey`, or --name); objects are `db-NAME`.' }),
  kind: Type.Union([Type.Literal('postgres'), Type.Literal('valkey')]),
  version: Type.String({ description: "The server's major version." }),
  size: Type.String({ description: 'What its data volume holds; its backup volume holds as much.' }),
  attachment: Type.String({ description: 'The config var holding its URL (`DATABASE_URL`, `REDIS_URL`).' }),
  host: Type.String({ description: "The host the app's pods connect to (TLS only)." }),
  port: Type.Integer(),
  state: Type.String({ description: 'Running, Pending (why), CrashLoopBackOff, … as the cluster says; `absent` when the cluster has none.' }),
  ready: Type.Boolean({ description: 'Whether it accepts connections now.' }),
  restarts: Type.Integer({ minimum: 0 }),
  volumes: Type.Object({ data: Type.String(), backup: Type.String() }, { description: "The phase of its claims: Bound, Pending, absent.", additionalProperties: false }),
  createdAt: Type.String(),
  lastBackupAt: Type.Union([Type.String(), Type.Null()], { description: 'When the last backup Slipway took ended (Postgres); null: none yet.' }),
  backupAt: Type.Union([Type.String(), Type.Null()], { description: 'The time of day (HH:MM, UTC) its daily backup is taken at (pg:backups:schedule); null: a day after the last one.' }),
  lastDrill: Type.Union([DrillSchema, Type.Null()], { description: 'The newest restore drill (Postgres): its latest backup restored into a scratch copy and checked.' }),
  lastVerifiedRestore: Type.Union([DrillSchema, Type.Null()], { description: 'The newest drill that passed.' }),
  stats: Type.Union([DataStatsSchema, Type.Null()], { description: 'Its volumes\' use and its connections, as its pod says now (Postgres); null when it cannot say (not ready, no answer within 5 s).' }),
  image: Type.Union([Type.String(), Type.Null()], { description: 'The image it runs (null: not on the cluster); addons:update moves it to the server\'s.' }),
  problems: Type.Array(Type.String(), { description: "One sentence per full volume (95 % or more used): what stops, and what to do; one when it runs another image than the server's." }),
}, { additionalProperties: false });
/** A database as addons shows it. */
export type AddonInfo = Static<typeof AddonInfoSchema>;

/** What addons:update did. */
export const ImageUpdatedSchema = Type.Object({
  name: Type.String(),
  from: Type.String({ description: 'The image it ran before.' }),
  to: Type.String({ description: "The server's image it runs now." }),
  changed: Type.Boolean({ description: "False when it ran the server's image already (nothing was done)." }),
}, { additionalProperties: false });
/** What addons:update did. */
export type ImageUpdated = Static<typeof ImageUpdatedSchema>;

/** What addons:create did: the database, and the release that attached it (null: stored for the first deploy). */
export const AddonCreatedSchema = Type.Object({
  name: Type.String(), kind: Type.Union([Type.Literal('postgres'), Type.Literal('valkey')]), version: Type.String(), size: Type.String(),
  attachment: Type.String(),
  release: Type.Union([Type.Integer(), Type.Null()], { description: 'The release that set the config var; null when the app runs nothing yet.' }),
}, { additionalProperties: false });
/** What addons:create did. */
export type AddonCreated = Static<typeof AddonCreatedSchema>;
