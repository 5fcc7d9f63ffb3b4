// A Postgres database's logical dumps and credentials over the API (= pg:backups:download,
// pg:backups:restore, pg:backups:copy, pg:backups:copies, pg:credentials:rotate): a dump streamed
// as application/octet-stream, an archive uploaded as the body (application/octet-stream, streamed
// into the new database; with fromS3, the body is the key file that opens the copy), a copy off
// the machine and a rotation that each roll out as a job.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { DatabaseCopiesSchema, DatabaseCopySchema, ImportedSchema, RotatedSchema } from '../shapes/dumps.ts';
import { actor, quietProgress, runChange } from './change.ts';
import { importDump, prepareDump } from '../ops/data/dumps.ts';
import { copyDatabaseOff, listDatabaseCopies, restoreFromCopy } from '../ops/data/copies.ts';
import { rotateCredentials } from '../ops/data/credentials.ts';

const DataName = Type.String({ minLength: 1, maxLength: 30, description: "The database's name in the app." });
const DataParams = Type.Object({ app: AppName, name: DataName }, { additionalProperties: false });

export const dumpRoutes = [
  route({
    method: 'GET', url: '/apps/:app/addons/:name/dump', tag: 'addons', need: 'deploy', produces: 'bytes',
    summary: "A pg_dump -Fc of a Postgres database as it is now, streamed as it is made (= pg:backups:download APP NAME); pg_restore reads it. A failure midway cuts the connection. Needs deploy: it is all the data",
    params: DataParams,
    response: { 200: Type.String({ description: 'The archive (application/octet-stream).' }) },
    handle: (call) => {
      const dump = prepareDump(actor(call), call.params.app, call.params.name);
      return { type: 'application/octet-stream', filename: dump.filename, bytes: (write, signal) => dump.run(write, signal) };
    },
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/import', tag: 'addons', need: 'deploy', upload: true,
    summary: "Restore a pg_dump archive, sent as the body (application/octet-stream), into a NEW Postgres database (= pg:backups:restore APP [--to NEW] [--promote]); with fromS3, a copy off the machine, the body then being the key file that opens it (= pg:backups:restore APP --from-s3 COPY). Answers once it is restored and attached. A bad archive or key is a 422 and nothing is left",
    params: AppParams,
    query: Type.Object({
      to: Type.Optional(DataName),
      size: Type.Optional(Type.String({ maxLength: 16, description: "The new database's size (default 1Gi); the archive may be no larger." })),
      promote: Type.Optional(Type.Enum(['1', '0', 'true', 'false'], { description: "1: make it the app's DATABASE_URL in the same release." })),
      fromS3: Type.Optional(Type.String({ maxLength: 40, description: 'A copy pg:backups:copy made (its name, or latest); the body is then the key file backup:keygen wrote.' })),
      from: Type.Optional(DataName),
    }, { additionalProperties: false }),
    response: { 201: ImportedSchema },
    handle: async (call) => {
      const req = { to: call.query.to, size: call.query.size, promote: call.query.promote === '1' || call.query.promote === 'true' };
      const made = call.query.fromS3 !== undefined
        ? await restoreFromCopy(actor(call), call.params.app, { ...req, copy: call.query.fromS3, from: call.query.from }, call.upload, quietProgress(call))
        : await importDump(actor(call), call.params.app, req, call.upload, quietProgress(call));
      return { status: 201, json: made };
    },
  }),
  route({
    method: 'GET', url: '/apps/:app/addons/:name/copies', tag: 'addons', need: 'read',
    summary: "A Postgres database's copies off the machine, newest first (= pg:backups:copies APP NAME); a name the app no longer has is taken as given",
    params: DataParams,
    response: { 200: DatabaseCopiesSchema },
    handle: async (call) => ({ status: 200, json: await listDatabaseCopies(actor(call), call.params.app, call.params.name) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/copies', tag: 'addons', need: 'deploy',
    summary: "Copy a Postgres database off the machine now (= pg:backups:copy APP NAME): a pg_dump encrypted to SLIPWAY_BACKUP_KEY, uploaded to SLIPWAY_BACKUP_S3_URL, read back and checked; 202 with the job",
    params: DataParams,
    response: { 200: DatabaseCopySchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => copyDatabaseOff(a, call.params.app, call.params.name, p), call, { status: 200 }),
  }),
  route({
    method: 'POST', url: '/apps/:app/addons/:name/credentials/rotate', tag: 'addons', need: 'deploy',
    summary: "New random credentials for a database, set in its config var in one release (= pg:credentials:rotate; Valkey: redis:credentials:rotate, an ACL user): 202 with the job; the old ones work until no session uses them",
    params: DataParams,
    response: { 200: RotatedSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => rotateCredentials(a, call.params.app, call.params.name, p), call, { status: 200 }),
  }),
];
