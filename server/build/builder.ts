import type { Transcript } from '../output/transcript.ts';
import type { ProcessType } from '../model.ts';



/** Everything a builder needs for one build; the source tree is already extracted. */
export interface BuildRequest {
  app: string;
  /**
   * Whose share of the build slots the build takes (SLIPWAY_BUILD_CONCURRENCY_PER_KEY): the key it
   * runs as, i.e. the pusher, or the key that connected a sync for a webhook's or a poll's build.
   */
  tenant: string;
  commit: string;
  /** The pushed tree: a directory, or a zip archive of it with Unix modes (pack takes either). */
  source: string;
  /** Build-time environment from the app's config. Never logged, never put in argv. */
  env: Readonly<Record<string, string>>;
  /** Builder image, e.g. heroku/builder:24. */
  builderImage: string;
  /** Release tag for this build, e.g. `v7`. */
  tag: string;
  /** Where pack's output goes, line by line. */
  logFile: string;
  /** Most bytes the log file may hold (SLIPWAY_MAX_BUILD_LOG_MB); beyond, its middle is left out with a marker line. */
  maxLogBytes?: number;
  transcript: Transcript;
  signal: AbortSignal;
}

/** What a build produced, read from the image itself. */
export interface BuildResult {
  /** Image reference pinned by digest: registry/repo@sha256:… */
  image: string;
  digest: string;
  processes: ProcessType[];
}

/** Turns a source tree into an OCI image in the registry. */
export interface Builder {
  readonly name: string;
  /** Set when `source` must be a directory (never the zip archive pack also takes). */
  readonly wantsDirectory?: boolean;
  build(req: BuildRequest): Promise<BuildResult>;
  /** Drops the app's build cache, so the next build starts cold. */
  purgeCache(app: string): Promise<void>;
  /** The apps this server has build caches for (garbage collection removes destroyed apps' ones). */
  cachedApps(): Promise<string[]>;
  /** Bytes of the app's build cache, if it has one. */
  cacheBytes(app: string): Promise<number | undefined>;
  /** Removes the build engine's dangling images; returns the bytes freed. */
  pruneImages(): Promise<number>;
  /** At start-up: removes what builds of a previous process of this server left running (build pods); returns how many. */
  removeLeftovers?(): Promise<number>;
  /** The server is stopping: removes what the builder keeps running between builds (a spare build pod). */
  close?(): Promise<void>;
}
