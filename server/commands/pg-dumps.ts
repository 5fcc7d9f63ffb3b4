// pg:backups:download, pg:backups:restore (an import of a pg_dump archive) and
// pg:credentials:rotate, over ops/data/dumps.ts and ops/data/credentials.ts. The archive travels
// as the session's raw bytes: standard output for a download, standard input for an import.
import { UserError } from '../errors.ts';
import { importDump, prepareDump } from '../ops/data/dumps.ts';
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
    usage: 'APP [--to NEWNAME] [--size SIZE] [--promote] < FILE',
    summary: "Restore a pg_dump archive (a Heroku or Dokku export) read from standard input into a NEW Postgres database, attached as NEWNAME_URL (or, with --promote, as DATABASE_URL); no live database is touched",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      to: { type: 'string', help: "the new database's name (default postgres-2, …)" },
      size: { type: 'string', help: 'its volumes\' size (default 1Gi); the archive may be no larger' },
      promote: { type: 'boolean', help: "make it the app's DATABASE_URL in the same release (the one that held it stays, as its own NAME_URL)" },
    },
    run: async (ctx, app, _args, flags) => {
      const r = await importDump(actorOf(ctx), app, { to: flags.to, size: flags.size, promote: flags.promote }, ctx.raw?.stdin, jsonProgressOf(ctx, flags.json));
      return listing(r, (out) => {
        out.line(`Restored the archive (${showSize(r.bytes)}) into ${r.name}, attached as ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}`);
        if (!r.promoted) out.line(`Make it the app's database with: pg:promote ${app} ${r.name}`);
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
