// Removing an app and everything it has, the one way apps:destroy and preview removal (a deleted
// branch, an expired or disabled preview, its parent destroyed) both do it.
import type { Services } from '../../context.ts';
import { removeLogs, removeRepo } from '../../repos.ts';
import { removeDeployKey } from '../../forge/remote.ts';
import { removeImages } from '../gc/collect.ts';
import { lockApp } from '../lock.ts';
import type { PreviewRow } from '../../store/previews.ts';
import { applyCollector } from '../drains/drains.ts';

/**
 * Everything `app` runs, its images and cache, repository, logs, and last its row; `note` hears
 * what could not be removed (garbage collection retries it). The caller holds the app's lock.
 * The row goes last: until then a crash leaves an app that a second removal finishes (each step
 * is idempotent), never files without a row.
 */
export async function teardownApp(services: Services, app: string, note: (line: string) => void): Promise<void> {
  const { store, config, deployer } = services;
  if (deployer) await deployer.rollout.destroy(app);
  await removeImages(services, app, note);
  removeRepo(config, app);
  removeLogs(config, app);
  removeDeployKey(config, app);
  // Said just before the row goes: listeners check who may see it against the app's grants.
  services.events.publish({ type: 'app', app, change: 'destroyed' });
  const drained = store.drains.list(app).length > 0;
  store.apps.remove(app);
  // Its drains went with the row: the collector stops sending its lines (and stops, when none is left).
  if (drained && deployer?.collector && config.collectorImage) {
    await applyCollector(services, deployer.collector).catch((err: unknown) => note(`The log collector was not updated (${err instanceof Error ? err.message : String(err)}); the next change of a drain updates it.`));
  }
}

/**
 * Removes a preview app under its lock (a LockedError while one of its deploys runs); its branch
 * stays in the parent's repository. Returns what could not be removed.
 */
export async function destroyPreview(services: Services, preview: PreviewRow, why: string): Promise<string[]> {
  return beginPreviewRemoval(services, preview, why);
}

/**
 * destroyPreview for a caller that answers before the removal ends (a webhook): the lock is taken
 * now, so a LockedError is thrown at once, and the removal goes on in the returned promise.
 */
export function beginPreviewRemoval(services: Services, preview: PreviewRow, why: string): Promise<string[]> {
  const unlock = lockApp(services, preview.app, `preview removal (${why})`);
  const notes: string[] = [];
  return teardownApp(services, preview.app, (line) => notes.push(line)).then(() => notes).finally(unlock);
}
