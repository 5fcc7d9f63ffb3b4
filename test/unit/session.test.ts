// Dashboard sessions, the parts without a server: the cookie, whether a request came over HTTPS,
// the cross-site rule, the secrets, the settings, and the store's expiry and caps on a real SQLite
// file with its clock moved by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cameOverHttps, clearedSessionCookie, cookieValue, crossSiteRefusal, sessionCookie, trustedProxies } from '../../server/auth/session-cookie.ts';
import { csrfToken, newSecret, sameSecret, secretHash, sessionEnd, sessionIdentity, useSession, wellFormedSecret } from '../../server/auth/session.ts';
import { loadConfig } from '../../server/config.ts';
import { dashboardUrl } from '../../server/urls.ts';
import { hashToken } from '../../server/store/tokens.ts';
import { withStore } from '../support/store.ts';

test('the session cookie is found among others, quoted or not, and only under its own name', () => {
  assert.equal(cookieValue('a=1; slipway_session=abc; b=2'), 'abc');
  assert.equal(cookieValue('slipway_session="abc"'), 'abc');
  assert.equal(cookieValue('xslipway_session=abc; slipway_sessionx=def'), undefined);
  assert.equal(cookieValue(undefined), undefined);
  assert.equal(cookieValue('slipway_session'), undefined);
});

test('the cookie is HttpOnly, SameSite=Strict, for the whole server, Secure only over HTTPS; clearing it sets Max-Age=0', () => {
  assert.equal(sessionCookie('s3cret', { secure: false, maxAgeS: 43_200.7 }), 'slipway_session=s3cret; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
  assert.equal(sessionCookie('s3cret', { secure: true, maxAgeS: 10 }), 'slipway_session=s3cret; Path=/; HttpOnly; SameSite=Strict; Max-Age=10; Secure');
  assert.equal(clearedSessionCookie(true), 'slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure');
});

test("X-Forwarded-Proto counts only from loopback, the pods' and the nodes' addresses, and its last value", () => {
  const proxies = trustedProxies(['10.42.0.0/16', '192.168.1.5/32', 'fd00::/64']);
  const https = (remoteAddress: string, forwardedProto?: string | string[]) => cameOverHttps({ encrypted: false, remoteAddress, forwardedProto }, proxies);
  assert.equal(https('127.0.0.1', 'https'), true);
  assert.equal(https('::ffff:127.0.0.1', 'https'), true, 'an IPv4-mapped loopback address');
  assert.equal(https('::1', 'HTTPS'), true);
  assert.equal(https('10.42.3.7', 'https'), true, 'the ingress pod');
  assert.equal(https('192.168.1.5', 'https'), true, 'a node');
  assert.equal(https('fd00::12', 'https'), true);
  assert.equal(https('192.168.1.6', 'https'), false, 'a client on the LAN');
  assert.equal(https('203.0.113.9', 'https'), false, 'anyone else');
  assert.equal(https('10.43.0.1', 'https'), false, 'a Service address is not a proxy');
  assert.equal(https('127.0.0.1'), false);
  assert.equal(https('127.0.0.1', 'http'), false);
  assert.equal(https('127.0.0.1', 'https, http'), false, 'the value of the proxy next to us is the last');
  assert.equal(https('127.0.0.1', 'http,https'), true);
  assert.equal(https('127.0.0.1', ['http', 'https']), true);
  assert.equal(cameOverHttps({ encrypted: true, remoteAddress: '203.0.113.9', forwardedProto: 'http' }, proxies), true, 'our own TLS');
  assert.equal(https('not an address', 'https'), false);
});

test('another site may not use the session: Sec-Fetch-Site cross-site or same-site, or a foreign Origin', () => {
  const base = { host: 'slipway.example.com:8080', https: false };
  const ok = (r: Partial<Parameters<typeof crossSiteRefusal>[0]>, dashboard?: string) => crossSiteRefusal({ origin: undefined, fetchSite: undefined, ...base, ...r }, dashboard) === undefined;
  assert.ok(ok({}), 'no browser headers (a script with the cookie): the CSRF token still applies');
  assert.ok(ok({ origin: 'http://slipway.example.com:8080' }));
  assert.ok(ok({ origin: 'HTTP://Slipway.Example.com:8080', fetchSite: 'same-origin' }));
  assert.ok(ok({ fetchSite: 'none' }), 'typed in the address bar');
  assert.ok(!ok({ fetchSite: 'cross-site' }));
  assert.ok(!ok({ fetchSite: 'same-site' }), 'a sibling host (an app under the same domain) is another site for us');
  assert.ok(!ok({ origin: 'https://slipway.example.com:8080' }), 'the scheme is part of the origin');
  assert.ok(!ok({ origin: 'http://evil.example' }));
  assert.ok(!ok({ origin: 'null' }));
  assert.ok(ok({ origin: 'https://slipway.example.com', https: true, host: 'slipway.example.com' }));
  assert.ok(ok({ origin: 'https://dash.example.com' }, 'https://dash.example.com'), 'the configured dashboard');
  assert.match(crossSiteRefusal({ origin: 'http://evil.example', fetchSite: undefined, ...base }, undefined)!, /^Requests from another origin may not use the dashboard session\.$/);
});

test('secrets: 256 random bits, stored as SHA-256, CSRF derived from the stored hash, compared in constant time', () => {
  const a = newSecret();
  assert.ok(wellFormedSecret(a));
  assert.notEqual(a, newSecret());
  assert.ok(!wellFormedSecret('short') && !wellFormedSecret(a + 'x') && !wellFormedSecret(a.slice(0, 42) + '.'));
  assert.equal(secretHash('abc'), hashToken('abc'), 'one hash for tokens and sessions, so a token session can find its token');
  assert.equal(csrfToken(secretHash(a)), csrfToken(secretHash(a)));
  assert.notEqual(csrfToken(secretHash(a)), csrfToken(secretHash(newSecret())));
  assert.ok(sameSecret('x', 'x'));
  assert.ok(!sameSecret('x', 'xx') && !sameSecret(undefined, 'x') && !sameSecret('', 'x'));
  assert.equal(sessionEnd({ seenAt: 1000, expiresAt: 5000 }, 1000), 2000);
  assert.equal(sessionEnd({ seenAt: 4500, expiresAt: 5000 }, 1000), 5000);
});

test('settings: SLIPWAY_DASHBOARD_URL (default http://HOST:HTTP_PORT) and SLIPWAY_SESSION_IDLE_MINUTES (default 30)', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_HOST: 'paas.example.com', SLIPWAY_HTTP_PORT: '8081' });
  assert.equal(c.dashboardUrl, undefined);
  assert.equal(dashboardUrl(c), 'http://paas.example.com:8081');
  assert.equal(c.sessionIdleMs, 30 * 60_000);
  const d = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com/', SLIPWAY_SESSION_IDLE_MINUTES: '5' });
  assert.equal(dashboardUrl(d), 'https://slipway.example.com');
  assert.equal(d.sessionIdleMs, 5 * 60_000);
  for (const bad of ['slipway.example.com', 'ftp://x.example', 'https://x.example/?a=1', 'https://x.example/#f']) {
    assert.throws(() => loadConfig({ SLIPWAY_DASHBOARD_URL: bad }), { message: `SLIPWAY_DASHBOARD_URL must be an http:// or https:// address like https://slipway.example.com, got "${bad}".` });
  }
  assert.throws(() => loadConfig({ SLIPWAY_SESSION_IDLE_MINUTES: '0' }), /SLIPWAY_SESSION_IDLE_MINUTES must be a positive number/);
});

test('the store: a code is taken once and not after its time; at most N codes and sessions per key, oldest out', () => {
  withStore((store) => {
    let t = 1_000_000;
    store.sessions.clock.now = () => t;
    store.keys.add({ name: 'k', fingerprint: 'SHA256:k', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    store.sessions.addCode('c1', 'k', 60_000, 3);
    assert.equal(store.sessions.takeCode('c1'), 'k');
    assert.equal(store.sessions.takeCode('c1'), undefined, 'used');
    store.sessions.addCode('c2', 'k', 60_000, 3);
    t += 60_000;
    assert.equal(store.sessions.takeCode('c2'), undefined, 'expired at 60 s');
    for (const c of ['a', 'b', 'c', 'd']) { store.sessions.addCode(c, 'k', 60_000, 3); t += 1; }
    assert.equal(store.sessions.codeCount('k'), 3);
    assert.equal(store.sessions.takeCode('a'), undefined, 'the oldest was dropped');
    assert.equal(store.sessions.takeCode('d'), 'k');

    const opts = { maxAgeMs: 10_000, idleMs: 3_000, max: 2 };
    for (const h of ['s1', 's2', 's3']) { store.sessions.add({ hash: h, keyName: 'k', tokenHash: null }, opts); t += 1; }
    assert.deepEqual(store.sessions.list('k').map((s) => s.hash), ['s3', 's2']);
    // Removing the key removes its codes and sessions.
    store.keys.remove('k');
    assert.equal(store.sessions.get('s3'), undefined);
    assert.equal(store.sessions.codeCount('k'), 0);
  });
});

test('a session acts with its key\'s rights as they are now, a token\'s session with the lower of both; ended ones are deleted', () => {
  withStore((store) => {
    let t = 5_000_000;
    store.sessions.clock.now = () => t;
    store.keys.add({ name: 'boss', fingerprint: 'SHA256:b', type: 'ssh-ed25519', publicKey: 'BBBB', admin: true });
    const secret = newSecret();
    store.sessions.add({ hash: secretHash(secret), keyName: 'boss', tokenHash: null }, { maxAgeMs: 100_000, idleMs: 50_000, max: 20 });
    const live = useSession(store, secret, 50_000);
    assert.deepEqual(live?.identity, { name: 'boss', admin: true, via: 'http', scope: 'admin', allApps: true, session: secretHash(secret) });
    assert.equal(live?.csrf, csrfToken(secretHash(secret)));
    store.keys.setAdmin('boss', false);
    assert.equal(useSession(store, secret, 50_000)?.identity.scope, 'deploy', 'a demoted admin loses admin rights at the next request');
    t += 50_000;
    assert.equal(useSession(store, secret, 50_000), undefined, 'idle');
    assert.equal(store.sessions.get(secretHash(secret)), undefined, 'deleted once found ended');

    store.tokens.add('ro', 'boss', 'slw_token', 10, 'read');
    const row = store.sessions.add({ hash: 'h', keyName: 'boss', tokenHash: hashToken('slw_token') }, { maxAgeMs: 100_000, idleMs: 50_000, max: 20 });
    assert.equal(sessionIdentity(store, store.sessions.get('h')!, 50_000)?.scope, 'read');
    store.tokens.remove('boss', 'ro');
    assert.equal(sessionIdentity(store, store.sessions.get('h')!, 50_000), undefined, 'its token was revoked');
    assert.equal(row.expiresAt, t + 100_000);
  });
});
