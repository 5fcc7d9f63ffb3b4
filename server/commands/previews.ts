// previews, previews:enable, previews:disable, previews:config, previews:limit, previews:ttl: preview
// apps of an app's branches (a push of a branch other than the deploy branch deploys its preview).
import { UsageError } from '../errors.ts';
import { disablePreviews, enablePreviews, listPreviews, previewSettings, setPreviewForkDb, setPreviewLimit, setPreviewTtl, sharePreviewKeys, type PreviewSettingsView } from '../ops/previews/previews.ts';
import type { PreviewRemoval } from '../ops/previews/preview-reconcile.ts';
import type { Output } from '../output/output.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** An age as people say it: the largest whole unit (`3d`, `5h`, `12m`, `40s`). */
function age(seconds: number): string {
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)}d`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m`;
  return `${seconds}s`;
}

function showSettings(out: Output, s: PreviewSettingsView): void {
  out.heading(`${s.app} previews`);
  out.pairs([
    ['Previews', s.enabled ? 'on: a push of any other branch deploys its preview' : `off (previews:enable ${s.app})`],
    ['Limit', String(s.limit)],
    ['Time to live', `${s.ttl} without a push`],
    ['Shared config', s.sharedKeys.length ? s.sharedKeys.join(', ') : 'none (previews:config APP --share KEY…)'],
    ['Databases', s.forkDb ? `Postgres copied from ${s.app}'s latest backups (--fork-db)` : 'empty, of their own (previews:config APP --fork-db copies Postgres from the latest backups)'],
  ]);
}

function showRemoved(out: Output, removed: readonly PreviewRemoval[]): void {
  for (const r of removed) out.line(`Destroyed ${r.app}, the preview of ${r.branch} (${r.reason}).`);
}

export const previewCommands: Command[] = [
  {
    name: 'previews',
    usage: 'APP',
    summary: "List an app's preview apps: branch, commit, URL and time since the last push",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const list = listPreviews(actorOf(ctx), app);
      return listing(list, (out) => {
        if (list.length === 0) {
          out.line(`${app} has no previews.`);
          return;
        }
        out.table(list.map((p) => [p.branch, p.commit ? p.commit.slice(0, 7) : '-', p.url, age(p.ageSeconds)]), ['Branch', 'Commit', 'URL', 'Age']);
      });
    },
  },
  {
    name: 'previews:enable',
    usage: 'APP',
    summary: 'Deploy a preview app of each other branch pushed (git push paas feature-x); deleting the branch destroys it',
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      const s = enablePreviews(actorOf(ctx), app);
      ctx.out.line(`Previews of ${app} are on: git push paas BRANCH deploys a preview of BRANCH (at most ${s.limit}; destroyed after ${s.ttl} without a push).`);
      ctx.out.line(s.sharedKeys.length ? `A new preview starts with these config vars of ${app}: ${s.sharedKeys.join(', ')}.` : `A new preview starts with none of ${app}'s config vars; share some with previews:config ${app} --share KEY…`);
    },
  },
  {
    name: 'previews:disable',
    usage: 'APP',
    summary: 'Stop deploying previews and destroy every preview of the app (the branches stay)',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      const removed = await disablePreviews(actorOf(ctx), app);
      showRemoved(ctx.out, removed);
      ctx.out.line(`Previews of ${app} are off: a push of another branch is refused again.`);
    },
  },
  defineCommand({
    name: 'previews:config',
    usage: 'APP [--share KEY… | --unshare KEY… | --fork-db | --no-fork-db]',
    summary: "Show previews' settings, or choose the config keys a new preview copies from the app (no others), or whether its Postgres databases are copies of the app's latest backups (--fork-db) instead of empty",
    access: 'app',
    args: { min: 1, max: 257 },
    json: true,
    flags: {
      share: { type: 'boolean', help: 'copy these keys of the app into each new preview' },
      unshare: { type: 'boolean', help: 'stop copying these keys into new previews' },
      'fork-db': { type: 'boolean', help: "give each new preview copies of the app's Postgres databases, restored from their latest backups (never the live databases); refused while one has no backup" },
      'no-fork-db': { type: 'boolean', help: "new previews' databases start empty again (the default)" },
    },
    run: (ctx, app, keys, flags) => {
      const fork = flags['fork-db'] === true ? true : flags['no-fork-db'] === true ? false : undefined;
      if (fork !== undefined) {
        if (flags['fork-db'] && flags['no-fork-db']) throw new UsageError('Give --fork-db or --no-fork-db, not both.');
        if (flags.share || flags.unshare || keys.length > 0) throw new UsageError('--fork-db and --no-fork-db take no keys; change shared keys in a command of their own.');
        const s = setPreviewForkDb(actorOf(ctx), app, fork);
        return listing(s, (out) => showSettings(out, s));
      }
      if (flags.share && flags.unshare) throw new UsageError('Give --share or --unshare, not both; usage: previews:config APP [--share KEY… | --unshare KEY…]');
      if (keys.length > 0 && !flags.share && !flags.unshare) throw new UsageError('Name keys with --share or --unshare; usage: previews:config APP [--share KEY… | --unshare KEY…]');
      if ((flags.share || flags.unshare) && keys.length === 0) throw new UsageError('Name at least one config key; usage: previews:config APP [--share KEY… | --unshare KEY…]');
      const actor = actorOf(ctx);
      const s = keys.length === 0 ? previewSettings(actor, app) : sharePreviewKeys(actor, app, flags.share ? { share: keys } : { unshare: keys });
      return listing(s, (out) => showSettings(out, s));
    },
  }),
  {
    name: 'previews:limit',
    usage: 'APP N',
    summary: 'How many previews the app may have (default 5; more for admins only); a push past it is refused',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [n]) => {
      const { settings, removed } = await setPreviewLimit(actorOf(ctx), app, n!);
      showRemoved(ctx.out, removed);
      ctx.out.line(`${app} may have ${settings.limit} previews.`);
    },
  },
  {
    name: 'previews:ttl',
    usage: 'APP DURATION',
    summary: 'Destroy a preview not pushed for DURATION (e.g. 7d, the default; 36h); its branch stays',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [d]) => {
      const { settings, removed } = await setPreviewTtl(actorOf(ctx), app, d!);
      showRemoved(ctx.out, removed);
      ctx.out.line(`A preview of ${app} is destroyed after ${settings.ttl} without a push.`);
    },
  },
];
