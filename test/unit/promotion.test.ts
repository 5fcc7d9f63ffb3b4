// What a promotion says it changes before it runs (server/ops/promote/promotion.ts): config key names only
// one app has, process types added and removed, the commits between the two source versions, and
// the refusal when process types would go without --confirm. Plus garbage collection's view of a
// promoted image in the target's repository (gc/keep.ts): kept while a release uses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configKeyDiff, confirmRefusal, describeChanges, parseLog, processTypeDiff, type PromotionChanges } from '../../server/ops/promote/promotion.ts';
import { planCollection } from '../../server/gc/keep.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const types = (...names: string[]) => names.map((type) => ({ type }));
const same: PromotionChanges = { source: { kind: 'same', commit: A }, config: { onlyStaging: [], onlyTarget: [] }, processes: { added: [], removed: [] } };

test('config keys: the names only one side has, sorted; values are never compared nor shown', () => {
  const staging = { SHARED: 'staging-secret', DEBUG: '1', ALPHA: 'x' };
  const production = { SHARED: 'production-secret', SENTRY_DSN: 'https://k@sentry' };
  assert.deepEqual(configKeyDiff(staging, production), { onlyStaging: ['ALPHA', 'DEBUG'], onlyTarget: ['SENTRY_DSN'] });
  const lines = describeChanges('staging', 'production', { ...same, config: configKeyDiff(staging, production) });
  assert.ok(lines.includes('Config keys only in staging: ALPHA, DEBUG'), lines.join('\n'));
  assert.ok(lines.includes('Config keys only in production: SENTRY_DSN'), lines.join('\n'));
  assert.ok(!lines.join('\n').includes('secret') && !lines.join('\n').includes('sentry'), 'no value is ever shown');
  assert.deepEqual(configKeyDiff({ K: '1' }, { K: '2' }), { onlyStaging: [], onlyTarget: [] }, 'a different value of the same key is no difference of names');
  assert.ok(describeChanges('s', 't', same).includes('Config keys: the same names in both apps'));
});

test('process types: added and removed against what the target runs; the release phase is not a process type', () => {
  assert.deepEqual(processTypeDiff(types('web', 'clock', 'release'), types('web', 'worker')), { added: ['worker'], removed: ['clock'] });
  assert.deepEqual(processTypeDiff([], types('web', 'release')), { added: ['web'], removed: [] }, 'a target never deployed only gains');
  assert.deepEqual(processTypeDiff(types('web', 'release'), types('web')), { added: [], removed: [] });
  const lines = describeChanges('s', 't', { ...same, processes: { added: ['worker'], removed: ['clock'] } });
  assert.deepEqual(lines.slice(-2), ['Process types added: worker', 'Process types removed: clock']);
  assert.equal(describeChanges('s', 't', same).at(-1), 'Process types: unchanged');
});

test('a removal needs the target confirmed: one sentence naming the types and the flag; confirmed or nothing removed, no refusal', () => {
  const removing: PromotionChanges = { ...same, processes: { added: [], removed: ['clock', 'worker'] } };
  assert.equal(confirmRefusal('staging', 'production', removing, []),
    'Promoting staging to production removes its process types clock, worker and stops what runs there, so nothing was promoted: confirm with --confirm production.');
  assert.match(confirmRefusal('staging', 'production', { ...same, processes: { added: [], removed: ['clock'] } }, ['other']) ?? '', /removes its process type clock and/);
  assert.equal(confirmRefusal('staging', 'production', removing, ['production']), undefined);
  assert.equal(confirmRefusal('staging', 'production', { ...same, processes: { added: ['worker'], removed: [] } }, []), undefined, 'adding needs no confirmation');
});

test('commits: listed between the two versions, bounded, with the ones the target loses; otherwise the short SHAs', () => {
  const log = parseLog('1234567 Fix the thing\n89abcde Add \u001b[31mred\u001b[0m\n\n');
  assert.deepEqual(log, [{ sha: '1234567', subject: 'Fix the thing' }, { sha: '89abcde', subject: 'Add \u001b[31mred\u001b[0m' }]);
  const lines = describeChanges('staging', 'production', { ...same, source: { kind: 'log', from: A, to: B, commits: log, count: 25, dropped: 1 } });
  assert.deepEqual(lines.slice(0, 5), [
    'Commits: aaaaaaa -> bbbbbbb, 25 new:',
    '  1234567 Fix the thing',
    '  89abcde Add ?[31mred?[0m',
    '  ... and 23 more',
    "1 commit production runs is not in staging's version and goes away",
  ]);
  assert.equal(describeChanges('s', 't', { ...same, source: { kind: 'versions', from: A, to: B } })[0], "Commits: aaaaaaa -> bbbbbbb (the commits between are in neither app's repository)");
  assert.equal(describeChanges('s', 't', { ...same, source: { kind: 'first', to: B } })[0], 'Commit: bbbbbbb (t runs no earlier commit)');
  assert.equal(describeChanges('s', 't', same)[0], 'Commit: aaaaaaa, the one t runs already');
  assert.equal(describeChanges('s', 't', { ...same, source: { kind: 'log', from: B, to: A, commits: [], count: 0, dropped: 2 } }).slice(0, 2).join('\n'),
    "Commits: bbbbbbb -> aaaaaaa, none new\n2 commits t runs are not in s's version and go away");
});

test("garbage collection keeps a promoted image in the target's repository while a release runs it, and never deletes its tag alone", () => {
  const promoted = 'sha256:' + 'c'.repeat(64);
  const own = (n: number) => 'sha256:' + String(n).repeat(64);
  const image = (d: string) => `registry.test/slipway/production@${d}`;
  const releases = [
    { version: 3, image: image(promoted), status: 'succeeded' as const, collected: false },
    { version: 2, image: image(own(2)), status: 'succeeded' as const, collected: false },
    { version: 1, image: image(own(1)), status: 'succeeded' as const, collected: false },
  ];
  const tags = [{ tag: 'promoted-staging-v7', digest: promoted }, { tag: 'build-2', digest: own(2) }, { tag: 'build-1', digest: own(1) }];
  const builds = [{ id: 1, finished: true }, { id: 2, finished: true }];
  const plan = planCollection({ releases, tags, builds, keep: 1 });
  assert.ok(plan.keep.has(promoted), 'the running release: kept');
  assert.deepEqual(plan.remove, [own(1)], 'v2 is the rollback target; v1 goes');
  // Once two newer pushes run and the promotion is past the rollback target, its digest goes like any release's.
  const later = planCollection({ releases: [{ version: 5, image: image(own(5)), status: 'succeeded', collected: false }, { version: 4, image: image(own(4)), status: 'succeeded', collected: false }, ...releases], tags, builds, keep: 1 });
  assert.ok(later.remove.includes(promoted) && later.collected.includes(3), later.remove.join(' '));
});
