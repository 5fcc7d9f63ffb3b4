// An app's releases: the list, one release, and rollback (an earlier release's image and config
// run again as a new release; which one a bare rollback picks is gc/keep.ts's rollbackTarget).
import { UserError } from '../../errors.ts';
import { requireDeployer, type Services } from '../../context.ts';
import { releaseAndDeploy } from './release.ts';
import { deployedRelease, rollOut } from '../rollout.ts';
import { oldestRunnable, rollbackTarget } from '../../gc/keep.ts';
import type { Release } from '../../store/releases.ts';
import type { Actor, Progress } from '../actor.ts';
import type { ReleaseInfo } from '../../shapes/releases.ts';
import { observeRollback, secondsSince } from '../../observe/metrics.ts';
import { followConfig } from '../data/attachments.ts';

/** A release as listed: everything but its config, whose values are secrets (the store's row, so its processes, checks and cron keep the types the wire's ReleaseSummary passes through loosely). */
export type ReleaseSummary = Omit<Release, 'config'>;

/** releases --json: the app's releases, newest first. */
export function listReleases(actor: Actor, app: string): ReleaseSummary[] {
  return actor.services.store.releases.list(app).map(({ config: _secret, ...r }) => r);
}

/** releases:info --json: one release, or the sentence saying the app has no such release. */
export function releaseInfo(actor: Actor, app: string, version: number): ReleaseInfo {
  const r = actor.services.store.releases.get(app, version);
  if (!r) throw new UserError(`${app} has no release v${version}; see releases ${app}.`);
  return {
    version: r.version, description: r.description, status: r.status, commit: r.commit, image: r.image,
    processes: r.processes.map((p) => p.type), configVars: Object.keys(r.config), createdAt: r.createdAt, finishedAt: r.finishedAt,
    imageCollectedAt: r.imageCollectedAt, configPrunedAt: r.configPrunedAt, createdBy: r.createdBy, configChanges: r.configChanges, runsAs: r.runsAs,
  };
}

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

/** What to roll back to: a version (default: rollbackTarget's choice), and whether to run the release command first. */
export interface RollbackInput {
  version?: number;
  runRelease?: boolean;
}

/** What a rollback did: the release it went back to, and the new release that runs it. */
export interface RollbackResult {
  target: number;
  release: number;
}

/** Runs an earlier release's image and config again, as a new release, and restores that config. */
export async function rollback(actor: Actor, app: string, input: RollbackInput, progress: Progress): Promise<RollbackResult> {
  const { services } = actor;
  const { store } = services;
  requireDeployer(services);
  const current = deployedRelease(services, app);
  const target = input.version === undefined
    ? rollbackTarget(store.releases.all(app).map((r) => ({ ...r, collected: r.imageCollectedAt !== null })))
    : store.releases.get(app, input.version);
  if (!target) throw new UserError(input.version === undefined ? `${app} has no earlier release that deployed and still has its image; see releases ${app}.` : `${app} has no release v${input.version}; see releases ${app}.`);
  if (!target.image) throw new UserError(`v${target.version} has no image to run; pick another release (see releases ${app}).`);
  if (target.version === current.version) throw new UserError(`v${target.version} is what ${app} runs already.`);
  refuseCollected(services, app, target);
  refusePruned(services, app, target);
  const start = performance.now();
  const release = await rollOut(actor, app, 'rollback', progress, async (p) => {
    // Again under the lock, and with no await before the release is recorded: garbage
    // collection marks images under this lock before it deletes them.
    refuseCollected(services, app, store.releases.get(app, target.version)!);
    refusePruned(services, app, store.releases.get(app, target.version)!);
    const { release: r } = await releaseAndDeploy(services, app, {
      description: `Rollback to v${target.version}`, commit: target.commit, image: target.image!, processes: target.processes, config: target.config, checks: target.checks, cron: target.cron, createdBy: actor.identity.name,
      // The target's instances (its own, or those it ran itself as a rollback): still warm, only the traffic moves.
      runsAs: target.runsAs ?? target.version,
    }, { transcript: p.transcript, signal: p.signal, describe: true, runRelease: input.runRelease === true });
    // As on Heroku, a rollback brings back the config it ran with: `config` shows what runs.
    store.config.change(app, target.config, Object.keys(store.config.all(app)).filter((k) => !(k in target.config)));
    // A rolled-back promotion: the database that held DATABASE_URL then holds it again.
    followConfig(store, app);
    return r;
  }).catch((err: unknown) => {
    observeRollback(progress.signal.aborted ? 'cancelled' : 'failed', secondsSince(start));
    throw err;
  });
  observeRollback('succeeded', secondsSince(start));
  return { target: target.version, release: release.version };
}
