import { UsageError, UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { listReleases, releaseInfo, rollback } from '../ops/releases/releases.ts';
import { promote } from '../ops/promote/promote.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';
import { runningCanary } from '../ops/releases/canary.ts';
import { canaryLine } from './canary.ts';

/** Parses a release version as users write it: `v3` or `3`. */
export function parseVersion(raw: string): number {
  const m = /^v?([1-9][0-9]{0,8})$/.exec(raw);
  if (!m) throw new UserError(`${shown(raw)} is not a release version (for example v3).`);
  return Number(m[1]);
}

export const releaseCommands: Command[] = [
  {
    name: 'releases',
    usage: 'APP',
    summary: "List an app's releases",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const list = listReleases(actorOf(ctx), app);
      return listing(list, (out) => {
        if (list.length === 0) return out.line(`${app} has no releases yet.`);
        out.heading(`${app} Releases`);
        out.table(list.map((r) => [`v${r.version}`, r.description, r.status, r.createdAt, ...(r.imageCollectedAt ? ['(image removed by gc)'] : [])]));
        const canary = runningCanary(ctx.services, app);
        if (canary) out.line(`Canary: ${canaryLine(canary)}.`);
      });
    },
  },
  {
    name: 'releases:info',
    usage: 'APP VERSION',
    summary: 'Show one release: commit, image, process types, config var names, status',
    access: 'app',
    args: { min: 2, max: 2 },
    json: true,
    run: (ctx, app, [raw]) => {
      // Names only: values are secrets and `config APP` is where they are shown.
      const info = releaseInfo(actorOf(ctx), app, parseVersion(raw!));
      return listing(info, (out) => {
        out.heading(`Release v${info.version}`);
        out.pairs([
          ['Description', info.description],
          ['Status', info.status],
          ['Commit', info.commit ?? '-'],
          ['Image', info.image ? `${info.image}${info.imageCollectedAt ? ' (removed by garbage collection)' : ''}` : '-'],
          ['Processes', info.processes.join(', ') || '-'],
          ['Config vars', info.configPrunedAt ? '(pruned by garbage collection)' : info.configVars.join(', ') || 'none'],
          ['Created', info.createdAt],
          ['Finished', info.finishedAt ?? '-'],
        ]);
      });
    },
  },
  defineCommand({
    name: 'rollback',
    usage: 'APP [VERSION] [--run-release]',
    summary: "Run an earlier release's image and config again, as a new release (default: the one before)",
    access: 'app',
    args: { min: 1, max: 2 },
    flags: { 'run-release': { type: 'boolean', help: "run the release's release command before the rollout" } },
    run: async (ctx, app, [raw], flags) => {
      const r = await rollback(actorOf(ctx), app, { ...(raw === undefined ? {} : { version: parseVersion(raw) }), runRelease: flags['run-release'] === true }, progressOf(ctx));
      ctx.out.line(`Rolling back ${app} to v${r.target}... done, v${r.release}`);
    },
  }),
  defineCommand({
    name: 'apps:promote',
    usage: 'APP --to TARGET[,TARGET…] [--confirm TARGET[,…]]',
    summary: "Release the image an app runs (same digest, no build) in other apps, with their own config; says what changes first",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: {
      to: { type: 'string', help: 'the apps to promote to, comma-separated; you must be able to deploy each' },
      confirm: { type: 'string', help: 'the targets whose process types the promotion may remove, comma-separated' },
    },
    run: async (ctx, app, _args, flags) => {
      const list = (v: string | undefined) => (v === undefined ? [] : v.split(','));
      if (flags.to === undefined) throw new UsageError('usage: apps:promote APP --to TARGET[,TARGET…] [--confirm TARGET[,…]]');
      const r = await promote(actorOf(ctx), app, { to: list(flags.to), confirm: list(flags.confirm) }, progressOf(ctx));
      for (const t of r.to) ctx.out.line(`Promoting ${r.from.app} v${r.from.version} to ${t.app}... done, v${t.release}`);
    },
  }),
];
