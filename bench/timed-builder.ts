// A builder wrapper for benches: times each build() of the builder it wraps, and lets a bench see
// each build request (to follow its transcript) before it goes in.
import type { Builder, BuildRequest, BuildResult } from '../server/build/builder.ts';

export class TimedBuilder implements Builder {
  /** How long the last build took (ms). */
  last = 0;
  readonly name: string;
  readonly wantsDirectory: boolean | undefined;
  readonly inner: Builder;
  readonly #observe: ((req: BuildRequest) => BuildRequest) | undefined;

  constructor(inner: Builder, observe?: (req: BuildRequest) => BuildRequest) {
    this.inner = inner;
    this.name = inner.name;
    this.wantsDirectory = inner.wantsDirectory;
    this.#observe = observe;
  }

  async build(req: BuildRequest): Promise<BuildResult> {
    const t0 = performance.now();
    try {
      return await this.inner.build(this.#observe ? this.#observe(req) : req);
    } finally {
      this.last = performance.now() - t0;
    }
  }

  purgeCache(app: string) { return this.inner.purgeCache(app); }
  cachedApps() { return this.inner.cachedApps(); }
  cacheBytes(app: string) { return this.inner.cacheBytes(app); }
  pruneImages() { return this.inner.pruneImages(); }
  async removeLeftovers() { return (await this.inner.removeLeftovers?.()) ?? 0; }
  async close() { await this.inner.close?.(); }
}
