// A preview's quota is its share of its parent's (deploy/quota.ts previewPlan), applied with each
// of its deploys, `run`s and release commands. When the parent's quota or previews:limit changes,
// the previews that run follow here: at once after resource:quota and previews:limit, and each
// round of the preview reconciler (so within a minute of a change made by another process, or of
// a deploy that was under way with the bounds it read before).
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { quotaPlan } from '../releases/release.ts';

/** Applies each of `parent`'s previews' quota to its namespace (those with none yet are left to their first deploy); returns the previews bounded. */
export async function boundPreviews(services: Pick<Services, 'config' | 'store' | 'deployer'>, parent: string, signal?: AbortSignal): Promise<string[]> {
  const { deployer, store } = services;
  if (!deployer) return [];
  const bounded: string[] = [];
  for (const preview of store.previews.list(parent)) {
    if (signal?.aborted) break;
    try {
      if (await deployer.rollout.applyQuota(preview.app, quotaPlan(services, preview.app))) bounded.push(preview.app);
    } catch (err) {
      log.warn("could not apply a preview's quota; the next preview round tries again", { app: preview.app, parent, err });
    }
  }
  return bounded;
}
