// What follows a rollout, in one place: startRollOut calls afterRollOut once a rollout succeeded
// and freed the app's lock. Each reaction decides from what changed whether it has work.
import type { Services } from '../context.ts';
import { collectAfterDeploy } from './gc/collect.ts';

/** What the app ran before the rollout, for the reactions to compare with. */
export interface BeforeRollOut {
  /** The current release's version; null before the first. */
  version: number | null;
}

/** What the app runs before a rollout. */
export function beforeRollOut(services: Pick<Services, 'store'>, app: string): BeforeRollOut {
  return { version: services.store.releases.current(app)?.version ?? null };
}

/**
 * Runs the reactions to a successful rollout of `app`, in the background (each logs its own
 * failure; none fails the rollout): a new release (a push, rebuild, sync, preview, promotion,
 * rollback or config change) may push the oldest kept release out of SLIPWAY_KEEP_RELEASES, so
 * the app's images and config copies beyond it are collected.
 */
export function afterRollOut(services: Pick<Services, 'store' | 'config' | 'registry'>, app: string, before: BeforeRollOut): void {
  const current = services.store.releases.current(app);
  if (current?.image && current.version !== before.version) void collectAfterDeploy(services, app);
}
