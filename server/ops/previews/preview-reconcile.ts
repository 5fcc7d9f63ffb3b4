// The preview reconciler, level-triggered: each round compares every app's previews with what
// should be (previews on, the branch still in the repository, pushed within the time to live,
// within the limit) and removes the rest, then applies to those kept their share of the parent's
// quota as it is now. A preview whose deploy holds its lock is left to the next round.
import type { Services } from '../../context.ts';
import { LockedError } from '../../errors.ts';
import { git } from '../../git.ts';
import { log } from '../../output/log.ts';
import { repoPath } from '../../repos.ts';
import { previewLimit, previewsToRemove, previewTtl, type RemovalReason } from './preview-policy.ts';
import { destroyPreview } from '../apps/teardown.ts';
import { boundPreviews } from './preview-quota.ts';

/** How often the reconciler runs. */
export const PREVIEW_ROUND_MS = 60_000;

/** One preview the reconciler removed, and why. */
export interface PreviewRemoval {
  app: string;
  parent: string;
  branch: string;
  reason: RemovalReason;
}

/** The branches in an app's repository now. */
async function branchesOf(services: Pick<Services, 'config'>, app: string, signal?: AbortSignal): Promise<Set<string>> {
  const out = await git(['for-each-ref', '--format=%(refname:strip=2)', 'refs/heads/'], { cwd: repoPath(services.config, app), signal });
  return new Set(out.split('\n').filter((l) => l !== ''));
}

/** Brings one parent's previews in line at time `now` (ms), their quotas too; returns what it removed. */
export async function reconcileParent(services: Services, parent: string, now: number = Date.now(), signal?: AbortSignal): Promise<PreviewRemoval[]> {
  const { store } = services;
  const previews = store.previews.list(parent);
  if (previews.length === 0) return [];
  const settings = store.previews.settings(parent);
  // With previews off every one goes, whatever the repository says.
  const branches = settings.enabled ? await branchesOf(services, parent, signal) : new Set<string>();
  const removed: PreviewRemoval[] = [];
  for (const { preview, reason } of previewsToRemove(previews, { enabled: settings.enabled, limit: previewLimit(settings), ttlSeconds: previewTtl(settings), branches }, now)) {
    if (signal?.aborted) break;
    try {
      const notes = await destroyPreview(services, preview, reason);
      log.info('removed a preview', { app: preview.app, parent, branch: preview.branch, reason, notes });
      removed.push({ app: preview.app, parent, branch: preview.branch, reason });
    } catch (err) {
      if (err instanceof LockedError) continue;
      log.warn('could not remove a preview; the next round tries again', { app: preview.app, err });
    }
  }
  // The parent's quota or previews:limit may have changed since: the previews left follow it.
  if (!signal?.aborted) await boundPreviews(services, parent, signal);
  return removed;
}

/** One round over every app with previews at time `now` (ms); a failure with one app is logged and the round goes on. */
export async function reconcilePreviews(services: Services, now: number = Date.now(), signal?: AbortSignal): Promise<PreviewRemoval[]> {
  const parents = [...new Set(services.store.previews.list().map((p) => p.parent))];
  const removed: PreviewRemoval[] = [];
  for (const parent of parents) {
    if (signal?.aborted) break;
    try {
      removed.push(...await reconcileParent(services, parent, now, signal));
    } catch (err) {
      log.warn('could not reconcile the previews of an app', { app: parent, err });
    }
  }
  return removed;
}
