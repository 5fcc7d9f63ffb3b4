// Garbage collection's commands: `gc` runs the whole collection now (what the timer runs), and
// `apps:report APP` shows what an app's images and build cache take on disk.
import { appReport, collectGarbage, previewGarbage } from '../ops/gc/gc.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** Bytes as people read them (powers of 1000, as Docker prints them). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
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
      const info = await appReport(actorOf(ctx), app);
      const { images, cacheBytes: cache } = info;
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
  defineCommand({
    name: 'gc',
    usage: '[--dry-run]',
    summary: 'Collect garbage now: old images, registry storage, destroyed apps\' caches, dangling images (--dry-run: only say what would go)',
    access: 'admin',
    args: { min: 0, max: 0 },
    flags: { 'dry-run': { type: 'boolean', help: 'delete nothing; show what a collection would delete now' } },
    json: true,
    run: async (ctx, _args, flags) => {
      if (flags['dry-run'] === true) {
        const p = await previewGarbage(actorOf(ctx));
        return listing(p, (out) => {
          const planned = p.apps.filter((a) => 'removed' in a);
          const removed = planned.reduce((n, a) => n + a.removed, 0);
          const bytes = planned.reduce((n, a) => n + (a.removedBytes ?? 0), 0);
          out.line(`Would delete ${removed} image${removed === 1 ? '' : 's'} (${humanBytes(bytes)}) beyond the last ${p.keepReleases} releases of ${p.apps.length} app${p.apps.length === 1 ? '' : 's'}; nothing was deleted.`);
          for (const a of p.apps) {
            if ('skipped' in a) out.line(`Skipped ${a.app}: ${a.skipped}.`);
            else if (a.removed || a.configPruned.length) out.line(`${a.app}: ${a.removed} image${a.removed === 1 ? '' : 's'}${a.collected.length ? ` (releases ${a.collected.map((v) => `v${v}`).join(', ')})` : ''}, config copies of ${a.configPruned.length} release${a.configPruned.length === 1 ? '' : 's'}.`);
          }
          out.line(p.storage.runs ? 'Registry storage would be collected.' : `Registry storage would not be collected: ${p.storage.reason}.`);
          out.line(`Build caches of destroyed apps: ${p.cachesRemoved.join(', ') || 'none'}.`);
        });
      }
      const r = await collectGarbage(actorOf(ctx));
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
  }),
];
