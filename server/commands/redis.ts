// redis:credentials:rotate, redis:restore, redis:promote: pg:credentials:rotate's, pg:restore's and
// pg:promote's siblings for an app's Valkey databases (Heroku's redis:* namespace), over
// ops/data/credentials.ts, ops/data/valkey-restore.ts and ops/data/backups.ts.
import { rotateCredentials } from '../ops/data/credentials.ts';
import { restoreValkey } from '../ops/data/valkey-restore.ts';
import { promoteDatabase } from '../ops/data/backups.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, jsonProgressOf, progressOf } from './progress.ts';

export const redisCommands: Command[] = [
  defineCommand({
    name: 'redis:credentials:rotate',
    usage: 'APP [NAME]',
    summary: "New random credentials for a Valkey database (its first, or NAME): a new ACL user, set in its config var in one release; the old login keeps working until no connection uses it",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [name], flags) => {
      const r = await rotateCredentials(actorOf(ctx), app, name, jsonProgressOf(ctx, flags.json), 'valkey');
      return listing(r, (out) => {
        out.line(`Rotated the credentials of ${r.name}: ${r.attachment} ${r.release !== null ? `changed in v${r.release}` : 'stored (the app runs nothing yet)'}`);
        out.line(`The old login ${r.retiring} works until no connection uses it; then it is removed (the db-logins round).`);
      });
    },
  }),
  defineCommand({
    name: 'redis:restore',
    usage: 'APP [--from NAME] [--to NEWNAME] [--promote]',
    summary: "Restore a Valkey database's newest snapshot (checked whole first) into a NEW database, checked and attached as NEWNAME_URL (or, with --promote, as REDIS_URL); the source is never touched",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      from: { type: 'string', help: 'the database whose snapshot to restore (default the first Valkey)' },
      to: { type: 'string', help: "the new database's name (default valkey-2, …)" },
      promote: { type: 'boolean', help: "make it the app's REDIS_URL in the same release (the one that held it stays, as its own NAME_URL)" },
    },
    run: async (ctx, app, _args, flags) => {
      const r = await restoreValkey(actorOf(ctx), app, { from: flags.from, to: flags.to, promote: flags.promote }, jsonProgressOf(ctx, flags.json));
      return listing(r, (out) => {
        out.line(`Restored the newest snapshot of ${r.from} into ${r.name} (ready in ${(r.readyMs / 1000).toFixed(1)} s; newest heartbeat ${r.newestHeartbeat ?? 'none'}), attached as ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}`);
        out.line(r.promoted ? `${r.from} stays, with its data as it was` : `Make it the app's Valkey with: redis:promote ${app} ${r.name}`);
      });
    },
  }),
  defineCommand({
    name: 'redis:promote',
    usage: 'APP NAME [--as REDIS]',
    summary: "Make a Valkey database the app's REDIS_URL in one release; the one that held it stays, as its own NAME_URL (rollback brings it back)",
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { as: { type: 'string', help: 'the attachment to move (default REDIS)' } },
    run: async (ctx, app, [name], flags) => {
      const r = await promoteDatabase(actorOf(ctx), app, name!, flags.as, progressOf(ctx), 'valkey');
      ctx.out.line(`Promoted ${r.name} to ${r.attachment}${r.release !== null ? ` in v${r.release}` : ''}${r.previous ? `; ${r.previous} stays` : ''}`);
    },
  }),
];
