// Dashboard sessions, the parts without a server: the cookie, whether a request came over HTTPS,
// the cross-site rule, the secrets, the settings, and the store's expiry and caps on a real SQLite
// file with its clock moved by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cameOverHttps, clearedSessionCookies, cookieValues, crossSiteRefusal, sessionCookies, sessionSecret, trustedProxies } from '../../server/auth/session-cookie.ts';
import { csrfToken, newSecret, sameSecret, secretHash, sessionEnd, sessionIdentity, useSession, wellFormedSecret } from '../../server/auth/session.ts';
import { loadConfig } from '../../server/config.ts';
import { dashboardUrl } from '../../server/urls.ts';
import { hashToken } from '../../server/store/tokens.ts';
import { withStore } from '../support/store.ts';

test('a cookie is found among others, quoted or not, and only under its own name', () => {
  const name = 'slipway_session';
  assert.deepEqual(cookieValues('a=1; slipway_session=abc; b=2', name), ['abc']);
  assert.deepEqual(cookieValues('slipway_session="abc"', name), ['abc']);
  assert.deepEqual(cookieValues('xslipway_session=abc; slipway_sessionx=def', name), []);
  assert.deepEqual(cookieValues(undefined, name), []);
  assert.deepEqual(cookieValues('slipway_session', name), []);
  assert.deepEqual(cookieValues('slipway_session=a; x=1; slipway_session="b"', name), ['a', 'b']);
  assert.deepEqual(cookieValues('__Host-slipway_session=a; slipway_session=b', '__Host-slipway_session'), ['a']);
});

test('the session secret: over HTTPS only __Host-slipway_session counts, over plain HTTP only slipway_session', () => {
  const a = 'A'.repeat(43);
  assert.deepEqual(sessionSecret(`__Host-slipway_session=${a}`, true), { secret: a });
  assert.deepEqual(sessionSecret(`theme=dark; slipway_session=${a}`, false), { secret: a });
  // A lone plain cookie over HTTPS is what a sibling host can toss in (Domain=PARENT): no session.
  assert.equal(sessionSecret(`slipway_session=${a}`, true), undefined);
  // A browser never sends a Secure cookie over plain HTTP; a client that does gets no session either.
  assert.equal(sessionSecret(`__Host-slipway_session=${a}`, false), undefined);
  assert.equal(sessionSecret(undefined, true), undefined);
  assert.equal(sessionSecret('other=1; __host-slipway_session=x; Slipway_Session=y', false), undefined, 'names are exact');
});

test('two or more session cookies, of either name, are refused with one sentence and neither is used', () => {
  const sentence = (n: number) => `This request carries ${n} Slipway session cookies, so none of them is used: a site under the same parent domain (an app's) may have set one; clear this site's cookies in the browser and log in again.`;
  for (const https of [true, false]) {
    // The attacker's cookie sent first (a longer Path sorts first) or last: refused either way.
    assert.deepEqual(sessionSecret('slipway_session=attacker; slipway_session=victim', https), { refused: sentence(2) });
    assert.deepEqual(sessionSecret('slipway_session=attacker; __Host-slipway_session=victim', https), { refused: sentence(2) });
    assert.deepEqual(sessionSecret('__Host-slipway_session=victim; slipway_session=attacker', https), { refused: sentence(2) });
    assert.deepEqual(sessionSecret('slipway_session=; slipway_session=victim', https), { refused: sentence(2) }, 'an empty one counts: it would clear the session');
    assert.deepEqual(sessionSecret('slipway_session=a; __Host-slipway_session=b; slipway_session=c', https), { refused: sentence(3) });
  }
});

test('the cookie is HttpOnly, SameSite=Strict, for the whole server; over HTTPS __Host- and Secure (and an old plain one cleared); clearing sets Max-Age=0', () => {
  assert.deepEqual(sessionCookies('s3cret', { secure: false, maxAgeS: 43_200.7 }), ['slipway_session=s3cret; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200']);
  assert.deepEqual(sessionCookies('s3cret', { secure: true, maxAgeS: 10 }), [
    '__Host-slipway_session=s3cret; Path=/; HttpOnly; SameSite=Strict; Max-Age=10; Secure',
    'slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
  ]);
  // What a browser requires of a __Host- cookie: Secure, Path=/, no Domain.
  const [own] = sessionCookies('x', { secure: true, maxAgeS: 10 });
  assert.ok(own!.includes('; Secure') && own!.includes('; Path=/;') && !/domain=/i.test(own!));
  assert.deepEqual(clearedSessionCookies(true), [
    '__Host-slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    'slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
  ]);
  assert.deepEqual(clearedSessionCookies(false), ['slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
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

test('a login code can be looked at without using it up, until it expires', () => {
  withStore((store) => {
    let t = 2_000_000;
    store.sessions.clock.now = () => t;
    store.keys.add({ name: 'k', fingerprint: 'SHA256:k', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    store.sessions.addCode('c', 'k', 60_000, 3);
    assert.deepEqual(store.sessions.peekCode('c'), { keyName: 'k', expiresAt: t + 60_000 });
    assert.deepEqual(store.sessions.peekCode('c'), { keyName: 'k', expiresAt: t + 60_000 }, 'looking twice');
    assert.equal(store.sessions.peekCode('nope'), undefined);
    assert.equal(store.sessions.takeCode('c'), 'k', 'still usable once after being looked at');
    assert.equal(store.sessions.peekCode('c'), undefined, 'used');
    store.sessions.addCode('d', 'k', 60_000, 3);
    t += 60_000;
    assert.equal(store.sessions.peekCode('d'), undefined, 'expired');
  });
});

test('sessions are capped per login origin: a token\'s flood ends only its own oldest, never the login links\' or another token\'s', () => {
  withStore((store) => {
    let t = 3_000_000;
    store.sessions.clock.now = () => t;
    store.keys.add({ name: 'k', fingerprint: 'SHA256:k', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    const opts = { maxAgeMs: 100_000, idleMs: 50_000, max: 3 };
    const add = (hash: string, tokenHash: string | null) => { store.sessions.add({ hash, keyName: 'k', tokenHash }, opts); t += 1; };
    add('owner-1', null);
    add('owner-2', null);
    add('other-token', 'th-other');
    for (let i = 0; i < 21; i++) add(`leaked-${i}`, 'th-leaked');
    const left = store.sessions.list('k').map((s) => s.hash);
    assert.deepEqual(left, ['leaked-20', 'leaked-19', 'leaked-18', 'other-token', 'owner-2', 'owner-1']);
    // The login links' own cap still ends their oldest.
    add('owner-3', null);
    add('owner-4', null);
    assert.deepEqual(store.sessions.list('k').filter((s) => s.tokenHash === null).map((s) => s.hash), ['owner-4', 'owner-3', 'owner-2']);
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
