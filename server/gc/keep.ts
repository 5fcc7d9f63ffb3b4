// Which images of one app garbage collection keeps, as a pure decision over what the store and the
// registry say. Images are counted by digest: config:set and rollback make releases that reuse an
// image, so "the last N releases" means the images of the newest releases until N distinct ones.

/** A release as garbage collection sees it. */
export interface ReleaseImage {
  version: number;
  /** `registry/slipway/APP@sha256:…`, or null for a release with nothing to run. */
  image: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  collected: boolean;
}

/** What the choice of a bare `rollback` needs to know of a release. */
export interface RollbackCandidate {
  version: number;
  status: 'pending' | 'succeeded' | 'failed';
  image: string | null;
  /** Its image was deleted by garbage collection. */
  collected: boolean;
}

/**
 * The release a bare `rollback` goes back to, the one home of that choice (garbage collection keeps
 * its image and config): as on Heroku, the newest release before the running one that deployed and
 * whose image still exists.
 */
export function rollbackTarget<R extends RollbackCandidate>(releases: readonly R[]): R | undefined {
  const sorted = [...releases].sort((a, b) => b.version - a.version);
  const current = sorted.find((r) => r.status === 'succeeded' && r.image);
  return current && sorted.find((r) => r.version < current.version && r.status === 'succeeded' && r.image && !r.collected);
}

/** One tag of the app's repository and the manifest digest it points at. */
export interface TaggedImage { tag: string; digest: string }

/** A build as garbage collection sees it: only finished builds' tags are ever collected. */
export interface BuildState { id: number; finished: boolean }

/** What to do for one app: the digests kept, the ones to delete, and the releases that lose their image. */
export interface CollectionPlan {
  keep: ReadonlySet<string>;
  remove: string[];
  collected: number[];
}

/** The digest of a pinned image reference (`…@sha256:…`), or undefined. */
export function digestOf(image: string | null): string | undefined {
  const at = image?.lastIndexOf('@') ?? -1;
  return at >= 0 ? image!.slice(at + 1) : undefined;
}

/**
 * The keep set: the images of the newest releases up to `keep` distinct digests, always with the
 * running release's, the one a bare `rollback` would choose, any release still pending, and
 * whatever `latest` points at (pack's previous image). Deleted: digests of older releases, and of
 * `build-N` tags of finished builds that no kept release uses. A tag Slipway did not write (or of
 * a build still running) is never touched: its digest is not ours to judge.
 */
export function planCollection(input: { releases: readonly ReleaseImage[]; tags: readonly TaggedImage[]; builds: readonly BuildState[]; keep: number }): CollectionPlan {
  const releases = [...input.releases].sort((a, b) => b.version - a.version);
  const keep = new Set<string>();
  const counted = new Set<string>();
  for (const r of releases) {
    const d = digestOf(r.image);
    if (!d || r.collected) continue;
    if (counted.size < input.keep) counted.add(d);
  }
  for (const d of counted) keep.add(d);
  const current = releases.find((r) => r.status === 'succeeded' && r.image);
  for (const r of [current, rollbackTarget(releases), ...releases.filter((x) => x.status === 'pending')]) {
    const d = digestOf(r?.image ?? null);
    if (d) keep.add(d);
  }
  const latest = input.tags.find((t) => t.tag === 'latest');
  if (latest) keep.add(latest.digest);

  const finished = new Set(input.builds.filter((b) => b.finished).map((b) => b.id));
  const remove = new Set<string>();
  for (const r of releases) {
    const d = digestOf(r.image);
    if (d && !r.collected && !keep.has(d)) remove.add(d);
  }
  for (const t of input.tags) {
    const id = /^build-([1-9][0-9]*)$/.exec(t.tag)?.[1];
    if (id !== undefined && finished.has(Number(id)) && !keep.has(t.digest)) remove.add(t.digest);
  }
  const collected = releases.filter((r) => !r.collected && remove.has(digestOf(r.image) ?? '')).map((r) => r.version);
  return { keep, remove: [...remove], collected };
}

/** The oldest release that still has an image to run, for the sentence of a rollback to a collected one. */
export function oldestRunnable(releases: readonly ReleaseImage[]): number | undefined {
  const versions = releases.filter((r) => r.image && !r.collected && r.status === 'succeeded').map((r) => r.version);
  return versions.length ? Math.min(...versions) : undefined;
}

/** A release as config pruning sees it. */
export interface ReleaseConfig {
  version: number;
  status: 'pending' | 'succeeded' | 'failed';
  image: string | null;
  /** Its image was deleted by garbage collection (a bare rollback skips it). */
  collected: boolean;
  /** Its config copy is gone already. */
  pruned: boolean;
}

/**
 * The releases whose config copy goes: every release but the newest `keep` (the same count as
 * SLIPWAY_KEEP_RELEASES), the running one (a re-apply reads its config), the one a bare `rollback`
 * would choose, and any still pending. Their rows stay, so `releases` keeps the history.
 */
export function planConfigPrune(input: readonly ReleaseConfig[], keep: number): number[] {
  const releases = [...input].sort((a, b) => b.version - a.version);
  const current = releases.find((r) => r.status === 'succeeded' && r.image);
  const kept = new Set([...releases.slice(0, keep), current, rollbackTarget(releases), ...releases.filter((r) => r.status === 'pending')].map((r) => r?.version));
  return releases.filter((r) => !r.pruned && !kept.has(r.version)).map((r) => r.version);
}
