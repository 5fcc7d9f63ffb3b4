// Dashboard login and sessions against a real server: `dashboard:login` over the real OpenSSH
// client prints a one-time link, the browser's requests are made with fetch exactly as a page
// would send them (the cookie, Origin, Sec-Fetch-Site, X-CSRF-Token), and what the user sees is
// asserted: statuses, the one-sentence errors, the cookie's attributes, what was (not) written.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { apiError, makeToken, sshJson } from '../support/api-client.ts';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

const cli = join(import.meta.dirname, '..', '..', 'bin', 'slipway.ts');

interface Res { status: number; headers: Headers; text: string; json: unknown }

/** A request as the dashboard's page sends it: the session cookie, and any other headers given. */
async function browser(s: TestServer, method: string, path: string, opts: { cookie?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.cookie ? { cookie: `slipway_session=${opts.cookie}` } : {}), ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; /* not JSON: an empty 204 */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** The code of a link dashboard:login printed (`URL/login#code=CODE`). */
function codeOf(url: string): string {
  const m = /\/login#code=([A-Za-z0-9_-]+)$/.exec(url);
  assert.ok(m, `not a login link: ${url}`);
  return m[1]!;
}

/** Runs dashboard:login --json over SSH and returns the code. */
async function loginCode(s: TestServer, key: TestKey, extra = ''): Promise<string> {
  const link = await sshJson(s, key, `dashboard:login${extra}`) as { url: string; expiresAt: string };
  return codeOf(link.url);
}

/** The session cookie's value in a Set-Cookie header. */
function cookieOf(r: Res): string {
  const m = /^slipway_session=([^;]*)/.exec(r.headers.get('set-cookie') ?? '');
  assert.ok(m, `no session cookie set (${r.status}): ${r.text}`);
  return m[1]!;
}

interface Session { cookie: string; csrf: string; body: Record<string, unknown> }

/** Logs in with `credential` as a browser would; asserts 200 and returns the cookie and CSRF token. */
async function login(s: TestServer, credential: { code: string } | { token: string }): Promise<Session> {
  const r = await browser(s, 'POST', '/session', { body: credential });
  assert.equal(r.status, 200, r.text);
  const body = r.json as Record<string, unknown>;
  return { cookie: cookieOf(r), csrf: body.csrf as string, body };
}

describe('dashboard login and sessions', { timeout: 180_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'dash');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
  });
  after(() => s.close());

  /** Moves the sessions' clock by `ms` for the rest of the test. */
  function advance(t: TestContext, ms: number): void {
    const clock = s.slipway.services.store.sessions.clock;
    const saved = clock.now;
    t.after(() => { clock.now = saved; });
    clock.now = () => saved() + ms;
  }

  test('dashboard:login prints a one-time link to the dashboard; --json gives the link and its expiry', async () => {
    const r = await s.ssh(dev, 'dashboard:login');
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'Open this link within 60 s to log in as dev (it works once):');
    assert.match(lines[1]!, new RegExp(`^http://127\\.0\\.0\\.1:${s.slipway.httpPort}/login#code=[A-Za-z0-9_-]{43}$`));
    const before = Date.now();
    const j = await sshJson(s, dev, 'dashboard:login') as { url: string; expiresAt: string };
    assert.deepEqual(Object.keys(j).sort(), ['expiresAt', 'url']);
    const ttl = Date.parse(j.expiresAt) - before;
    assert.ok(ttl > 55_000 && ttl <= 61_000, `expires in ${ttl} ms`);
    // The database has only the code's hash.
    const stored = s.slipway.services.store.db.prepare('SELECT hash FROM login_codes').all() as { hash: string }[];
    assert.ok(stored.length >= 2 && stored.every((row) => /^[0-9a-f]{64}$/.test(row.hash) && !j.url.includes(row.hash)));
  });

  test('a code logs in once: the cookie is HttpOnly, SameSite=Strict, Path=/; a second use is 401', async () => {
    const code = await loginCode(s, dev);
    const r = await browser(s, 'POST', '/session', { body: { code } });
    assert.equal(r.status, 200, r.text);
    const body = r.json as { key: string; admin: boolean; scope: string; csrf: string; expiresAt: string };
    assert.equal(body.key, 'dev');
    assert.equal(body.admin, false);
    assert.equal(body.scope, 'deploy');
    assert.match(body.csrf, /^[A-Za-z0-9_-]{43}$/);
    const idle = Date.parse(body.expiresAt) - Date.now();
    assert.ok(idle > 29 * 60_000 && idle <= 30 * 60_000, `idle expiry in ${idle} ms`);
    const setCookie = r.headers.get('set-cookie') ?? '';
    const parts = setCookie.split(';').map((p) => p.trim());
    assert.match(parts[0]!, /^slipway_session=[A-Za-z0-9_-]{43}$/);
    for (const attr of ['Path=/', 'HttpOnly', 'SameSite=Strict']) assert.ok(parts.includes(attr), `${attr} in ${setCookie}`);
    assert.ok(!parts.includes('Secure'), 'not Secure over plain HTTP');
    const maxAge = Number(parts.find((p) => p.startsWith('Max-Age='))?.slice(8));
    assert.ok(maxAge > 12 * 3600 - 60 && maxAge <= 12 * 3600, `Max-Age=${maxAge}`);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    // Neither the cookie nor the code is in the database.
    const cookie = cookieOf(r);
    const rows = JSON.stringify(s.slipway.services.store.db.prepare('SELECT * FROM sessions').all());
    assert.ok(!rows.includes(cookie) && !rows.includes(code));

    const again = await browser(s, 'POST', '/session', { body: { code } });
    assert.equal(again.status, 401);
    assert.equal(again.headers.get('set-cookie'), null);
    assert.deepEqual(apiError(again), { code: 'unauthorized', message: 'That login link is not valid: it was used already, it expired (links last 60 s), or it was never issued; run dashboard:login again.' });
    assert.equal((await browser(s, 'POST', '/session', { body: { code: 'x'.repeat(43) } })).status, 401);
  });

  test('a code older than 60 s is refused', async (t) => {
    const code = await loginCode(s, dev);
    advance(t, 60_001);
    const r = await browser(s, 'POST', '/session', { body: { code } });
    assert.equal(r.status, 401);
    assert.match(apiError(r).message, /expired \(links last 60 s\)/);
  });

  test('the cookie works on every route in place of a token, and GET /session gives the session back', async () => {
    const me = await login(s, { code: await loginCode(s, dev) });
    const apps = await browser(s, 'GET', '/apps', { cookie: me.cookie });
    assert.equal(apps.status, 200, apps.text);
    assert.deepEqual((apps.json as { name: string }[]).map((a) => a.name), [app]);
    assert.deepEqual((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).json, { name: 'dev', admin: false, scope: 'deploy' });
    const got = await browser(s, 'GET', '/session', { cookie: me.cookie });
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, { ...me.body, expiresAt: (got.json as { expiresAt: string }).expiresAt });
    // Rights are the key's: an app it was not granted is not found.
    const other = await newApp(s, 'dash-other');
    const hidden = await browser(s, 'GET', `/apps/${other}`, { cookie: me.cookie });
    assert.equal(hidden.status, 404);
    // A token request has no session to show.
    const token = await makeToken(s, dev, 'no-session');
    const r = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401);
  });

  test('a change with the cookie needs the CSRF token: without it 403 and nothing written, with it done', async () => {
    const me = await login(s, { code: await loginCode(s, dev) });
    const missing = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, body: { set: { COLOR: 'red' } } });
    assert.equal(missing.status, 403);
    assert.deepEqual(apiError(missing), { code: 'forbidden', message: "A change made with the dashboard session needs the session's X-CSRF-Token header." });
    const wrong = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf.slice(0, -1) + (me.csrf.endsWith('A') ? 'B' : 'A') }, body: { set: { COLOR: 'red' } } });
    assert.equal(wrong.status, 403);
    assert.deepEqual(await sshJson(s, s.admin, `config ${app}`), {});
    const ok = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf }, body: { set: { COLOR: 'red' } } });
    assert.ok(ok.status === 200 || ok.status === 202, `${ok.status}: ${ok.text}`);
    assert.deepEqual(await sshJson(s, s.admin, `config ${app}`), { COLOR: 'red' });
  });

  test('requests from another site are refused with the cookie, whatever they carry; our own origin passes', async () => {
    const me = await login(s, { code: await loginCode(s, dev) });
    const own = `http://127.0.0.1:${s.slipway.httpPort}`;
    const csrf = { 'x-csrf-token': me.csrf };
    for (const headers of [
      { origin: 'https://evil.example', ...csrf },
      { origin: 'null', ...csrf },
      { origin: own, 'sec-fetch-site': 'cross-site', ...csrf },
      { 'sec-fetch-site': 'same-site', ...csrf },
    ]) {
      const r = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, headers, body: { set: { EVIL: '1' } } });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(apiError(r).message, /^Requests from another (site|origin) may not use the dashboard session/);
      assert.equal((await browser(s, 'GET', '/apps', { cookie: me.cookie, headers })).status, 403);
    }
    assert.equal((await sshJson(s, s.admin, `config ${app}`) as Record<string, string>).EVIL, undefined);
    const r = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, headers: { origin: own, 'sec-fetch-site': 'same-origin', ...csrf }, body: { set: { FROM: 'page' } } });
    assert.ok(r.status === 200 || r.status === 202, r.text);
    // A login posted from another site's page is refused too (it would log the browser in as someone else).
    const forced = await browser(s, 'POST', '/session', { headers: { origin: 'https://evil.example' }, body: { code: await loginCode(s, dev) } });
    assert.equal(forced.status, 403);
  });

  test('behind a proxy on a trusted address that says https, the cookie is __Host-slipway_session and Secure', async () => {
    const r = await browser(s, 'POST', '/session', { headers: { 'x-forwarded-proto': 'https' }, body: { code: await loginCode(s, dev) } });
    assert.equal(r.status, 200);
    assert.match(r.headers.getSetCookie()[0] ?? '', /^__Host-slipway_session=[A-Za-z0-9_-]{43}; Path=\/; .*; Secure$/);
    // From anyone else the header is not believed: the plain cookie, not Secure.
    const plain = await browser(s, 'POST', '/session', { body: { code: await loginCode(s, dev) } });
    assert.match(plain.headers.getSetCookie()[0] ?? '', /^slipway_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  });

  test('an admin may log in as another key; a non-admin may not; the local CLI must name one', async () => {
    const as = await login(s, { code: await loginCode(s, s.admin, ' --key dev') });
    assert.equal(as.body.key, 'dev');
    const r = await s.ssh(dev, 'dashboard:login --key admin');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /Only admins may make a login link for another key\./);
    const none = await s.ssh(s.admin, 'dashboard:login --key nobody');
    assert.equal(none.exitCode, 1);
    assert.match(none.stderr, /No key named "?nobody"?\./);
    // The local CLI, on the server's own data dir, has no key of its own.
    const env = { SLIPWAY_DATA_DIR: join(s.dir, 'data'), SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com/' };
    const local = await run(process.execPath, [cli, 'dashboard:login'], { env });
    assert.equal(local.exitCode, 1);
    assert.match(local.stderr, /From the local CLI, name the key to log in as: dashboard:login --key KEYNAME/);
    const named = await run(process.execPath, [cli, 'dashboard:login', '--key', 'dev'], { env });
    assert.equal(named.exitCode, 0, named.stderr);
    const url = named.stdout.trim().split('\n').at(-1)!;
    assert.match(url, /^https:\/\/slipway\.example\.com\/login#code=/);
    assert.equal((await login(s, { code: codeOf(url) })).body.key, 'dev');
  });

  test('a removed key\'s session is refused at its next request (and the cookie cleared)', async () => {
    const gone = await makeKey(s.dir, 'gone');
    assert.equal((await s.ssh(s.admin, `keys:add ${gone.name}`, gone.pub)).exitCode, 0);
    const me = await login(s, { code: await loginCode(s, gone) });
    assert.equal((await browser(s, 'GET', '/apps', { cookie: me.cookie })).status, 200);
    assert.equal((await s.ssh(s.admin, `keys:remove ${gone.name}`)).exitCode, 0);
    const r = await browser(s, 'GET', '/apps', { cookie: me.cookie });
    assert.equal(r.status, 401);
    assert.match(apiError(r).message, /^Your dashboard session has ended/);
    assert.match(r.headers.get('set-cookie') ?? '', /^slipway_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
  });

  test('a session ends when idle past SLIPWAY_SESSION_IDLE_MINUTES, and requests move that on', async (t) => {
    const me = await login(s, { code: await loginCode(s, dev) });
    advance(t, 20 * 60_000);
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).status, 200);
    // 40 minutes after the login but 20 after the last request: still on.
    advance(t, 20 * 60_000);
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).status, 200);
    advance(t, 31 * 60_000);
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).status, 401);
  });

  test('a session lasts 12 hours at most, however active', async (t) => {
    const me = await login(s, { code: await loginCode(s, dev) });
    // A request every 25 minutes for 11 h 40 min keeps it on; 21 minutes later it is past 12 h.
    for (let i = 1; i <= 28; i++) {
      advance(t, 25 * 60_000);
      assert.equal((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).status, 200, `after ${i * 25} min`);
    }
    advance(t, 21 * 60_000);
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: me.cookie })).status, 401);
  });

  test('logout: 204, the cookie cleared, the session refused after, and its open log stream ended', async (t) => {
    useControls(t, s, { followLogs: true });
    const me = await login(s, { code: await loginCode(s, dev) });
    const stream = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${app}/logs?follow=1`, { headers: { cookie: `slipway_session=${me.cookie}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /event: line/);

    const out = await browser(s, 'DELETE', '/session', { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf } });
    assert.equal(out.status, 204, out.text);
    assert.equal(out.text, '');
    assert.match(out.headers.get('set-cookie') ?? '', /^slipway_session=; .*Max-Age=0/);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.match(text, /event: error\ndata: .*Your dashboard session has ended; log in again\./);
    assert.equal((await browser(s, 'GET', '/apps', { cookie: me.cookie })).status, 401);
    assert.equal((await browser(s, 'DELETE', '/session', { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf } })).status, 401);
  });

  test("logout ends the session's job transcript stream; the deploy it started goes on", async (t) => {
    const { app: deployed } = await deployedApp(s, 'dash-job');
    assert.equal((await s.ssh(s.admin, `access:grant ${deployed} ${dev.name}`)).exitCode, 0);
    let open!: () => void;
    let reached!: () => void;
    const atRollout = new Promise<void>((resolve) => { reached = resolve; });
    useControls(t, s, { deployGate: new Promise<void>((resolve) => { open = resolve; }), onDeployStart: () => reached() });
    t.after(() => open());
    const me = await login(s, { code: await loginCode(s, dev) });
    const change = await browser(s, 'PATCH', `/apps/${deployed}/config`, { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf }, body: { set: { FROM: 'dashboard' } } });
    assert.equal(change.status, 202, change.text);
    const { job } = change.json as { job: { id: string } };
    await atRollout;
    const stream = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/jobs/${job.id}/events`, { headers: { cookie: `slipway_session=${me.cookie}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(stream.status, 200);
    assert.equal((await browser(s, 'DELETE', '/session', { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf } })).status, 204);
    const text = await stream.text();
    assert.match(text, /event: error\ndata: .*Your dashboard session has ended; log in again\./);
    assert.equal((await sshJson(s, s.admin, `jobs:info ${job.id}`) as { status: string }).status, 'running');
    open();
    for (let i = 0; i < 100; i++) {
      const status = (await sshJson(s, s.admin, `jobs:info ${job.id}`) as { status: string }).status;
      if (status !== 'running') { assert.equal(status, 'succeeded'); return; }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('the job did not end');
  });

  test('a removed key\'s open event stream ends at once', async (t) => {
    useControls(t, s, { followLogs: true });
    const leaver = await makeKey(s.dir, 'leaver');
    assert.equal((await s.ssh(s.admin, `keys:add ${leaver.name}`, leaver.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${leaver.name}`)).exitCode, 0);
    const me = await login(s, { code: await loginCode(s, leaver) });
    const stream = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${app}/logs?follow=1`, { headers: { cookie: `slipway_session=${me.cookie}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    await reader.read();
    assert.equal((await s.ssh(s.admin, `keys:remove ${leaver.name}`)).exitCode, 0);
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.match(text, /event: error\n/);
  });

  test('a token logs in too: the session has its scope, and ends when the token is revoked', async () => {
    const token = await makeToken(s, dev, 'browser-read', 'read');
    const me = await login(s, { token });
    assert.deepEqual({ key: me.body.key, admin: me.body.admin, scope: me.body.scope }, { key: 'dev', admin: false, scope: 'read' });
    const change = await browser(s, 'PATCH', `/apps/${app}/config`, { cookie: me.cookie, headers: { 'x-csrf-token': me.csrf }, body: { set: { X: '1' } } });
    assert.equal(change.status, 403);
    assert.match(apiError(change).message, /read scope/);
    assert.equal((await browser(s, 'GET', '/apps', { cookie: me.cookie })).status, 200);
    assert.equal((await s.ssh(dev, 'tokens:revoke browser-read')).exitCode, 0);
    assert.equal((await browser(s, 'GET', '/apps', { cookie: me.cookie })).status, 401);
    const bad = await browser(s, 'POST', '/session', { body: { token: 'slw_nope' } });
    assert.equal(bad.status, 401);
    assert.equal(apiError(bad).message, 'That token is not valid (revoked, or its key was removed).');
    const both = await browser(s, 'POST', '/session', { body: { token, code: 'x' } });
    assert.equal(both.status, 422);
  });

  test('at most 10 live codes per key and 20 sessions per login origin (the key\'s links, or one token): the oldest go first', async () => {
    const capped = await makeKey(s.dir, 'capped');
    assert.equal((await s.ssh(s.admin, `keys:add ${capped.name}`, capped.pub)).exitCode, 0);
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) codes.push(await loginCode(s, capped));
    assert.equal(s.slipway.services.store.sessions.codeCount('capped'), 10);
    assert.equal((await browser(s, 'POST', '/session', { body: { code: codes[0] } })).status, 401, 'the oldest code was dropped');
    const first = await login(s, { code: codes[1]! });
    const token = await makeToken(s, capped, 'many');
    const later: Session[] = [];
    for (let i = 0; i < 21; i++) later.push(await login(s, { token }));
    assert.equal(s.slipway.services.store.sessions.list('capped').length, 21, "the token's 20 and the link's 1");
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: later[0]!.cookie })).status, 401, "the token's oldest session was ended");
    assert.equal((await browser(s, 'GET', '/whoami', { cookie: first.cookie })).status, 200, "the link's session was not");
    for (const l of later.slice(1)) assert.equal((await browser(s, 'GET', '/whoami', { cookie: l.cookie })).status, 200);
  });

  // Last: it leaves this address throttled for a minute.
  test('wrong codes count as failed authentications: past the free ones, 429 with Retry-After', async () => {
    let r: Res | undefined;
    for (let i = 0; i < 30 && r?.status !== 429; i++) r = await browser(s, 'POST', '/session', { body: { code: 'w'.repeat(43) } });
    assert.equal(r?.status, 429);
    assert.equal(apiError(r!).code, 'too_many');
    assert.match(r!.headers.get('retry-after') ?? '', /^[1-5]$/);
  });
});
