// The keep-set decision of garbage collection (server/gc/keep.ts), a pure function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf, oldestRunnable, planCollection, rollbackTarget, type ReleaseImage } from '../../server/gc/keep.ts';

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
const img = (n: number) => `127.0.0.1:5000/slipway/app@${d(n)}`;
/** Release vN with image `image` (default: its own, n), succeeded. */
const rel = (version: number, image: number | null = version, extra: Partial<ReleaseImage> = {}): ReleaseImage =>
  ({ version, image: image === null ? null : img(image), status: 'succeeded', collected: false, ...extra });
const builds = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, finished: true }));
const tagsFor = (n: number) => [...Array.from({ length: n }, (_, i) => ({ tag: `build-${i + 1}`, digest: d(i + 1) })), { tag: 'latest', digest: d(n) }];

test('after 12 pushes the images of the last 10 releases stay and the 2 oldest go', () => {
  const releases = Array.from({ length: 12 }, (_, i) => rel(i + 1));
  const plan = planCollection({ releases, tags: tagsFor(12), builds: builds(12), keep: 10 });
  assert.deepEqual([...plan.keep].sort(), Array.from({ length: 10 }, (_, i) => d(i + 3)).sort());
  assert.deepEqual(plan.remove.sort(), [d(1), d(2)]);
  assert.deepEqual(plan.collected.sort(), [1, 2]);
});

test('releases that share an image (config:set, rollback) count once, and a kept digest is never deleted', () => {
  // v1..v4 built images 1..4; v5 config:set on 4; v6 rollback to 2; v7 config:set on 2.
  const releases = [rel(1), rel(2), rel(3), rel(4), rel(5, 4), rel(6, 2), rel(7, 2)];
  const plan = planCollection({ releases, tags: tagsFor(4), builds: builds(4), keep: 2 });
  // Newest first, distinct: 2 (v7, v6), 4 (v5) — then v4 (4 again) and v3 fall out.
  assert.ok(plan.keep.has(d(2)) && plan.keep.has(d(4)));
  assert.ok(!plan.remove.includes(d(2)), 'v2 shares the running image: kept');
  assert.deepEqual(plan.remove.sort(), [d(1), d(3)]);
  assert.deepEqual(plan.collected.sort(), [1, 3]);
});

test('the running release and the one a bare rollback picks are kept beyond the count', () => {
  // v3 and v4 failed (never ran); the running one is v2 and a rollback would pick v1.
  const releases = [rel(1), rel(2), rel(3, 3, { status: 'failed' }), rel(4, 4, { status: 'failed' })];
  const plan = planCollection({ releases, tags: tagsFor(4), builds: builds(4), keep: 1 });
  assert.ok(plan.keep.has(d(2)), 'running');
  assert.ok(plan.keep.has(d(1)), 'rollback target');
  assert.ok(plan.keep.has(d(4)), 'newest (also latest)');
  assert.deepEqual(plan.remove, [d(3)]);
});

test('a pending release, latest, running builds and tags Slipway did not write are never deleted', () => {
  const releases = [rel(1), rel(2), rel(3, 3, { status: 'pending' })];
  const tags = [
    { tag: 'build-1', digest: d(1) }, { tag: 'build-2', digest: d(2) }, { tag: 'build-3', digest: d(3) },
    { tag: 'build-4', digest: d(40) }, { tag: 'build-9', digest: d(90) }, { tag: 'mine', digest: d(91) }, { tag: 'latest', digest: d(40) },
  ];
  const plan = planCollection({ releases, tags, builds: [...builds(3), { id: 4, finished: false }], keep: 1 });
  assert.ok(plan.keep.has(d(3)), 'pending');
  assert.ok(plan.keep.has(d(40)), 'latest');
  for (const x of [d(90), d(91)]) assert.ok(!plan.remove.includes(x), 'unknown build / foreign tag');
  // keep 1 = v3 (pending, newest); v2 runs; v1 is what a rollback picks: nothing of ours goes.
  assert.deepEqual(plan.remove, []);
});

test('a finished build whose image no release uses (a failed deploy) is deleted once outside the window', () => {
  const releases = [rel(1), rel(2), rel(3), rel(4)];
  const tags = [...tagsFor(4).filter((t) => t.tag !== 'latest'), { tag: 'build-5', digest: d(50) }, { tag: 'latest', digest: d(4) }];
  const plan = planCollection({ releases, tags, builds: builds(5), keep: 2 });
  assert.ok(plan.remove.includes(d(50)));
  assert.ok(!plan.collected.includes(5));
});

test('already collected releases are not counted, and nothing is removed twice', () => {
  const releases = [rel(1, 1, { collected: true }), rel(2), rel(3)];
  const plan = planCollection({ releases, tags: tagsFor(3).filter((t) => t.tag !== 'build-1'), builds: builds(3), keep: 2 });
  assert.deepEqual(plan.remove, []);
  assert.deepEqual(plan.collected, []);
});

test('the oldest release a rollback can still run, and digests from references', () => {
  assert.equal(oldestRunnable([rel(1, 1, { collected: true }), rel(2, 2, { collected: true }), rel(3), rel(4, 4, { status: 'failed' }), rel(5)]), 3);
  assert.equal(oldestRunnable([rel(1, 1, { collected: true })]), undefined);
  assert.equal(digestOf(img(7)), d(7));
  assert.equal(digestOf('registry/slipway/app:latest'), undefined);
  assert.equal(digestOf(null), undefined);
});

test('a bare rollback goes to the newest earlier release that deployed and whose image still exists', () => {
  // v5 runs; v4 failed, v3 has no image, v2's image was collected: v1 it is.
  const releases = [rel(1), rel(2, 2, { collected: true }), rel(3, null), rel(4, 4, { status: 'failed' }), rel(5), rel(6, 6, { status: 'pending' })];
  assert.equal(rollbackTarget(releases)?.version, 1);
  assert.equal(rollbackTarget(releases.filter((r) => r.version !== 1)), undefined, 'nothing left to go back to');
  assert.equal(rollbackTarget([rel(1), rel(2)])?.version, 1);
  // Garbage collection keeps what that choice needs.
  assert.ok(planCollection({ releases, tags: [], builds: [], keep: 1 }).keep.has(d(1)));
});
