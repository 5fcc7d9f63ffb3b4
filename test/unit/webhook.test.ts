// Webhook deliveries per forge, as pure functions: signatures over the raw bytes (right, wrong,
// missing, wrong length), the forge and delivery id, the branch a push moved; and the store's
// deduplication of delivery ids with its bounded retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { bodyKey, deliveryId, forgeOf, hmacMatches, parseEvent, tokenMatches, verifyDelivery } from '../../server/forge/webhook.ts';
import { parseRemoteUrl } from '../../server/forge/remote.ts';
import { DELIVERIES_KEPT, DELIVERY_RETENTION_MS } from '../../server/store/syncs.ts';
import { withStore } from '../support/store.ts';

const SECRET = 's3cret';
const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) }));
const mac = (b: Buffer | string, secret = SECRET) => createHmac('sha256', secret).update(b).digest('hex');

test('GitHub and Forgejo: X-Hub-Signature-256 sha256=HEX over the raw bytes', () => {
  assert.deepEqual(verifyDelivery({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${mac(body)}` }, body, SECRET), { ok: true, forge: 'github' });
  assert.deepEqual(verifyDelivery({ 'x-hub-signature-256': `sha256=${mac(body).toUpperCase()}` }, body, SECRET), { ok: true, forge: 'github' }, 'hex in either case');
  // Gitea and Forgejo send GitHub's headers too, and their own event header decides the forge.
  assert.deepEqual(verifyDelivery({ 'x-gitea-event': 'push', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${mac(body)}` }, body, SECRET), { ok: true, forge: 'gitea' });
  const refused = [
    `sha256=${mac(body, 'other')}`,
    `sha256=${mac(Buffer.concat([body, Buffer.from(' ')]))}`,
    `sha256=${mac(body).slice(0, 63)}`,
    `sha256=${mac(body)}00`,
    mac(body),
    `sha1=${mac(body)}`,
    'sha256=',
    `sha256=${'z'.repeat(64)}`,
  ];
  for (const sig of refused) assert.equal(verifyDelivery({ 'x-hub-signature-256': sig }, body, SECRET).ok, false, sig);
});

test('a present signature that fails is not rescued by another header; none at all is refused', () => {
  const v = verifyDelivery({ 'x-hub-signature-256': `sha256=${mac(body, 'x')}`, 'x-gitea-signature': mac(body), 'x-gitlab-token': SECRET }, body, SECRET);
  assert.deepEqual(v, { ok: false, reason: 'X-Hub-Signature-256 does not match' });
  assert.deepEqual(verifyDelivery({ 'x-github-event': 'push' }, body, SECRET), { ok: false, reason: 'no signature header' });
  // The reason never carries the secret or the expected MAC.
  assert.ok(!JSON.stringify(v).includes(mac(body)) && !JSON.stringify(v).includes(SECRET));
});

test("Gitea's X-Gitea-Signature (bare hex), Bitbucket's X-Hub-Signature (sha256= only), GitLab's X-Gitlab-Token", () => {
  assert.deepEqual(verifyDelivery({ 'x-gitea-signature': mac(body) }, body, SECRET), { ok: true, forge: 'gitea' });
  assert.equal(verifyDelivery({ 'x-gitea-signature': `sha256=${mac(body)}` }, body, SECRET).ok, false);
  assert.equal(verifyDelivery({ 'x-gitea-signature': mac(body).slice(2) }, body, SECRET).ok, false);
  assert.deepEqual(verifyDelivery({ 'x-event-key': 'repo:push', 'x-hub-signature': `sha256=${mac(body)}` }, body, SECRET), { ok: true, forge: 'bitbucket' });
  assert.equal(verifyDelivery({ 'x-event-key': 'repo:push', 'x-hub-signature': `sha1=${mac(body)}` }, body, SECRET).ok, false);
  assert.deepEqual(verifyDelivery({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET }, body, SECRET), { ok: true, forge: 'gitlab' });
  for (const t of ['', 's3cre', 's3crett', 'S3CRET']) assert.equal(verifyDelivery({ 'x-gitlab-token': t }, body, SECRET).ok, false, t);
  assert.equal(tokenMatches(SECRET, SECRET), true);
  assert.equal(hmacMatches(SECRET, body, mac(body)), true);
  assert.equal(hmacMatches(SECRET, body, ''), false);
});

test('the forge and the delivery id come from its headers; without one, the body hash is the id', () => {
  assert.equal(forgeOf({ 'x-github-event': 'push' }), 'github');
  assert.equal(forgeOf({ 'x-forgejo-event': 'push', 'x-github-event': 'push' }), 'gitea');
  assert.equal(forgeOf({ 'x-gitlab-event': 'Push Hook' }), 'gitlab');
  assert.equal(forgeOf({ 'x-event-key': 'repo:push' }), 'bitbucket');
  assert.equal(deliveryId('github', { 'x-github-delivery': 'abc-1' }, body), 'github:abc-1');
  assert.equal(deliveryId('gitea', { 'x-gitea-delivery': 'g-1' }, body), 'gitea:g-1');
  assert.equal(deliveryId('gitlab', { 'x-gitlab-event-uuid': 'u-1' }, body), 'gitlab:u-1');
  assert.equal(deliveryId('bitbucket', { 'x-request-uuid': '{b-1}' }, body), 'bitbucket:{b-1}');
  const hashed = deliveryId('gitlab', {}, body);
  assert.match(hashed, /^gitlab:sha256:[0-9a-f]{64}$/);
  assert.equal(deliveryId('gitlab', {}, body), hashed, 'the same bytes are the same delivery');
  assert.notEqual(deliveryId('gitlab', {}, Buffer.from('{}')), hashed);
  assert.match(deliveryId('github', { 'x-github-delivery': 'x'.repeat(200) }, body), /^github:sha256:/, 'an id too long to be one is not trusted');
});

test('the branch of a push: refs/heads/X for GitHub, Gitea and GitLab; push.changes[].new for Bitbucket', () => {
  const j = (v: unknown) => Buffer.from(JSON.stringify(v));
  const sha = 'b'.repeat(40);
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/feature/x', after: sha })), { kind: 'push', branches: [{ branch: 'feature/x', commit: sha, deleted: false }] });
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true })), { kind: 'push', branches: [{ branch: 'main', commit: undefined, deleted: true }] });
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/tags/v1', after: sha })), { kind: 'other', what: 'a push to refs/tags/v1' });
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'ping' }, j({})), { kind: 'other', what: 'a ping event' });
  // GitHub's form-encoded deliveries carry the JSON in `payload`.
  const form = Buffer.from(new URLSearchParams({ payload: JSON.stringify({ ref: 'refs/heads/main', after: sha }) }).toString());
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded' }, form), { kind: 'push', branches: [{ branch: 'main', commit: sha, deleted: false }] });
  assert.deepEqual(parseEvent('gitea', { 'x-gitea-event': 'push' }, j({ ref: 'refs/heads/dev', after: sha })), { kind: 'push', branches: [{ branch: 'dev', commit: sha, deleted: false }] });
  assert.deepEqual(parseEvent('gitlab', { 'x-gitlab-event': 'Push Hook' }, j({ ref: 'refs/heads/main', after: sha })), { kind: 'push', branches: [{ branch: 'main', commit: sha, deleted: false }] });
  assert.deepEqual(parseEvent('gitlab', { 'x-gitlab-event': 'Tag Push Hook' }, j({ ref: 'refs/tags/v1' })), { kind: 'other', what: 'a Tag Push Hook event' });
  const bb = j({ push: { changes: [
    { new: { type: 'tag', name: 'v1', target: { hash: sha } } },
    { old: { type: 'branch', name: 'gone' }, new: null },
    { new: { type: 'branch', name: 'main', target: { hash: sha } } },
  ] } });
  assert.deepEqual(parseEvent('bitbucket', { 'x-event-key': 'repo:push' }, bb), { kind: 'push', branches: [{ branch: 'gone', commit: undefined, deleted: true }, { branch: 'main', commit: sha, deleted: false }] });
  assert.deepEqual(parseEvent('bitbucket', { 'x-event-key': 'repo:push' }, j({ push: { changes: [{ new: { type: 'tag', name: 'v1' } }] } })), { kind: 'other', what: 'a push of tags only' });
  assert.equal(parseEvent('github', { 'x-github-event': 'push' }, Buffer.from('not json')), undefined);
  assert.equal(parseEvent('bitbucket', { 'x-event-key': 'repo:push' }, j({ push: {} })), undefined);
});

test('a deleted branch, per forge: GitHub/Gitea/Forgejo deleted or a zero after; GitLab a zero after; Bitbucket new: null', () => {
  const j = (v: unknown) => Buffer.from(JSON.stringify(v));
  const sha = 'c'.repeat(40);
  const zero = '0'.repeat(40);
  const gone = (branch: string) => ({ kind: 'push', branches: [{ branch, commit: undefined, deleted: true }] });
  // GitHub sends both; either one is enough.
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/feature/x', before: sha, after: zero, deleted: true })), gone('feature/x'));
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/feature/x', before: sha, after: zero })), gone('feature/x'));
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/feature/x', deleted: true })), gone('feature/x'));
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/heads/feature/x', before: zero, after: sha, created: true, deleted: false })),
    { kind: 'push', branches: [{ branch: 'feature/x', commit: sha, deleted: false }] }, 'a created branch is a push');
  // Gitea and Forgejo: GitHub's shape, under their own event header.
  assert.deepEqual(parseEvent('gitea', { 'x-gitea-event': 'push' }, j({ ref: 'refs/heads/dev', before: sha, after: zero, deleted: true })), gone('dev'));
  assert.deepEqual(parseEvent('gitea', { 'x-forgejo-event': 'push' }, j({ ref: 'refs/heads/dev', before: sha, after: zero })), gone('dev'));
  // GitLab: only the all-zero after says it (its payload has no deleted field).
  assert.deepEqual(parseEvent('gitlab', { 'x-gitlab-event': 'Push Hook' }, j({ object_kind: 'push', ref: 'refs/heads/dev', before: sha, after: zero, checkout_sha: null })), gone('dev'));
  assert.deepEqual(parseEvent('gitlab', { 'x-gitlab-event': 'Push Hook' }, j({ ref: 'refs/heads/dev', after: sha, deleted: true })),
    { kind: 'push', branches: [{ branch: 'dev', commit: sha, deleted: false }] }, 'GitLab has no deleted field: a commit in after is a push');
  // Bitbucket: the change's new side is null and its old side names the branch; a deleted tag is no branch.
  assert.deepEqual(parseEvent('bitbucket', { 'x-event-key': 'repo:push' }, j({ push: { changes: [{ old: { type: 'branch', name: 'feature/y', target: { hash: sha } }, new: null, closed: true }] } })), gone('feature/y'));
  assert.deepEqual(parseEvent('bitbucket', { 'x-event-key': 'repo:push' }, j({ push: { changes: [{ old: { type: 'tag', name: 'v1' }, new: null }] } })), { kind: 'other', what: 'a push of tags only' });
  // A deleted tag (GitHub) is not a branch.
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, j({ ref: 'refs/tags/v1', after: zero, deleted: true })), { kind: 'other', what: 'a push to refs/tags/v1' });
});

test('delivery ids are claimed once; replays within the retention are refused; old and surplus ids are forgotten', () => {
  withStore((s) => {
    s.apps.create('web');
    s.syncs.set({ app: 'web', url: 'https://example.com/r.git', branch: 'main', publicKey: null, setBy: 'admin', setVia: 'ssh' });
    const t = 1_000_000_000_000;
    assert.equal(s.syncs.claimDelivery('web', 'github:1', t), true);
    assert.equal(s.syncs.claimDelivery('web', 'github:1', t + 1000), false);
    s.syncs.releaseDelivery('web', 'github:1');
    assert.equal(s.syncs.claimDelivery('web', 'github:1', t + 2000), true, 'an id given back may come again');
    assert.equal(s.syncs.claimDelivery('web', 'github:1', t + DELIVERY_RETENTION_MS + 3000), true, 'past the retention an id is forgotten');
    for (let i = 0; i < DELIVERIES_KEPT + 5; i++) s.syncs.claimDelivery('web', `n:${i}`, t + DELIVERY_RETENTION_MS + 4000 + i);
    const kept = (s.db.prepare('SELECT count(*) AS n FROM hook_deliveries WHERE app = ?').get('web') as { n: number }).n;
    assert.equal(kept, DELIVERIES_KEPT);
    assert.equal(s.syncs.claimDelivery('web', `n:${DELIVERIES_KEPT + 4}`, t + DELIVERY_RETENTION_MS + 9000), false, 'the newest are kept');
    s.apps.remove('web');
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM hook_deliveries').get() as { n: number }).n, 0, 'they go with the app');
  });
});

test('repository URLs: https and SSH (URL or scp-like) only; no credentials, options or other transports', () => {
  assert.deepEqual(parseRemoteUrl('https://github.com/o/r.git'), { url: 'https://github.com/o/r.git', kind: 'http' });
  assert.deepEqual(parseRemoteUrl('ssh://git@example.com:2222/o/r.git'), { url: 'ssh://git@example.com:2222/o/r.git', kind: 'ssh' });
  assert.deepEqual(parseRemoteUrl('git@github.com:o/r.git'), { url: 'git@github.com:o/r.git', kind: 'ssh' });
  for (const bad of ['ext::sh -c touch% /tmp/x', 'file:///etc', '/srv/repo.git', '-uhttps://x/y', 'https://user:pass@github.com/o/r.git', 'https://tok@github.com/o/r',
    'git@-oProxyCommand=x:o/r', 'ssh://-oProxyCommand=x/r', 'https://github.com', 'https://github.com/o/r?x=1', 'git@github.com:-o/r', 'https://exa mple.com/r']) {
    assert.throws(() => parseRemoteUrl(bad), /is not a repository URL Slipway can fetch/, bad);
  }
});

test("a delivery's body key is the hash of its bytes; GitHub's signed push time is read", () => {
  assert.equal(bodyKey(Buffer.from('{"a":1}')), bodyKey(Buffer.from('{"a":1}')));
  assert.notEqual(bodyKey(Buffer.from('{"a":1}')), bodyKey(Buffer.from('{"a":2}')));
  const push = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40), repository: { pushed_at: 1700000000 } }));
  assert.deepEqual(parseEvent('github', { 'x-github-event': 'push' }, push), { kind: 'push', branches: [{ branch: 'main', commit: 'a'.repeat(40), deleted: false }], pushedAt: 1700000000_000 });
  const gitea = parseEvent('gitea', { 'x-gitea-event': 'push' }, push);
  assert.ok(gitea?.kind === 'push' && gitea.pushedAt === undefined, 'only GitHub says when it pushed');
});
