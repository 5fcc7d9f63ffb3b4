import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appName, branchSlug, MAX_APP_NAME, previewAppName } from '../../server/names.ts';
import { BRANCH_GRACE_MS, DEFAULT_PREVIEW_LIMIT, deployBranches, formatPreviewTtl, limitRefusal, parsePreviewLimit, parsePreviewTtl, previewsToRemove, sharedConfig, type PreviewPolicy } from '../../server/ops/previews/preview-policy.ts';
import { pushTarget } from '../../server/push/receive.ts';
import type { PreviewRow } from '../../server/store/previews.ts';
import { UserError } from '../../server/errors.ts';
import { previewBranchRefusal } from '../../server/ops/sync/sync-previews.ts';
import { withStore } from '../support/store.ts';

test('a branch slug keeps lowercase letters and digits, one dash for any run of others', () => {
  assert.equal(branchSlug('Feature/Login_v2'), 'feature-login-v2');
  assert.equal(branchSlug('--weird..branch//'), 'weird-branch');
  assert.equal(branchSlug('ünïcode'), 'n-code');
  assert.equal(branchSlug('___'), '');
});

test('a preview name is PARENT--SLUG-HASH, deterministic, and a valid app name', () => {
  const name = previewAppName('shop', 'feature/login');
  assert.match(name, /^shop--feature-login-[0-9a-f]{8}$/);
  assert.equal(previewAppName('shop', 'feature/login'), name);
  assert.equal(appName(name), name);
});

test('branches with the same slug, or the same branch of two apps, get different names', () => {
  assert.notEqual(previewAppName('shop', 'feature/login'), previewAppName('shop', 'feature-login'));
  assert.notEqual(previewAppName('shop', 'Feature-Login'), previewAppName('shop', 'feature-login'));
  assert.notEqual(previewAppName('shop', 'x').slice(-8), previewAppName('shop2', 'x').slice(-8));
});

test('long branch and parent names are cut to an app name of at most 40 characters, the hash kept whole', () => {
  const long = 'a-very-long-branch-name-that-goes-on-and-on/with/many/parts';
  const parent40 = 'p'.repeat(MAX_APP_NAME);
  for (const [parent, branch] of [['shop', long], [parent40, long], [parent40, 'x'], ['a'.repeat(29), 'b'], ['s', '!!!']] as const) {
    const name = previewAppName(parent, branch);
    assert.ok(name.length <= MAX_APP_NAME, name);
    assert.equal(appName(name), name);
    assert.ok(name.includes('--'), name);
    assert.ok(`slipway-${name}`.length <= 63);
  }
  // Two long branches that share their first 40 characters still differ.
  assert.notEqual(previewAppName('shop', `${long}-one`), previewAppName('shop', `${long}-two`));
  // A branch with nothing to slug is the hash alone after the parent.
  assert.match(previewAppName('s', '!!!'), /^s--[0-9a-f]{8}$/);
  // The parent's part is cut last: with room it is whole.
  assert.ok(previewAppName('a'.repeat(23), 'branch').startsWith(`${'a'.repeat(23)}--branch-`));
});

const row = (app: string, branch: string, pushedAt: string | null, createdAt = '2026-01-01T00:00:00.000Z'): PreviewRow =>
  ({ app, parent: 'shop', branch, commit: pushedAt ? 'c'.repeat(40) : null, pushedAt, createdAt });

test('the reconciler removes every preview when previews are off', () => {
  const rows = [row('a', 'x', '2026-01-02T00:00:00.000Z')];
  const policy: PreviewPolicy = { enabled: false, limit: 5, ttlSeconds: 3600, branches: new Set(['x']) };
  assert.deepEqual(previewsToRemove(rows, policy, Date.parse('2026-01-02T00:00:01.000Z')).map((r) => r.reason), ['previews disabled']);
});

test('a preview past its time to live is removed; one pushed within it stays', () => {
  const now = Date.parse('2026-01-10T00:00:00.000Z');
  const rows = [row('old', 'old', '2026-01-02T23:59:59.000Z'), row('new', 'new', '2026-01-03T00:00:01.000Z')];
  const policy: PreviewPolicy = { enabled: true, limit: 5, ttlSeconds: 7 * 86_400, branches: new Set(['old', 'new']) };
  assert.deepEqual(previewsToRemove(rows, policy, now).map((r) => [r.preview.app, r.reason]), [['old', 'expired']]);
});

test('a preview whose branch is gone is removed after the grace period, not within it', () => {
  const pushed = '2026-01-02T00:00:00.000Z';
  const rows = [row('gone', 'gone', pushed)];
  const policy: PreviewPolicy = { enabled: true, limit: 5, ttlSeconds: 7 * 86_400, branches: new Set() };
  assert.deepEqual(previewsToRemove(rows, policy, Date.parse(pushed) + BRANCH_GRACE_MS - 1), []);
  assert.deepEqual(previewsToRemove(rows, policy, Date.parse(pushed) + BRANCH_GRACE_MS).map((r) => r.reason), ['branch deleted']);
});

test('beyond the limit the least recently pushed previews go', () => {
  const rows = [row('a', 'a', '2026-01-02T00:00:00.000Z'), row('b', 'b', '2026-01-04T00:00:00.000Z'), row('c', 'c', null, '2026-01-03T00:00:00.000Z')];
  const policy: PreviewPolicy = { enabled: true, limit: 1, ttlSeconds: 30 * 86_400, branches: new Set(['a', 'b', 'c']) };
  const out = previewsToRemove(rows, policy, Date.parse('2026-01-05T00:00:00.000Z'));
  assert.deepEqual(out.map((r) => [r.preview.app, r.reason]), [['c', 'over the limit'], ['a', 'over the limit']]);
});

test('previews:limit takes 0 to 50, above the default for admins only', () => {
  assert.equal(parsePreviewLimit('3', false), 3);
  assert.equal(parsePreviewLimit('0', false), 0);
  assert.equal(parsePreviewLimit(String(DEFAULT_PREVIEW_LIMIT), false), DEFAULT_PREVIEW_LIMIT);
  assert.throws(() => parsePreviewLimit('6', false), /Only admins may allow more than 5 previews/);
  assert.equal(parsePreviewLimit('20', true), 20);
  for (const bad of ['51', '-1', '2.5', 'five', '']) assert.throws(() => parsePreviewLimit(bad, true), UserError, bad);
});

test('previews:ttl takes minutes, hours or days from 1h to 90d, and prints back the same way', () => {
  assert.equal(parsePreviewTtl('7d'), 7 * 86_400);
  assert.equal(parsePreviewTtl('36h'), 36 * 3600);
  assert.equal(parsePreviewTtl('90m'), 5400);
  for (const bad of ['59m', '91d', '7', '7w', '1.5d', '']) assert.throws(() => parsePreviewTtl(bad), UserError, bad);
  assert.equal(formatPreviewTtl(7 * 86_400), '7d');
  assert.equal(formatPreviewTtl(36 * 3600), '36h');
  assert.equal(formatPreviewTtl(5400), '90m');
});

test('a new preview copies only the shared keys that the parent has', () => {
  assert.deepEqual(sharedConfig({ DATABASE_URL: 'prod', LOG_LEVEL: 'info', SECRET: 's' }, ['LOG_LEVEL', 'MISSING']), { LOG_LEVEL: 'info' });
  assert.deepEqual(sharedConfig({ SECRET: 's' }, []), {});
});

test('the limit refusal is one sentence naming the app and what to do', () => {
  assert.match(limitRefusal('shop', 5), /^shop already has its 5 previews \(previews:limit shop\); delete a branch .*nothing was deployed\.$/);
  assert.match(limitRefusal('shop', 0), /allows no previews/);
});

const SHA = 'a'.repeat(40);
const ZERO = '0'.repeat(40);
const upd = (ref: string, next = SHA) => [{ old: ZERO, new: next, ref }];

test('with previews off a push decides as before: other branches and deletions are refused', () => {
  assert.deepEqual(pushTarget(upd('refs/heads/main'), null, false), { kind: 'deploy', branch: 'main', commit: SHA });
  assert.throws(() => pushTarget(upd('refs/heads/feature'), null, false), /Pushed to refs\/heads\/feature, but only main \(or master\) deploys/);
  assert.throws(() => pushTarget(upd('refs/heads/feature', ZERO), null, false), /only main \(or master\) deploys/);
});

test('with previews on another branch is a preview, its deletion a removal; the deploy branch, tags and many refs as before', () => {
  assert.deepEqual(pushTarget(upd('refs/heads/feature/x'), null, true), { kind: 'preview', branch: 'feature/x', commit: SHA });
  assert.deepEqual(pushTarget(upd('refs/heads/feature/x', ZERO), null, true), { kind: 'preview-removal', branch: 'feature/x' });
  assert.deepEqual(pushTarget(upd('refs/heads/prod'), 'prod', true), { kind: 'deploy', branch: 'prod', commit: SHA });
  assert.deepEqual(pushTarget(upd('refs/heads/main'), 'prod', true), { kind: 'preview', branch: 'main', commit: SHA });
  assert.throws(() => pushTarget(upd('refs/heads/main', ZERO), null, true), /Deleting main is not allowed/);
  assert.throws(() => pushTarget(upd('refs/tags/v1'), null, true), /Pushed to refs\/tags\/v1/);
  assert.throws(() => pushTarget([...upd('refs/heads/a'), ...upd('refs/heads/b')], null, true), /Push one branch at a time/);
});

test('which forge branches get a preview: not with previews off, not the app\'s own deploy branches, not a name Slipway does not take', () => {
  withStore((s) => {
    s.apps.create('shop');
    const row = s.syncs.set({ app: 'shop', url: 'https://example.com/r.git', branch: 'main', publicKey: null, setBy: 'admin', setVia: 'ssh' });
    const services = { store: s };
    assert.equal(previewBranchRefusal(services, row, 'feature'), 'shop has previews off (previews:enable shop turns them on).');
    s.previews.configure('shop', { enabled: true });
    assert.equal(previewBranchRefusal(services, row, 'feature/login'), undefined);
    assert.equal(previewBranchRefusal(services, row, 'master'), "master is shop's own deploy branch here, so it has no preview.");
    assert.equal(previewBranchRefusal(services, row, 'feature..x'), `"feature..x" is not a branch name Slipway takes (letters, digits, '.', '_', '/' and '-'), so it has no preview.`);
    assert.match(previewBranchRefusal(services, row, 'ünïcode') ?? '', /is not a branch name Slipway takes/);
    assert.deepEqual(deployBranches(null), ['main', 'master']);
    assert.deepEqual(deployBranches('prod'), ['prod']);
  });
});
