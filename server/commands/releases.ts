import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { deployedRelease, withDeployLock } from '../ops/deploying.ts';
import { requireDeployer } from '../context.ts';
import { releaseAndDeploy } from '../ops/release.ts';
import { listing, type Command } from './types.ts';
import { oldestRunnable, rollbackTarget } from '../gc/keep.ts';
import type { Release } from '../store/releases.ts';
import type { Services } from '../context.ts';

/** Throws the one sentence for a rollback to a release whose image garbage collection removed. */
function refuseCollected(services: Pick<Services, 'store' | 'config'>, app: string, target: Release): void {
  if (target.imageCollectedAt === null) return;
  const keep = services.config.keepReleases;
  const oldest = oldestRunnable(services.store.releases.all(app).map((r) => ({ version: r.version, image: r.image, status: r.status, collected: r.imageCollectedAt !== null })));
  throw new UserError(`v${target.version}'s image was removed by garbage collection (SLIPWAY_KEEP_RELEASES=${keep} keeps the last ${keep}); push again${oldest === undefined ? '' : ` or roll back to v${oldest} or later`}.`);
}

/** Throws the one sentence for a rollback to a release whose config copy garbage collection pruned. */
function refusePruned(services: Pick<Services, 'config'>, app: string, target: Release): void {
  if (target.configPrunedAt === null) return;
  const keep = services.config.keepReleases;
  throw new UserError(`v${target.version}'s config is gone: garbage collection keeps the config of the last ${keep} releases (SLIPWAY_KEEP_RELEASES), so roll back to a newer release (see releases ${app}).`);
}

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
      const list = ctx.services.store.releases.list(app);
      return listing(list.map(({ config: _secret, ...r }) => r), (out) => {
        if (list.length === 0) return out.line(`${app} has no releases yet.`);
        out.heading(`${app} Releases`);
        out.table(list.map((r) => [`v${r.version}`, r.description, r.status, r.createdAt, ...(r.imageCollectedAt ? ['(image removed by gc)'] : [])]));
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
      const version = parseVersion(raw!);
      const r = ctx.services.store.releases.get(app, version);
      if (!r) throw new UserError(`${app} has no release v${version}; see releases ${app}.`);
      // Names only: values are secrets and `config APP` is where they are shown.
      const info = {
        version: r.version, description: r.description, status: r.status, commit: r.commit, image: r.image,
        processes: r.processes.map((p) => p.type), configVars: Object.keys(r.config), createdAt: r.createdAt, finishedAt: r.finishedAt,
      };
      return listing(info, (out) => {
        out.heading(`Release v${r.version}`);
        out.pairs([
          ['Description', info.description],
          ['Status', info.status],
          ['Commit', info.commit ?? '-'],
          ['Image', info.image ? `${info.image}${r.imageCollectedAt ? ' (removed by garbage collection)' : ''}` : '-'],
          ['Processes', info.processes.join(', ') || '-'],
          ['Config vars', r.configPrunedAt ? '(pruned by garbage collection)' : info.configVars.join(', ') || 'none'],
          ['Created', info.createdAt],
          ['Finished', info.finishedAt ?? '-'],
        ]);
      });
    },
  },
  {
    name: 'rollback',
    usage: 'APP [VERSION] [--run-release]',
    summary: "Run an earlier release's image and config again, as a new release (default: the one before)",
    access: 'app',
    args: { min: 1, max: 2 },
    flags: { 'run-release': { type: 'boolean', help: "run the release's release command before the rollout" } },
    run: async (ctx, app, [raw], flags) => {
      requireDeployer(ctx.services);
      const { store } = ctx.services;
      const current = deployedRelease(ctx, app);
      const target = raw === undefined
        ? rollbackTarget(store.releases.all(app).map((r) => ({ ...r, collected: r.imageCollectedAt !== null })))
        : store.releases.get(app, parseVersion(raw));
      if (!target) throw new UserError(raw === undefined ? `${app} has no earlier release that deployed and still has its image; see releases ${app}.` : `${app} has no release ${raw}; see releases ${app}.`);
      if (!target.image) throw new UserError(`v${target.version} has no image to run; pick another release (see releases ${app}).`);
      if (target.version === current.version) throw new UserError(`v${target.version} is what ${app} runs already.`);
      refuseCollected(ctx.services, app, target);
      refusePruned(ctx.services, app, target);
      const release = await withDeployLock(ctx, app, 'rollback', async (signal, t) => {
        // Again under the lock, and with no await before the release is recorded: garbage
        // collection marks images under this lock before it deletes them.
        refuseCollected(ctx.services, app, store.releases.get(app, target.version)!);
        refusePruned(ctx.services, app, store.releases.get(app, target.version)!);
        const r = await releaseAndDeploy(ctx.services, app, {
          description: `Rollback to v${target.version}`, commit: target.commit, image: target.image!, processes: target.processes, config: target.config, checks: target.checks,
        }, { transcript: t, signal, describe: true, runRelease: flags['run-release'] === true });
        // As on Heroku, a rollback brings back the config it ran with: `config` shows what runs.
        store.config.change(app, target.config, Object.keys(store.config.all(app)).filter((k) => !(k in target.config)));
        return r;
      });
      ctx.out.line(`Rolling back ${app} to v${target.version}... done, v${release.version}`);
    },
  },
];
