// Databases (addons, pg:*) and volumes (storage:*). A pg command without NAME acts on the app's
// only Postgres database, as over SSH.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ClientError, UsageError } from '../errors.ts';
import { call, send, seg } from '../http.ts';
import { change, read, str } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';

/** NAME given, or the app's only database of `kind` (one sentence when there are none or several). */
async function dbName(r: Run, given: string | undefined, kind = 'postgres'): Promise<string> {
  if (given !== undefined) return given;
  const dbs = ((await call(r.server, 'GET', `/apps/${seg(r.app)}/addons`)).json as { name: string; kind: string }[]).filter((d) => d.kind === kind);
  if (dbs.length === 1) return dbs[0]!.name;
  if (dbs.length === 0) throw new ClientError(`${r.app} has no ${kind} database.`);
  throw new UsageError(`${r.app} has several ${kind} databases (${dbs.map((d) => d.name).join(', ')}): name one.`);
}

/** `/apps/APP/addons/NAME` + `rest`, NAME from the first argument or the only database. */
function dbPath(rest = ''): (r: Run) => Promise<string> {
  return async (r) => `/apps/${seg(r.app)}/addons/${seg(await dbName(r, r.args[0]))}${rest}`;
}

const OPTIONAL_NAME = { min: 0, max: 1 };

export const dataCommands: ClientCommand[] = [
  read({ name: 'addons', summary: "The app's databases: kind, version, size, state", route: 'GET /apps/{app}/addons' }),
  read({ name: 'addons:info', usage: 'NAME', summary: 'One database', route: 'GET /apps/{app}/addons/{name}' }),
  read({ name: 'pg:info', usage: '[NAME]', summary: "The app's Postgres database", route: 'GET /apps/{app}/addons/{name}', args: OPTIONAL_NAME, path: dbPath() }),
  change({
    name: 'addons:create', usage: 'postgres|valkey [--version V] [--size 1Gi] [--name NAME] [--as DATABASE]', summary: 'Create a database and attach it (its URL becomes a config var)', route: 'POST /apps/{app}/addons', args: { min: 1, max: 1 },
    flags: { version: { type: 'string', help: 'major version' }, size: { type: 'string', help: 'data volume' }, name: { type: 'string', help: "its name in the app" }, as: { type: 'string', help: 'attachment: DATABASE sets DATABASE_URL' } },
    body: (r) => ({ kind: r.args[0], ...Object.fromEntries(['version', 'size', 'name', 'as'].flatMap((k) => (str(r, k) ? [[k, str(r, k)]] : []))) }),
  }),
  change({
    name: 'addons:destroy', usage: 'NAME --confirm APP', summary: 'Detach a database and delete it with its data and backups', route: 'DELETE /apps/{app}/addons/{name}',
    flags: { confirm: { type: 'string', help: 'the app name again' } }, query: (r) => ({ confirm: str(r, 'confirm') }),
  }),
  read({ name: 'pg:backups', usage: '[NAME]', summary: "The database's backups and the WAL archived", route: 'GET /apps/{app}/addons/{name}/backups', args: OPTIONAL_NAME, path: dbPath('/backups') }),
  read({ name: 'pg:backups:copies', usage: '[NAME]', summary: "The database's copies off the machine, newest first", route: 'GET /apps/{app}/addons/{name}/copies', args: OPTIONAL_NAME, path: dbPath('/copies') }),
  change({ name: 'pg:backups:capture', usage: '[NAME] [--type full|diff|incr]', summary: 'Back up the database now', route: 'POST /apps/{app}/addons/{name}/backups', args: OPTIONAL_NAME, path: dbPath('/backups'), flags: { type: { type: 'string', help: 'full, diff or incr' } }, body: (r) => (str(r, 'type') ? { type: str(r, 'type') } : {}) }),
  change({ name: 'pg:backups:schedule', usage: "[NAME] --at '02:00 UTC'", summary: 'Take the daily full backup at a time of day (UTC)', route: 'POST /apps/{app}/addons/{name}/backups/schedule', args: OPTIONAL_NAME, path: dbPath('/backups/schedule'), flags: { at: { type: 'string', help: 'time of day' } }, body: (r) => ({ at: str(r, 'at') }) }),
  change({ name: 'pg:backups:unschedule', usage: '[NAME]', summary: 'Take the daily backup a day after the last one again', route: 'DELETE /apps/{app}/addons/{name}/backups/schedule', args: OPTIONAL_NAME, path: dbPath('/backups/schedule') }),
  change({
    name: 'pg:restore', usage: '[--from NAME] [--at TIME] [--to NEWNAME]', summary: "Restore the database's backups into a new database", route: 'POST /apps/{app}/addons/{name}/restore', args: { min: 0, max: 0 },
    flags: { from: { type: 'string', help: 'the database (default: the only one)' }, at: { type: 'string', help: 'time to recover to' }, to: { type: 'string', help: "the new database's name" } },
    path: async (r) => `/apps/${seg(r.app)}/addons/${seg(await dbName(r, str(r, 'from')))}/restore`,
    body: (r) => ({ ...(str(r, 'at') ? { at: str(r, 'at') } : {}), ...(str(r, 'to') ? { to: str(r, 'to') } : {}) }),
  }),
  change({
    name: 'pg:upgrade', usage: '[NAME] --to 18 [--name NEWNAME]', summary: 'Upgrade to a newer major in a new database that takes over', route: 'POST /apps/{app}/addons/{name}/upgrade', args: OPTIONAL_NAME, path: dbPath('/upgrade'),
    flags: { to: { type: 'string', help: 'the major version' }, name: { type: 'string', help: "the new database's name" } },
    body: (r) => ({ to: str(r, 'to'), ...(str(r, 'name') ? { name: str(r, 'name') } : {}) }),
  }),
  change({ name: 'pg:promote', usage: 'NAME [--as DATABASE]', summary: "Make a database the app's DATABASE_URL", route: 'POST /apps/{app}/addons/{name}/promote', flags: { as: { type: 'string', help: 'the attachment' } }, body: (r) => (str(r, 'as') ? { as: str(r, 'as') } : {}) }),
  change({ name: 'addons:update', usage: 'NAME', summary: "Move a database to the server's image of its major version (a restart)", route: 'POST /apps/{app}/addons/{name}/image' }),
  change({ name: 'addons:verify', usage: '[NAME]', summary: "Prove the database's backups now with a restore drill", route: 'POST /apps/{app}/addons/{name}/verify', args: OPTIONAL_NAME, path: dbPath('/verify') }),
  change({ name: 'pg:backups:copy', usage: '[NAME]', summary: 'Copy the database off the machine now (an encrypted pg_dump in the backup bucket)', route: 'POST /apps/{app}/addons/{name}/copies', args: OPTIONAL_NAME, path: dbPath('/copies') }),
  change({ name: 'pg:credentials:rotate', usage: '[NAME]', summary: 'New random credentials, set in its config var in one release', route: 'POST /apps/{app}/addons/{name}/credentials/rotate', args: OPTIONAL_NAME, path: dbPath('/credentials/rotate') }),
  {
    name: 'pg:backups:download', usage: '[NAME] [-o FILE]', summary: 'A pg_dump -Fc of the database as it is now (to FILE, or stdout)', routes: ['GET /apps/{app}/addons/{name}/dump'], app: true, args: OPTIONAL_NAME,
    flags: { output: { type: 'string', short: 'o', help: 'the file to write' } },
    run: async (r) => {
      const file = str(r, 'output');
      if (!file && r.ctx.out.tty) throw new UsageError('The archive is binary: give -o FILE, or redirect stdout to a file.');
      const res = await send(r.server, 'GET', await dbPath('/dump')(r));
      await pipeline(res.body, file ? createWriteStream(file, { mode: 0o600 }) : process.stdout);
    },
  },
  {
    name: 'pg:backups:restore', usage: '[--to NEWNAME] [--size SIZE] [--promote] [-i FILE] | --from-s3 COPY|latest [--from NAME] -i KEYFILE', summary: 'Restore a pg_dump archive (FILE, or stdin), or a copy off the machine opened with the key file, into a new Postgres database', routes: ['POST /apps/{app}/addons/import'], app: true, args: { min: 0, max: 0 },
    flags: { to: { type: 'string', help: "the new database's name" }, size: { type: 'string', help: 'its size' }, promote: { type: 'boolean', help: "make it the app's DATABASE_URL" }, input: { type: 'string', short: 'i', help: 'the archive, or with --from-s3 the key file (default: stdin)' }, 'from-s3': { type: 'string', help: 'a copy pg:backups:copy made, or latest' }, from: { type: 'string', help: 'the database the copy is of' } },
    run: async (r) => {
      const file = str(r, 'input');
      const upload = file ? createReadStream(file) : process.stdin;
      const res = await send(r.server, 'POST', `/apps/${seg(r.app)}/addons/import`, { query: { to: str(r, 'to'), size: str(r, 'size'), promote: r.flags.promote === true, fromS3: str(r, 'from-s3'), from: str(r, 'from') }, upload });
      const json = JSON.parse(await res.text()) as unknown;
      if (r.json) r.ctx.out.json(json);
      else r.ctx.out.line(`Restored into ${(json as { name?: string }).name ?? 'a new database'}.`);
    },
  },
  change({ name: 'storage:create', usage: 'NAME [--size 1Gi]', summary: 'Create a volume', route: 'POST /apps/{app}/storage', args: { min: 1, max: 1 }, flags: { size: { type: 'string', help: 'its size' } }, body: (r) => ({ name: r.args[0], ...(str(r, 'size') ? { size: str(r, 'size') } : {}) }) }),
  read({ name: 'storage:list', summary: "The app's volumes and mounts", route: 'GET /apps/{app}/storage' }),
  change({ name: 'storage:destroy', usage: 'NAME', summary: 'Delete a volume and its data', route: 'DELETE /apps/{app}/storage/{name}' }),
  change({ name: 'storage:mount', usage: 'NAME /PATH [-p TYPE]', summary: 'Mount a volume in a process type', route: 'POST /apps/{app}/storage/{name}/mount', args: { min: 2, max: 2 }, flags: { process: { type: 'string', short: 'p', help: 'the process type (default web)' } }, body: (r) => ({ path: r.args[1], ...(str(r, 'process') ? { process: str(r, 'process') } : {}) }) }),
  change({ name: 'storage:unmount', usage: 'NAME [/PATH] [-p TYPE]', summary: 'Unmount a volume', route: 'DELETE /apps/{app}/storage/{name}/mount', args: { min: 1, max: 2 }, flags: { process: { type: 'string', short: 'p', help: 'the process type' } }, query: (r) => ({ path: r.args[1], process: str(r, 'process') }) }),
];
