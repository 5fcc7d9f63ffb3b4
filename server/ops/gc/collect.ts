// Garbage collection: per app after each successful deploy (tag deletion in the registry, cheap),
// and for the whole machine on a timer or the `gc` command (the above for every app, then the
// registry's storage, destroyed apps' build caches and dangling build images). A failure is
// logged and reported; it never fails the push that triggered it.
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import type { StorageCollection } from '../../build/registry.ts';
import { tryLockApp } from '../lock.ts';
import { planCollection, planConfigPrune, type CollectionPlan, type TaggedImage } from '../../gc/keep.ts';
import type { AppCollectionPlan, CollectionPreview } from '../../shapes/gc.ts';

/** How the collection of one app went. */
export type AppCollection =
  | { app: string; skipped: string }
  | { app: string; kept: number; removed: number; collected: number[] };

/** What a whole collection did. */
export interface Collection {
  apps: AppCollection[];
  storage: StorageCollection;
  cachesRemoved: string[];
  imageBytesFreed: number;
  ms: number;
}

/**
 * Deletes the app's images beyond the keep set, and the config copies of releases beyond it. The
 * decisions and the marking of releases happen in one synchronous step under the app's deploy
 * lock, so a rollback (which checks the marks under that lock) never picks an image that is about
 * to go or a config that is gone; an app whose lock is taken (a deploy under way) is skipped, and
 * its next deploy collects it.
 */
export async function collectApp(services: Pick<Services, 'store' | 'config' | 'registry'>, app: string): Promise<AppCollection> {
  const { store, registry } = services;
  const tags = registry ? await registry.tags(app) : [];
  const lock = tryLockApp(services, app, 'garbage collection');
  if (!lock.ok) return { app, skipped: `a deploy is in progress (${lock.holder})` };
  let plan;
  try {
    const planned = planApp(services, app, tags);
    store.releases.pruneConfig(app, planned.pruned);
    if (planned.pruned.length) log.info('gc: pruned the config copies of old releases', { app, versions: planned.pruned });
    if (!registry || !planned.images) return { app, skipped: 'no registry configured' };
    plan = planned.images;
    store.releases.markCollected(app, plan.collected);
  } finally {
    lock.unlock();
  }
  for (const digest of plan.remove) await registry.remove(app, digest);
  const kept = new Set(tags.map((t) => t.digest).filter((d) => plan.keep.has(d))).size;
  const result = { app, kept, removed: plan.remove.length, collected: plan.collected };
  if (plan.remove.length) log.info('gc: deleted old images', { ...result });
  return result;
}

/** What collecting one app would do now: the releases whose config copy goes, and (with a registry) which images go. */
function planApp(services: Pick<Services, 'store' | 'config' | 'registry'>, app: string, tags: readonly TaggedImage[]): { pruned: number[]; images?: CollectionPlan } {
  const { store, config } = services;
  const all = store.releases.all(app);
  const pruned = planConfigPrune(all.map((r) => ({ version: r.version, status: r.status, image: r.image, collected: r.imageCollectedAt !== null, pruned: r.configPrunedAt !== null })), config.keepReleases);
  if (!services.registry) return { pruned };
  const releases = all.map((r) => ({ version: r.version, image: r.image, status: r.status, collected: r.imageCollectedAt !== null }));
  const builds = store.builds.list(app, 1_000_000).map((b) => ({ id: b.id, finished: b.status !== 'running' }));
  return { pruned, images: planCollection({ releases, tags, builds, keep: config.keepReleases }) };
}

/** The same decisions as collectAll, made on what the store and registry hold now, without taking a lock or changing anything. */
export async function previewCollection(services: Services): Promise<CollectionPreview> {
  const { store, registry, builder, config } = services;
  const apps: AppCollectionPlan[] = [];
  for (const a of store.apps.list()) {
    try {
      const tags = registry ? await registry.tags(a.name) : [];
      const planned = planApp(services, a.name, tags);
      if (!registry || !planned.images) {
        apps.push({ app: a.name, kept: 0, removed: 0, removedBytes: null, collected: [], configPruned: planned.pruned });
        continue;
      }
      const plan = planned.images;
      // A size the registry cannot give is not worth failing the report for.
      const removedBytes = plan.remove.length ? await registry.bytes(a.name, plan.remove).catch((err: unknown) => { log.warn('gc --dry-run could not measure images', { app: a.name, err }); return null; }) : 0;
      apps.push({ app: a.name, kept: new Set(tags.map((t) => t.digest).filter((d) => plan.keep.has(d))).size, removed: plan.remove.length, removedBytes, collected: plan.collected, configPruned: planned.pruned });
    } catch (err) {
      log.warn('gc --dry-run of an app failed', { app: a.name, err });
      apps.push({ app: a.name, skipped: `failed: ${(err as Error).message}` });
    }
  }
  const known = new Set(store.apps.list().map((a) => a.name));
  const cachesRemoved = builder ? (await builder.cachedApps()).filter((app) => !known.has(app)) : [];
  const storage = !registry ? { runs: false as const, reason: 'no registry configured' } : { runs: true as const };
  return { keepReleases: config.keepReleases, apps, cachesRemoved, storage };
}

/**
 * A destroyed app's images and build cache. Neither is needed to finish destroying the app, so a
 * failure is said (`note`) and logged, and the collection of orphaned caches retries the cache.
 */
export async function removeImages(services: Pick<Services, 'registry' | 'builder'>, app: string, note: (line: string) => void): Promise<void> {
  const { registry, builder } = services;
  try {
    if (registry) for (const digest of new Set((await registry.tags(app)).map((t) => t.digest))) await registry.remove(app, digest);
  } catch (err) {
    log.warn('apps:destroy could not delete the images', { app, err });
    note(`Its images could not be deleted from the registry (${(err as Error).message}).`);
  }
  try {
    await builder?.purgeCache(app);
  } catch (err) {
    log.warn('apps:destroy could not remove the build cache', { app, err });
    note(`Its build cache could not be removed (${(err as Error).message}); garbage collection retries.`);
  }
}

/** collectApp after a successful deploy, in the background: logged, never thrown. */
export function collectAfterDeploy(services: Pick<Services, 'store' | 'config' | 'registry'>, app: string): Promise<void> {
  const started = Date.now();
  return collectApp(services, app).then(
    (r) => log.info('gc after deploy', { ...r, ms: Date.now() - started }),
    (err: unknown) => log.warn('gc after deploy failed; the next deploy or the timer tries again', { app, err }),
  );
}

/** Every app's images, then the registry's storage, destroyed apps' caches and dangling images. */
export async function collectAll(services: Services, signal?: AbortSignal): Promise<Collection> {
  const started = Date.now();
  const { store, registry, builder } = services;
  const apps: AppCollection[] = [];
  for (const a of store.apps.list()) {
    try {
      apps.push(await collectApp(services, a.name));
    } catch (err) {
      log.warn('gc of an app failed', { app: a.name, err });
      apps.push({ app: a.name, skipped: `failed: ${(err as Error).message}` });
    }
  }
  let storage: StorageCollection;
  if (!registry) storage = { ran: false, reason: 'no registry configured' };
  else {
    // Stop-the-world, as the registry's documentation demands: no build pushes meanwhile. Builds
    // in this process wait at the gate; a deploy another process (the local CLI) holds means skip.
    storage = (await services.pushes.exclusive(async () => {
      const elsewhere = store.apps.lockedElsewhere();
      if (elsewhere.length) return { ran: false as const, reason: `another process is deploying ${elsewhere.join(', ')}; the next collection tries again` };
      return registry.collectStorage(signal);
    })) ?? { ran: false, reason: 'a build is running; the next collection tries again' };
  }
  const cachesRemoved: string[] = [];
  let imageBytesFreed = 0;
  if (builder) {
    const known = new Set(store.apps.list().map((a) => a.name));
    for (const app of await builder.cachedApps()) {
      if (known.has(app)) continue;
      await builder.purgeCache(app);
      cachesRemoved.push(app);
    }
    imageBytesFreed = await builder.pruneImages();
  }
  const result = { apps, storage, cachesRemoved, imageBytesFreed, ms: Date.now() - started };
  log.info('gc finished', {
    ms: result.ms, removed: apps.reduce((n, a) => n + ('removed' in a ? a.removed : 0), 0),
    storage: storage.ran ? { ms: storage.ms, blobs: storage.blobsDeleted, manifests: storage.manifestsDeleted } : storage.reason,
    cachesRemoved, imageBytesFreed,
  });
  return result;
}

