// Tokens and sign-in (issue 41), the parts without a server: lifetimes, the settings, what
// keys:oidc binds, which binding an account signs in through, and that a session ends with its
// binding or its token's expiry, on a real SQLite store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, parseDuration } from '../../server/durations.ts';
import { loadConfig } from '../../server/config.ts';
import { tokenLifetime } from '../../server/ops/keys/tokens.ts';
import { bindingOf, unmappedMessage } from '../../server/ops/keys/oidc.ts';
import { landingPage } from '../../server/transport/http/oidc.ts';
import { expiryText } from '../../server/commands/tokens.ts';
import { sessionIdentity } from '../../server/auth/session.ts';
import { withStore } from '../support/store.ts';

const base = { SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_BASE_DOMAIN: 'apps.test' };

test('lifetimes: days, hours, minutes, seconds, weeks; nothing else, nothing zero, nothing past ten years', () => {
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('12h'), 12 * 3_600_000);
  assert.equal(parseDuration('90m'), 90 * 60_000);
  assert.equal(parseDuration('3600'), 3_600_000);
  assert.equal(parseDuration('3600s'), 3_600_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  for (const bad of ['', '0', '0d', '-1d', '1.5d', '30 d', '1y', 'd', '3651d', 'soon']) assert.equal(parseDuration(bad), undefined, bad);
  assert.deepEqual([30 * 86_400_000, 36 * 3_600_000, 90 * 60_000, 1500].map(formatDuration), ['30d', '36h', '90m', '2s']);
});

test('a token gets --ttl, at most the maximum, and the maximum without --ttl', () => {
  assert.equal(tokenLifetime(undefined, undefined), undefined, 'no maximum: for ever');
  assert.equal(tokenLifetime(undefined, 90 * 86_400_000), 90 * 86_400_000);
  assert.equal(tokenLifetime('30d', 90 * 86_400_000), 30 * 86_400_000);
  assert.throws(() => tokenLifetime('91d', 90 * 86_400_000), { message: 'Tokens may last at most 90d on this server (SLIPWAY_TOKEN_MAX_TTL); ask for --ttl 90d or less.' });
  assert.throws(() => tokenLifetime('forever', undefined), { message: '"forever" is not a lifetime; use a number of days, hours, minutes or seconds like 30d, 12h, 90m or 3600s.' });
  assert.equal(expiryText(null, '2026-12-01T00:00:00.000Z'), 'never');
  assert.equal(expiryText('2026-12-02T00:00:00.000Z', '2026-12-01T00:00:00.000Z'), '2026-12-02T00:00:00.000Z');
  assert.equal(expiryText('2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z'), '2026-11-30T00:00:00.000Z (expired)');
});

test('the settings: a maximum lifetime, and an OpenID Connect provider checked as one, each refusal one sentence', () => {
  assert.equal(loadConfig(base).tokenMaxTtlMs, undefined);
  assert.equal(loadConfig({ ...base, SLIPWAY_TOKEN_MAX_TTL: '90d' }).tokenMaxTtlMs, 90 * 86_400_000);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_TOKEN_MAX_TTL: 'a while' }), { message: 'SLIPWAY_TOKEN_MAX_TTL must be a lifetime like 90d, 12h or 3600 (seconds), got "a while".' });
  assert.equal(loadConfig(base).oidc, undefined);
  assert.deepEqual(loadConfig({ ...base, SLIPWAY_OIDC_ISSUER: 'https://id.example.com/', SLIPWAY_OIDC_CLIENT_ID: 'slipway' }).oidc,
    { issuer: 'https://id.example.com', clientId: 'slipway', clientSecret: undefined, name: 'id.example.com' });
  assert.throws(() => loadConfig({ ...base, SLIPWAY_OIDC_ISSUER: 'http://id.example.com', SLIPWAY_OIDC_CLIENT_ID: 'x' }), /must be the provider's https:\/\/ issuer URL .*\(http:\/\/ only on loopback\)/);
  assert.equal(loadConfig({ ...base, SLIPWAY_OIDC_ISSUER: 'http://127.0.0.1:9000', SLIPWAY_OIDC_CLIENT_ID: 'x' }).oidc?.issuer, 'http://127.0.0.1:9000');
  assert.throws(() => loadConfig({ ...base, SLIPWAY_OIDC_ISSUER: 'https://id.example.com' }), { message: 'SLIPWAY_OIDC_ISSUER needs SLIPWAY_OIDC_CLIENT_ID, the client id the provider gave Slipway.' });
  assert.throws(() => loadConfig({ ...base, SLIPWAY_OIDC_CLIENT_ID: 'x' }), /need SLIPWAY_OIDC_ISSUER/);
  const dir = mkdtempSync(join(tmpdir(), 'slipway-oidc-settings-'));
  const open = join(dir, 'open');
  writeFileSync(open, 's3cret\n', { mode: 0o644 });
  const closed = join(dir, 'closed');
  writeFileSync(closed, 's3cret\n', { mode: 0o600 });
  const oidc = { ...base, SLIPWAY_OIDC_ISSUER: 'https://id.example.com', SLIPWAY_OIDC_CLIENT_ID: 'x', SLIPWAY_OIDC_NAME: 'Example' };
  assert.throws(() => loadConfig({ ...oidc, SLIPWAY_OIDC_CLIENT_SECRET_FILE: open }), /may be read by other users \(mode 0644\): chmod 600 it\.$/);
  assert.deepEqual(loadConfig({ ...oidc, SLIPWAY_OIDC_CLIENT_SECRET_FILE: closed }).oidc, { issuer: 'https://id.example.com', clientId: 'x', clientSecret: 's3cret', name: 'Example' });
  assert.throws(() => loadConfig({ ...oidc, SLIPWAY_OIDC_CLIENT_SECRET_FILE: closed, SLIPWAY_OIDC_CLIENT_SECRET: 'y' }), { message: 'Set SLIPWAY_OIDC_CLIENT_SECRET or SLIPWAY_OIDC_CLIENT_SECRET_FILE, not both.' });
});

test('keys:oidc values: an @ makes an email (lowercased), else a subject; sub: and email: say which', () => {
  assert.deepEqual(bindingOf('Alice@Example.com'), { claim: 'email', value: 'alice@example.com' });
  assert.deepEqual(bindingOf('248289761001'), { claim: 'sub', value: '248289761001' });
  assert.deepEqual(bindingOf('sub:auth0|user@tenant'), { claim: 'sub', value: 'auth0|user@tenant' }, 'a subject with an @ in it');
  assert.deepEqual(bindingOf('email:bob@example.com'), { claim: 'email', value: 'bob@example.com' });
  for (const bad of ['', 'two words', 'x'.repeat(256), 'sub:', 'tab\there']) assert.throws(() => bindingOf(bad), /is not an OpenID Connect subject or email/, JSON.stringify(bad));
  assert.throws(() => bindingOf('email:nobody'), { message: '"nobody" is not an email address.' });
  assert.equal(unmappedMessage({ sub: 's1', email: 'x@y.z', verifiedEmail: undefined }), 'No Slipway key is bound to x@y.z (subject s1): ask an admin to run keys:oidc KEY s1.');
});

test('the page after sign-in is one of ours, never another host', () => {
  assert.equal(landingPage('/apps/shop/logs'), '/apps/shop/logs');
  for (const bad of [null, '', '//evil.example', '/\\evil.example', 'https://evil.example', 'apps', '/a b']) assert.equal(landingPage(bad), '/apps', String(bad));
});

test('an account signs in through its subject first, then its verified email; a session ends with its binding', () => {
  withStore((s) => {
    s.keys.add({ name: 'dev', fingerprint: 'SHA256:d', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    s.keys.add({ name: 'ops', fingerprint: 'SHA256:o', type: 'ssh-ed25519', publicKey: 'BBBB', admin: true });
    assert.equal(s.oidc.bind({ claim: 'email', value: 'carol@example.com', keyName: 'dev', createdBy: 'ops' }), 'added');
    assert.equal(s.oidc.bind({ claim: 'sub', value: 'carol-sub', keyName: 'ops', createdBy: 'ops' }), 'added');
    assert.equal(s.oidc.bind({ claim: 'sub', value: 'carol-sub', keyName: 'ops', createdBy: 'ops' }), 'same');
    assert.deepEqual(s.oidc.bind({ claim: 'sub', value: 'carol-sub', keyName: 'dev', createdBy: 'ops' }), { boundTo: 'ops' });
    assert.equal(s.oidc.find('carol-sub', 'carol@example.com')?.keyName, 'ops', 'the subject wins');
    assert.equal(s.oidc.find('other', 'Carol@Example.com')?.keyName, 'dev', 'then the verified email');
    assert.equal(s.oidc.find('other', undefined), undefined, 'an unverified email matches nothing');

    const opts = { maxAgeMs: 3_600_000, idleMs: 1_800_000, max: 20 };
    s.sessions.add({ hash: 'h1', keyName: 'dev', tokenHash: null, oidc: { claim: 'email', value: 'carol@example.com' } }, opts);
    assert.equal(sessionIdentity(s, s.sessions.get('h1')!, opts.idleMs)?.name, 'dev');
    // Bound to another key since (unbound and bound again by hand, as the local CLI could): the old session does not follow it.
    s.db.prepare("UPDATE oidc_bindings SET key_name = 'ops' WHERE value = 'carol@example.com'").run();
    assert.equal(s.sessions.get('h1')!.unbound, true);
    assert.equal(sessionIdentity(s, s.sessions.get('h1')!, opts.idleMs), undefined);
    s.db.prepare("UPDATE oidc_bindings SET key_name = 'dev' WHERE value = 'carol@example.com'").run();
    assert.deepEqual(s.oidc.unbind('email', 'carol@example.com')?.sessions, 1);
    assert.equal(s.sessions.get('h1'), undefined, 'unbinding deleted the session');
    // Removing the key removes its bindings and the sessions they made.
    s.sessions.add({ hash: 'h2', keyName: 'ops', tokenHash: null, oidc: { claim: 'sub', value: 'carol-sub' } }, opts);
    s.keys.remove('ops');
    assert.deepEqual([s.oidc.list(), s.sessions.get('h2')], [[], undefined]);
  });
});

test('a session started with a token ends when the token expires', () => {
  withStore((s) => {
    s.keys.add({ name: 'dev', fingerprint: 'SHA256:d', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    const soon = new Date(Date.now() + 60_000).toISOString();
    s.tokens.add('ci', 'dev', 'slw_ci', 10, 'read', null, soon);
    const used = s.tokens.use('slw_ci')!;
    assert.equal(used.expiresAt, soon);
    s.sessions.add({ hash: 'h', keyName: 'dev', tokenHash: used.hash }, { maxAgeMs: 3_600_000, idleMs: 1_800_000, max: 20 });
    assert.equal(sessionIdentity(s, s.sessions.get('h')!, 1_800_000)?.scope, 'read');
    s.db.prepare("UPDATE tokens SET expires_at = '2000-01-01T00:00:00.000Z'").run();
    assert.equal(s.tokens.use('slw_ci'), undefined, 'the token itself is refused');
    assert.deepEqual(s.tokens.expired('slw_ci'), { name: 'ci', keyName: 'dev', expiresAt: '2000-01-01T00:00:00.000Z' });
    assert.equal(s.tokens.exists(used.hash), false);
    assert.equal(sessionIdentity(s, s.sessions.get('h')!, 1_800_000), undefined, 'and the session it started');
  });
});
