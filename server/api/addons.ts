// An app's databases (= addons:* commands): list and show them; create one, which answers once its
// attachment rolls out as a job (202), or 201 when the app runs nothing yet; destroy one likewise.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { actor, quietProgress, runChange } from './change.ts';
import { AddonCreatedSchema, AddonInfoSchema, DrillSchema, ImageUpdatedSchema } from '../shapes/data.ts';
import { updateAddonImage } from '../ops/data/image-update.ts';
import { BackupInfoSchema, BackupScheduleSchema, BackupsSchema, RestoredSchema, UpgradedSchema } from '../shapes/backups.ts';
import { upgradeDatabase } from '../ops/data/upgrade.ts';
import { captureBackup, listBackups, promoteDatabase, scheduleBackups } from '../ops/data/backups.ts';
import { restoreAny } from '../ops/data/valkey-restore.ts';
import { verifyBackups } from '../ops/data/drills.ts';
import { addonInfo, createAddon, destroyAddon, listAddons } from '../ops/data/addons.ts';
import { UsageError } from '../errors.ts';

const DataName = Type.String({ minLength: 1, maxLength: 30, description: "The database's name in the app (postgres, valkey, or the one given at creation)." });
const DataParams = Type.Object({ app: AppName, name: DataName }, { additionalProperties: false });
export const addonRoutes = [
  route({
    method: 'GET', url: '/apps/:app/addons', tag: 'addons', need: 'read',
    summary: "An app's databases: kind, version, size, attachment, state (= addons APP --json); no credentials",
    params: AppParams,
    response: { 200: Type.Array(AddonInfoSchema) },
    handle: async (call) => ({ status: 200, json: await listAddons(actor(call), call.params.app) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/addons/:name', tag: 'addons', need: 'read',
    summary: 'One database (= addons:info APP NAME --json)',
    params: DataParams,
    response: { 200: AddonInfoSchema },
    handle: async (call) => ({ status: 200, json: await addonInfo(actor(call), call.params.app, call.params.name) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons', tag: 'addons', need: 'deploy',
    summary: 'Create a database and attach it (= addons:create APP KIND): 202 with the job of the release that sets its config var; 201 when the app runs nothing yet',
    params: AppParams,
    body: Type.Object({
      kind: Type.String({ maxLength: 64, description: 'postgres or valkey (Heroku\'s heroku-postgresql and heroku-redis, with or without a plan, too).' }),
      version: Type.Optional(Type.String({ maxLength: 8, description: 'The major version (Postgres 17, Valkey 8).' })),
      size: Type.Optional(Type.String({ maxLength: 16, description: 'Its data volume (and as much again for backups): 512Mi, 1Gi (default 1Gi).' })),
      name: Type.Optional(DataName),
      as: Type.Optional(Type.String({ maxLength: 64, description: 'The attachment: DATABASE sets DATABASE_URL.' })),
    }, { additionalProperties: false }),
    response: { 201: AddonCreatedSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => createAddon(a, call.params.app, call.body, p), call, { status: 201 }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/addons/:name', tag: 'addons', need: 'deploy',
    summary: 'Detach a database and delete it with its data and backups (= addons:destroy APP NAME --confirm APP): 202 with the job of the release that unsets its config var, or 200',
    params: DataParams,
    query: Type.Object({ confirm: Type.String({ maxLength: 63, description: 'The app name again.' }) }, { additionalProperties: false }),
    response: { 200: Type.Object({ name: Type.String(), release: Type.Union([Type.Integer(), Type.Null()]) }, { additionalProperties: false }), 202: AcceptedSchema },
    handle: (call) => {
      if (call.query.confirm !== call.params.app) throw new UsageError(`This deletes database ${call.params.name} of ${call.params.app} with its data and backups for good; send confirm=${call.params.app} to go ahead.`);
      return runChange((a, p) => destroyAddon(a, call.params.app, call.params.name, p), call, { status: 200 });
    },
  }),
  route({
    method: 'GET', url: '/apps/:app/addons/:name/backups', tag: 'addons', need: 'read',
    summary: "A Postgres database's backups and the WAL archived (= pg:backups APP NAME --json)",
    params: DataParams,
    response: { 200: BackupsSchema },
    handle: async (call) => ({ status: 200, json: await listBackups(actor(call), call.params.app, call.params.name) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/backups/schedule', tag: 'addons', need: 'deploy',
    summary: "Take a Postgres database's daily full backup at a time of day, UTC (= pg:backups:schedule --at)",
    params: DataParams,
    body: Type.Object({ at: Type.String({ maxLength: 16, description: 'HH:MM, UTC (02:00, 02:00 UTC).' }) }, { additionalProperties: false }),
    response: { 200: BackupScheduleSchema },
    handle: async (call) => ({ status: 200, json: scheduleBackups(actor(call), call.params.app, call.params.name, call.body.at) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/addons/:name/backups/schedule', tag: 'addons', need: 'deploy',
    summary: "Take a Postgres database's daily full backup a day after the last one again (= pg:backups:unschedule)",
    params: DataParams,
    response: { 200: BackupScheduleSchema },
    handle: async (call) => ({ status: 200, json: scheduleBackups(actor(call), call.params.app, call.params.name, null) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/backups', tag: 'addons', need: 'deploy',
    summary: 'Back up a Postgres database now (= pg:backups:capture); answers with the backup when it is done',
    params: DataParams,
    body: Type.Object({ type: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('diff'), Type.Literal('incr')])) }, { additionalProperties: false }),
    response: { 201: BackupInfoSchema },
    handle: async (call) => ({ status: 201, json: await captureBackup(actor(call), call.params.app, call.params.name, call.body.type ?? 'full', quietProgress(call)) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/restore', tag: 'addons', need: 'deploy',
    summary: "Restore a database's backups into a NEW database (= pg:restore --from NAME [--at TIME] [--to NEW] [--promote]; a Valkey database's newest snapshot: redis:restore): 202 with the job of the release that attaches it",
    params: DataParams,
    body: Type.Object({
      at: Type.Optional(Type.String({ maxLength: 40, description: 'Postgres: the time to recover to (ISO 8601); absent: the end of the archive.' })),
      to: Type.Optional(DataName),
      promote: Type.Optional(Type.Boolean({ description: "Make it the app's DATABASE_URL (Valkey: REDIS_URL) in the same release." })),
    }, { additionalProperties: false }),
    response: { 201: RestoredSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => restoreAny(a, call.params.app, { from: call.params.name, at: call.body.at, to: call.body.to, promote: call.body.promote }, p), call, { status: 201 }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/upgrade', tag: 'addons', need: 'deploy',
    summary: "Upgrade a Postgres database to a newer major in a NEW database that takes over its attachment in one release (= pg:upgrade APP NAME --to 18): 202 with the job of that release",
    params: DataParams,
    body: Type.Object({
      to: Type.String({ maxLength: 8, description: 'The major to upgrade to: 18.' }),
      name: Type.Optional(DataName),
    }, { additionalProperties: false }),
    response: { 201: UpgradedSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => upgradeDatabase(a, call.params.app, { database: call.params.name, to: call.body.to, name: call.body.name }, p), call, { status: 201 }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/image', tag: 'addons', need: 'deploy',
    summary: "Move a database to this server's image of its major version, on the same volumes (= addons:update; a restart: a few seconds without it): 202 with its job",
    params: DataParams,
    response: { 200: ImageUpdatedSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => updateAddonImage(a, call.params.app, call.params.name, p), call, { status: 200 }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/promote', tag: 'addons', need: 'deploy',
    summary: "Make a database the app's DATABASE_URL (Valkey: REDIS_URL) in one release (= pg:promote, redis:promote): 202 with its job",
    params: DataParams,
    body: Type.Object({ as: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
    response: { 200: Type.Object({ name: Type.String(), attachment: Type.String(), release: Type.Union([Type.Integer(), Type.Null()]), previous: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }), 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => promoteDatabase(a, call.params.app, call.params.name, call.body.as, p, 'any'), call, { status: 200 }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/verify', tag: 'addons', need: 'deploy',
    summary: "Prove a database's backups now with a restore drill (= addons:verify; Postgres or Valkey): 200 with its outcome, passed or not",
    params: DataParams,
    response: { 200: DrillSchema },
    handle: async (call) => ({ status: 200, json: await verifyBackups(actor(call), call.params.app, call.params.name, true, quietProgress(call)) }),
  }),
];
