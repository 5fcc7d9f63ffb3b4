// addons:create, addons, addons:info, addons:destroy: an app's databases in Heroku's words, over
// ops/data/addons.ts.
import { UsageError } from '../errors.ts';
import { addonInfo, createAddon, destroyAddon, listAddons, openConsole } from '../ops/data/addons.ts';
import { updateAddonImage } from '../ops/data/image-update.ts';
import { dataName } from '../ops/data/rules.ts';
import { bytesText } from '../ops/data/stats.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, jsonProgressOf, progressOf } from './progress.ts';
import type { AddonInfo } from '../shapes/data.ts';
import type { DataKind } from '../model.ts';

/** A database's state in a word or two: `ready`, or what the cluster says. */
function stateCell(a: AddonInfo): string {
  return a.ready ? 'ready' : a.state;
}

/** How long ago an ISO time was, in a word or two: `3 h ago`. */
function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return s < 172_800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} days ago`;
}

/** "ok, 3 h ago, RPO 41 s, RTO 38 s", or never. */
function restoreCell(a: AddonInfo): string {
  const d = a.lastVerifiedRestore;
  if (!d) return 'never (pg:backups:verify runs a drill; the db-backups round runs one a day)';
  return `ok, ${ago(d.at)}, RPO ${d.rpoS === null ? 'unknown (no heartbeat yet)' : `${d.rpoS} s`}, RTO ${d.rtoMs === null ? '?' : `${Math.round(d.rtoMs / 1000)} s`}`;
}

/** A volume's use: `41.2 MiB of 1.0 GiB (4 %)`, or `?` when the pod did not say. */
function volumeCell(v: NonNullable<AddonInfo['stats']>['data']): string {
  return v ? `${bytesText(v.usedBytes)} of ${bytesText(v.sizeBytes)} (${Math.floor((v.usedBytes / v.sizeBytes) * 100)} %)` : '?';
}

/** A database's own client attached to the caller's session (pg:psql, redis:cli). */
function consoleCommand(name: string, kind: DataKind, summary: string): Command {
  return defineCommand({
    name,
    usage: 'APP [NAME]',
    summary,
    access: 'app',
    args: { min: 1, max: 2 },
    run: (ctx, app, [db]) => openConsole(actorOf(ctx), app, kind, db, ctx.raw, ctx.signal),
  });
}

/** addons:info, and pg:info (the app's first Postgres when no name is given). */
function infoCommand(name: string, usage: string, summary: string, args: { min: number; max: number }, kind: DataKind | undefined): Command {
  return {
    name,
    usage,
    summary,
    access: 'app',
    args,
    json: true,
    run: async (ctx, app, [db]) => {
      const a = await addonInfo(actorOf(ctx), app, db, kind);
      return listing(a, (out) => {
        out.heading(`${app} ${a.name}`);
        out.pairs([
          ['Kind', `${a.kind} ${a.version}`],
          ['Attached as', a.attachment],
          ['Host', `${a.host}:${a.port} (TLS only)`],
          ['State', `${stateCell(a)}${a.restarts ? `, ${a.restarts} restarts` : ''}`],
          ['Size', `${a.size} data (${a.volumes.data}), ${a.size} backups (${a.volumes.backup})`],
          ...(a.stats ? [
            ['Used', `${volumeCell(a.stats.data)} data, ${volumeCell(a.stats.backup)} backups`],
            ['Connections', a.stats.connections === null ? 'unknown (the server did not answer)' : `${a.stats.connections} of ${a.stats.maxConnections ?? '?'}`],
          ] as [string, string][] : []),
          ['Created', a.createdAt],
          [a.kind === 'postgres' ? 'Last backup' : 'Last snapshot', `${a.lastBackupAt ? ago(a.lastBackupAt) : 'none yet'}${a.backupAt ? ` (daily at ${a.backupAt} UTC)` : ''}`],
          ['Last verified restore', restoreCell(a)],
        ]);
        for (const p of a.problems) out.line(p);
        if (a.lastDrill && !a.lastDrill.ok) out.line(`The last restore drill (${ago(a.lastDrill.at)}) failed at ${a.lastDrill.step}: ${a.lastDrill.message}`);
      });
    },
  };
}

export const addonsCommands: Command[] = [
  defineCommand({
    name: 'addons:create',
    usage: 'APP postgres|valkey [--version 17] [--size 1Gi] [--name NAME] [--as DATABASE]',
    summary: 'Create a database for an app (Postgres 17 or Valkey 8, TLS only) and attach it: DATABASE_URL or REDIS_URL is set in a new release',
    access: 'app',
    args: { min: 2, max: 2 },
    json: true,
    flags: {
      version: { type: 'string', help: 'the major version (Postgres 17, Valkey 8)' },
      size: { type: 'string', help: 'its data volume (and as much again for backups): 512Mi, 1Gi (default 1Gi)' },
      name: { type: 'string', help: 'its name in the app (default postgres, valkey, then postgres-2, …)' },
      as: { type: 'string', help: 'the attachment: DATABASE sets DATABASE_URL (default DATABASE for Postgres, REDIS for Valkey)' },
    },
    run: async (ctx, app, [kind], flags) => {
      const r = await createAddon(actorOf(ctx), app, { kind: kind!, version: flags.version, size: flags.size, name: flags.name, as: flags.as }, jsonProgressOf(ctx, flags.json));
      return listing(r, (out) => {
        out.line(`Created ${r.name} (${r.kind} ${r.version}, ${r.size}) as ${r.attachment}${r.release === null ? ` (stored: ${app} runs nothing yet; its first deploy gets it)` : `, released as v${r.release}`}`);
        out.line(`Use addons:info ${app} ${r.name} to see its state.`);
      });
    },
  }),
  {
    name: 'addons',
    usage: 'APP',
    summary: "List an app's databases: kind, version, size, attachment and state",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const addons = await listAddons(actorOf(ctx), app);
      return listing(addons, (out) => {
        if (addons.length === 0) return out.line(`${app} has no databases; addons:create ${app} postgres makes one.`);
        out.heading(`${app} Databases`);
        out.table(addons.map((a) => [a.name, `${a.kind} ${a.version}`, a.size, a.attachment, stateCell(a)]), ['Name', 'Kind', 'Size', 'Attached as', 'State']);
      });
    },
  },
  infoCommand('addons:info', 'APP NAME', 'Show one database: its kind, version, size, attachment, host, state, volumes and how full they are, connections, last backup and last verified restore', { min: 2, max: 2 }, undefined),
  infoCommand('pg:info', 'APP [NAME]', "Show an app's Postgres database (its first, or NAME) as addons:info does: state, volumes' use, connections, last backup, last verified restore with RPO and RTO", { min: 1, max: 2 }, 'postgres'),
  defineCommand({
    name: 'addons:update',
    usage: 'APP NAME',
    summary: "Move a database to this server's image of its major version (after a Slipway upgrade brought a newer one), on the same volumes: a restart, a few seconds without it",
    access: 'app',
    args: { min: 2, max: 2 },
    json: true,
    run: async (ctx, app, [name], flags) => {
      const r = await updateAddonImage(actorOf(ctx), app, name!, jsonProgressOf(ctx, flags.json));
      return listing(r, (out) => out.line(r.changed ? `${r.name} runs ${r.to} (was ${r.from}).` : `${r.name} runs ${r.to} already; nothing was changed.`));
    },
  }),
  defineCommand({
    name: 'addons:destroy',
    usage: 'APP NAME --confirm APP',
    summary: 'Detach a database (its config var unset in a new release) and delete it with its data and backups',
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { confirm: { type: 'string', help: 'the app name again' } },
    run: async (ctx, app, [raw], flags) => {
      const name = dataName(raw!);
      if (flags.confirm !== app) throw new UsageError(`This deletes database ${name} of ${app} with its data and backups for good; to go ahead, run: addons:destroy ${app} ${name} --confirm ${app}`);
      const r = await destroyAddon(actorOf(ctx), app, name, progressOf(ctx));
      ctx.out.line(`Destroyed ${r.name} of ${app} and its data${r.release !== null ? ` (detached in v${r.release})` : ''}`);
    },
  }),
  consoleCommand('pg:psql', 'postgres', "Open psql on an app's Postgres database (its first, or NAME) as the app's user, over TLS; with ssh -t, an interactive terminal"),
  consoleCommand('redis:cli', 'valkey', "Open valkey-cli on an app's Valkey database (its first, or NAME), over TLS; with ssh -t, an interactive terminal"),
];
