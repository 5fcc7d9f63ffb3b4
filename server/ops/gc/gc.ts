// Garbage collection as operations: the whole collection now (what the timer runs), and what an
// app's images and build cache take on disk.
import { log } from '../../output/log.ts';
import { collectAll, previewCollection, type Collection } from './collect.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';
import type { CollectionPreview } from '../../shapes/gc.ts';

/** A measurement that failed says why instead of failing the whole report. */
async function measured<T>(what: string, app: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    log.warn(`apps:report could not measure ${what}`, { app, err });
    return { error: (err as Error).message };
  }
}

/** apps:report --json: the app's releases, its images in the registry and its build cache. */
export interface DiskReport {
  app: string;
  releases: number;
  releasesCollected: number;
  keepReleases: number;
  images: { count: number; bytes: number } | { error: string };
  cacheBytes: number | { error: string };
}

/** apps:report --json. */
export async function appReport(actor: Actor, app: string): Promise<DiskReport> {
  const { store, registry, builder, config } = actor.services;
  const releases = store.releases.all(app);
  const images = registry
    ? await measured('the registry', app, async () => {
      const digests = [...new Set((await registry.tags(app)).map((t) => t.digest))];
      return { count: digests.length, bytes: await registry.bytes(app, digests) };
    })
    : { error: 'no registry configured' };
  const cacheBytes = builder ? await measured('the build cache', app, async () => (await builder.cacheBytes(app)) ?? 0) : { error: 'no builder configured' };
  return {
    app,
    releases: releases.length,
    releasesCollected: releases.filter((r) => r.imageCollectedAt !== null).length,
    keepReleases: config.keepReleases,
    images,
    cacheBytes,
  };
}

/** gc (admins only): collects every app's old images, the registry's storage, destroyed apps' caches and dangling images. */
export function collectGarbage(actor: Actor): Promise<Collection> {
  requireAdmin(actor, 'Only admins may run gc.');
  return collectAll(actor.services, actor.signal);
}

/** gc --dry-run (admins only): what a collection would delete now, deleting nothing. */
export function previewGarbage(actor: Actor): Promise<CollectionPreview> {
  requireAdmin(actor, 'Only admins may run gc.');
  return previewCollection(actor.services);
}
