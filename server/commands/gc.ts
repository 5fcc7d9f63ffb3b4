// Garbage collection's commands: `gc` runs the whole collection now (what the timer runs), and
// `apps:report APP` shows what an app's images and build cache take on disk.
import { collectAll } from '../ops/collect.ts';
import { log } from '../output/log.ts';
import { listing, type Command } from './types.ts';

/** Bytes as people read them (powers of 1000, as Docker prints them). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A measurement that failed shows why instead of failing the whole report. */
async function measured<T>(what: string, app: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    log.warn(`apps:report could not measure ${what}`, { app, err });
    return { error: (err as Error).message };
  }
}

export const gcCommands: Command[] = [
  {
    name: 'apps:report',
    usage: 'APP',
    summary: "Show the disk an app's images (registry) and build cache take",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const { store, registry, builder, config } = ctx.services;
      const releases = store.releases.all(app);
      const images = registry
        ? await measured('the registry', app, async () => {
          const digests = [...new Set((await registry.tags(app)).map((t) => t.digest))];
          return { count: digests.length, bytes: await registry.bytes(app, digests) };
        })
        : { error: 'no registry configured' };
      const cache = builder ? await measured('the build cache', app, async () => (await builder.cacheBytes(app)) ?? 0) : { error: 'no builder configured' };
      const info = {
        app,
        releases: releases.length,
        releasesCollected: releases.filter((r) => r.imageCollectedAt !== null).length,
        keepReleases: config.keepReleases,
        images,
        cacheBytes: cache,
      };
      return listing(info, (out) => {
        out.heading(`${app} disk report`);
        out.pairs([
          ['Releases', `${info.releases} (${info.releasesCollected} with their image removed by garbage collection)`],
          ['Images', 'error' in images ? `unknown: ${images.error}` : `${images.count} in the registry, ${humanBytes(images.bytes)}`],
          ['Build cache', typeof cache === 'number' ? humanBytes(cache) : `unknown: ${cache.error}`],
          ['Kept', `the images of the last ${info.keepReleases} releases (SLIPWAY_KEEP_RELEASES)`],
        ]);
      });
    },
  },
  {
    name: 'gc',
    usage: '',
    summary: 'Collect garbage now: old images, registry storage, destroyed apps\' caches, dangling images',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: async (ctx) => {
      const r = await collectAll(ctx.services, ctx.signal);
      return listing(r, (out) => {
        const removed = r.apps.reduce((n, a) => n + ('removed' in a ? a.removed : 0), 0);
        out.line(`Deleted ${removed} image${removed === 1 ? '' : 's'} beyond the last ${ctx.services.config.keepReleases} releases of ${r.apps.length} app${r.apps.length === 1 ? '' : 's'}.`);
        for (const a of r.apps) if ('skipped' in a) out.line(`Skipped ${a.app}: ${a.skipped}.`);
        out.line(r.storage.ran
          ? `Registry storage collected in ${(r.storage.ms / 1000).toFixed(1)} s: ${r.storage.blobsDeleted} blobs and ${r.storage.manifestsDeleted} manifests deleted.`
          : `Registry storage not collected: ${r.storage.reason}.`);
        out.line(`Removed ${r.cachesRemoved.length} build cache${r.cachesRemoved.length === 1 ? '' : 's'} of destroyed apps; dangling images freed ${humanBytes(r.imageBytesFreed)}.`);
      });
    },
  },
];
