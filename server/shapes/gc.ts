// Garbage collection as `gc --dry-run --json` shows it: what a collection would delete now.
import { Type, type Static } from 'typebox';
import { Nullable } from './common.ts';

/** What a collection of one app would do: skipped (and why), or images kept and deleted, releases losing their image or config copy. */
export const AppCollectionPlanSchema = Type.Union([
  Type.Object({ app: Type.String(), skipped: Type.String() }, { additionalProperties: false }),
  Type.Object({
    app: Type.String(),
    kept: Type.Integer({ description: 'Images kept.' }),
    removed: Type.Integer({ description: 'Images that would be deleted.' }),
    removedBytes: Nullable(Type.Integer({ description: 'What they take in the registry (null: unknown).' })),
    collected: Type.Array(Type.Integer(), { description: 'Releases that would lose their image (no rollback to them).' }),
    configPruned: Type.Array(Type.Integer(), { description: 'Releases whose config copy would be dropped.' }),
  }, { additionalProperties: false }),
]);
/** What a collection of one app would do. */
export type AppCollectionPlan = Static<typeof AppCollectionPlanSchema>;

/** `gc --dry-run --json`: what a whole collection would do now, deleting nothing. */
export const CollectionPreviewSchema = Type.Object({
  keepReleases: Type.Integer({ description: 'SLIPWAY_KEEP_RELEASES: the images and config copies of this many releases are kept.' }),
  apps: Type.Array(AppCollectionPlanSchema),
  cachesRemoved: Type.Array(Type.String(), { description: 'Build caches of apps that no longer exist.' }),
  storage: Type.Union([
    Type.Object({ runs: Type.Literal(true) }, { additionalProperties: false }),
    Type.Object({ runs: Type.Literal(false), reason: Type.String() }, { additionalProperties: false }),
  ], { description: 'Whether the registry storage would be collected, or why not.' }),
}, { additionalProperties: false });
/** What a whole collection would do now (gc --dry-run, GET /api/v1/gc). */
export type CollectionPreview = Static<typeof CollectionPreviewSchema>;
