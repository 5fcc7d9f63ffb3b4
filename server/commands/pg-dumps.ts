// pg:backups:download, pg:backups:restore (an import of a pg_dump archive, or of a copy off the
// machine), pg:backups:copy, pg:backups:copies and pg:credentials:rotate, over ops/data/dumps.ts,
// ops/data/copies.ts and ops/data/credentials.ts. The archive travels as the session's raw bytes:
// standard output for a download, standard input for an import (the key file, for a copy).
import { UserError } from '../errors.ts';
import { importDump, prepareDump } from '../ops/data/dumps.ts';
import { copyDatabaseOff, listDatabaseCopies, restoreFromCopy } from '../ops/data/copies.ts';
import { rotateCredentials } from '../ops/data/credentials.ts';
import { showSize } from '../ops/storage/volumes.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, jsonProgressOf } from './progress.ts';

export const pgDumpCommands: Command[] = [
  defineCommand({
    name: 'pg:backups:download',
    usage: 'APP [NAME] > FILE',
    summary: "Stream a pg_dump -Fc of a Postgres database (its first, or NAME) as it is now to standard output (ssh … pg:backups:download APP > app.dump); pg_restore reads it",
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [name]) => {
      const dump = prepareDump(actorOf(ctx), app, name);
      const raw = ctx.raw;
      // The archive is binary: it goes out as the session's bytes, never through the text output.
      if (!raw) throw new UserError('pg:backups:download writes the archive to a byte stream: run it over SSH (ssh … pg:backups:download APP > app.dump).');
      await dump.run((chunk) => raw.stdout(chunk), ctx.signal);
    },
  }),
  defineCommand({
    name: 'pg:backups:restore',
    usage: 'APP [--to NEWNAME] [--size SIZE] [--promote] < FILE | APP --from-s3 COPY|latest [--from NAME] [...] < KEYFILE',
    summary: "Restore a pg_dump archive (a Heroku or Dokku export) read from standard input, or with --from-s3 a copy off the machine opened with the key file read from standard input, into a NEW Postgres database, attached as NEWNAME_URL (or, with --promote, as DATABASE_URL); no live database is touched",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      to: { type: 'string', help: "the new database's name (default postgres-2, …)" },
      size: { type: 'string', help: 'its volumes\' size (default 1Gi); the archive may be no larger' },
      promote: { type: 'boolean', help: "make it the app's DATABASE_URL in the same release (the one that held it stays, as its own NAME_URL)" },
      'from-s3': { type: 'string', help: 'a copy pg:backups:copy made (its name, or latest); standard input is then the key file backup:keygen wrote' },
      from: { type: 'string', help: 'with --from-s3: the database the copy is of (default the app\'s first Postgres database)' },
    },
    run: async (ctx, app, _args, flags) => {
      const req = { to: flags.to, size: flags.size, promote: flags.promote };
      const progress = jsonProgressOf(ctx, flags.json);
      const r = flags['from-s3'] !== undefined
        ? await restoreFromCopy(actorOf(ctx), app, { ...req, copy: flags['from-s3'], from: flags.from }, ctx.raw?.stdin, progress)
        : await importDump(actorOf(ctx), app, req, ctx.raw?.stdin, progress);
      return listing(r, (out) => {
        out.line(`Restored the archive (${showSize(r.bytes)}) into ${r.name}, attached as ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}`);
        if (!r.promoted) out.line(`Make it the app's database with: pg:promote ${app} ${r.name}`);
      });
    },
  }),
  defineCommand({
    name: 'pg:backups:copy',
    usage: 'APP [NAME]',
    summary: "Copy a Postgres database (its first, or NAME) off the machine now: a pg_dump encrypted to SLIPWAY_BACKUP_KEY, uploaded to SLIPWAY_BACKUP_S3_URL and read back and checked (the db-backups round takes one each day)",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name], flags) => {
      const c = await copyDatabaseOff(actorOf(ctx), app, name, jsonProgressOf(ctx, flags.json));
      return listing(c, (out) => out.line(`Copied ${c.database} off the machine as ${c.url} (${showSize(c.bytes)}, encrypted; read back and checked)`));
    },
  }),
  defineCommand({
    name: 'pg:backups:copies',
    usage: 'APP [NAME]',
    summary: "List a Postgres database's copies off the machine (its first, or NAME; a name the app no longer has is taken as given), newest first",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name]) => {
      const c = await listDatabaseCopies(actorOf(ctx), app, name);
      return listing(c, (out) => {
        out.heading(`${app} ${c.database} copies in ${c.folder}`);
        if (c.copies.length === 0) out.line(`No copies yet; pg:backups:copy ${app} ${c.database} makes one.`);
        for (const n of c.copies) out.line(n);
        if (c.copies.length) out.line(`Restore one into a new database with: pg:backups:restore ${app} --from-s3 ${c.copies[0]} --from ${c.database} < KEYFILE`);
      });
    },
  }),
  defineCommand({
    name: 'pg:credentials:rotate',
    usage: 'APP [NAME]',
    summary: "New random credentials for a Postgres database (its first, or NAME), set in its config var in one release; the old ones keep working until no session uses them",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name], flags) => {
      const r = await rotateCredentials(actorOf(ctx), app, name, jsonProgressOf(ctx, flags.json), 'postgres');
      return listing(r, (out) => {
        out.line(`Rotated the credentials of ${r.name}: ${r.attachment} ${r.release !== null ? `changed in v${r.release}` : 'stored (the app runs nothing yet)'}`);
        out.line(`The old login ${r.retiring} works until no session uses it; then it can no longer log in (the db-logins round).`);
      });
    },
  }),
];
