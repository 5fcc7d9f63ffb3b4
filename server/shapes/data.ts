// An app's databases as addons, addons:info and addons:create show them (--json and the API).
import { Type, type Static } from 'typebox';

/** One database of `addons --json`. */
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
}, { additionalProperties: false });
/** A database as addons shows it. */
export type AddonInfo = Static<typeof AddonInfoSchema>;

/** What addons:create did: the database, and the release that attached it (null: stored for the first deploy). */
export const AddonCreatedSchema = Type.Object({
  name: Type.String(), kind: Type.Union([Type.Literal('postgres'), Type.Literal('valkey')]), version: Type.String(), size: Type.String(),
  attachment: Type.String(),
  release: Type.Union([Type.Integer(), Type.Null()], { description: 'The release that set the config var; null when the app runs nothing yet.' }),
}, { additionalProperties: false });
/** What addons:create did. */
export type AddonCreated = Static<typeof AddonCreatedSchema>;
