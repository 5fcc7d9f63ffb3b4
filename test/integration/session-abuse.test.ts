// What a tenant or a leaked token could do to other people's dashboard sessions (issue 35, item 9
// and two of item 11), replayed against a real server on loopback with real clients:
// - cookie tossing: an app on a sibling host (evil.apps.test, next to the dashboard at
//   slipway.apps.test) sets a session cookie for the parent domain; curl's own cookie engine
//   (with the Public Suffix List) stores it and sends it to the dashboard beside the victim's;
// - a login link someone else made: opening it (a GET, and in Chromium the page it loads) makes
//   no session; only the confirmation's POST does;
// - a leaked token opening 21 sessions: the owner's first session keeps working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../server/exec.ts';
import { secretHash } from '../../server/auth/session.ts';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { apiError, makeToken, sshJson } from '../support/api-client.ts';
import { checkAxe, launchBrowser, needBrowser, newPage, screenshot } from '../support/browser.ts';

const root = resolve(import.meta.dirname, '..', '..');
const DASHBOARD = 'slipway.apps.test';
const APP_HOST = 'evil.apps.test';
const TWO_COOKIES = "This request carries 2 Slipway session cookies, so none of them is used: a site under the same parent domain (an app's) may have set one; clear this site's cookies in the browser and log in again.";

interface Res { status: number; headers: Headers; text: string; json: unknown }

/** An API request with exactly these headers (a Cookie header as a browser would send it). */
async function call(s: TestServer, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; /* an empty 204 */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** The code of a fresh `dashboard:login` link for `key`, over the real ssh client. */
async function loginCode(s: TestServer, key: TestKey): Promise<string> {
  const { url } = await sshJson(s, key, 'dashboard:login') as { url: string };
  const m = /\/login#code=([A-Za-z0-9_-]+)$/.exec(url);
  assert.ok(m, url);
  return m[1]!;
}

/** The value of cookie `name` in a response's Set-Cookie headers. */
function setCookie(r: Res, name: string): string | undefined {
  for (const c of r.headers.getSetCookie()) if (c.startsWith(`${name}=`)) return c.slice(name.length + 1).split(';')[0];
  return undefined;
}

/** Logs in with `credential` (plain HTTP unless `https`: a trusted proxy's X-Forwarded-Proto); returns the cookie's value and the CSRF token. */
async function login(s: TestServer, credential: { code: string } | { token: string }, https = false): Promise<{ cookie: string; csrf: string }> {
  const r = await call(s, 'POST', '/session', { body: credential, headers: https ? { 'x-forwarded-proto': 'https' } : {} });
  assert.equal(r.status, 200, r.text);
  const cookie = setCookie(r, https ? '__Host-slipway_session' : 'slipway_session');
  assert.ok(cookie, r.headers.getSetCookie().join(' | '));
  return { cookie, csrf: (r.json as { csrf: string }).csrf };
}

describe('dashboard sessions against a tenant and a leaked token', { timeout: 180_000 }, () => {
  let s: TestServer;
  let victim: TestKey;
  let mallory: TestKey;
  let app: string;
  let tossing: Server;
  let tossed = '';
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-session-abuse-'));
    const b = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(dir, 'dist')], { cwd: root });
    assert.equal(b.exitCode, 0, b.stderr);
    s = await startTestServer({ SLIPWAY_WEB_DIR: join(dir, 'dist') });
    victim = await makeKey(s.dir, 'victim');
    mallory = await makeKey(s.dir, 'mallory');
    for (const k of [victim, mallory]) assert.equal((await s.ssh(s.admin, `keys:add ${k.name}`, k.pub)).exitCode, 0);
    app = await newApp(s, 'victims');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${victim.name}`)).exitCode, 0);
    // The tenant's app: whatever its code answers, here a cookie for the parent domain, with a
    // longer Path so that browsers (and curl) send it before the victim's own.
    tossing = createServer((_req, res) => {
      res.writeHead(200, { 'set-cookie': `slipway_session=${tossed}; Domain=apps.test; Path=/api; HttpOnly` });
      res.end('hello\n');
    });
    await new Promise<void>((done) => tossing.listen(0, '127.0.0.1', done));
  });
  after(async () => {
    tossing?.close();
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** curl as the victim's browser: one cookie jar, the dashboard and the app resolved to loopback. */
  const curl = async (jar: string, url: string, extra: string[] = []) => {
    const port = s.slipway.httpPort;
    const appPort = (tossing.address() as { port: number }).port;
    const r = await run('curl', ['-sS', '-b', jar, '-c', jar, '--resolve', `${DASHBOARD}:${port}:127.0.0.1`, '--resolve', `${APP_HOST}:${appPort}:127.0.0.1`,
      '-w', '\n%{http_code}', ...extra, url.replace('DASH', `http://${DASHBOARD}:${port}`).replace('APP', `http://${APP_HOST}:${appPort}`)]);
    assert.equal(r.exitCode, 0, r.stderr);
    const at = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
  };

  test("an app's cookie for the parent domain does not make the victim's requests act as the tenant: two session cookies are refused", async () => {
    // Mallory's own session, which her app tosses at every visitor.
    tossed = (await login(s, { code: await loginCode(s, mallory) })).cookie;
    const jar = join(dir, 'victim.jar');
    writeFileSync(jar, '');
    const signedIn = await curl(jar, 'DASH/api/v1/session', ['-H', 'content-type: application/json', '--data', JSON.stringify({ code: await loginCode(s, victim) })]);
    assert.equal(signedIn.status, 200, signedIn.body);
    const csrf = (JSON.parse(signedIn.body) as { csrf: string }).csrf;
    assert.deepEqual(JSON.parse((await curl(jar, 'DASH/api/v1/whoami')).body), { name: 'victim', admin: false, scope: 'deploy' });
    // The victim visits the tenant's app; curl keeps its cookie for apps.test and sends it to the dashboard.
    assert.equal((await curl(jar, 'APP/')).status, 200);
    const who = await curl(jar, 'DASH/api/v1/whoami');
    assert.equal(who.status, 400, `the request acted as ${who.body}`);
    assert.deepEqual(JSON.parse(who.body), { error: { code: 'bad_request', message: TWO_COOKIES } });
    // A change the victim's page makes (with the victim's CSRF token) is refused too, and nothing is written.
    const change = await curl(jar, `DASH/api/v1/apps/${app}/config`, ['-X', 'PATCH', '-H', 'content-type: application/json', '-H', `x-csrf-token: ${csrf}`, '--data', '{"set":{"SECRET":"victim-secret"}}']);
    assert.equal(change.status, 400, change.body);
    assert.deepEqual(await sshJson(s, s.admin, `config ${app}`), {});
  });

  test('the same with a cookie that clears the session, or one sent last; an empty one counts', async () => {
    const own = await login(s, { code: await loginCode(s, victim) });
    for (const cookie of [`slipway_session=; slipway_session=${own.cookie}`, `slipway_session=${own.cookie}; slipway_session=${tossed}`]) {
      const r = await call(s, 'GET', '/whoami', { headers: { cookie } });
      assert.equal(r.status, 400, cookie);
      assert.equal(apiError(r).message, TWO_COOKIES);
    }
    assert.equal((await call(s, 'GET', '/whoami', { headers: { cookie: `slipway_session=${own.cookie}` } })).status, 200, 'the session itself was not ended');
  });

  test('over HTTPS the cookie is __Host-slipway_session (Secure, Path=/, no Domain); a tossed slipway_session is no session, and beside ours is refused', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const r = await call(s, 'POST', '/session', { body: { code: await loginCode(s, victim) }, headers: https });
    assert.equal(r.status, 200, r.text);
    const [own, old] = r.headers.getSetCookie();
    assert.match(own!, /^__Host-slipway_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    assert.equal(old, 'slipway_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure', 'a plain cookie this host set over HTTP before is cleared');
    const mine = setCookie(r, '__Host-slipway_session')!;
    assert.deepEqual((await call(s, 'GET', '/whoami', { headers: { ...https, cookie: `__Host-slipway_session=${mine}` } })).json, { name: 'victim', admin: false, scope: 'deploy' });
    // The victim with no session yet: the tenant's cookie alone logs nobody in.
    const alone = await call(s, 'GET', '/whoami', { headers: { ...https, cookie: `slipway_session=${tossed}` } });
    assert.equal(alone.status, 401, `acted as ${alone.text}`);
    const both = await call(s, 'GET', '/whoami', { headers: { ...https, cookie: `slipway_session=${tossed}; __Host-slipway_session=${mine}` } });
    assert.equal(both.status, 400);
    assert.equal(apiError(both).message, TWO_COOKIES);
    // Logging out clears the __Host- cookie.
    const out = await call(s, 'DELETE', '/session', { headers: { ...https, cookie: `__Host-slipway_session=${mine}`, 'x-csrf-token': (r.json as { csrf: string }).csrf } });
    assert.equal(out.status, 204, out.text);
    assert.match(out.headers.getSetCookie()[0]!, /^__Host-slipway_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/);
  });

  test('opening a login link makes no session: the page, and the look at whom it logs in as, leave the code unused', async () => {
    const code = await loginCode(s, mallory);
    const store = s.slipway.services.store;
    const sessionsBefore = store.sessions.list('mallory').length;
    // The link's GET: the fragment never reaches the server; the page is all it gets.
    const page = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/login#code=${code}`);
    assert.equal(page.status, 200);
    assert.deepEqual(page.headers.getSetCookie(), []);
    // What the page asks before showing "Log in as mallory?".
    const look = await call(s, 'POST', '/session/code', { body: { code }, headers: { origin: `http://127.0.0.1:${s.slipway.httpPort}`, 'sec-fetch-site': 'same-origin' } });
    assert.equal(look.status, 200, look.text);
    const key = store.keys.byName('mallory')!;
    assert.deepEqual(look.json, { key: 'mallory', admin: false, keyType: key.type, fingerprint: key.fingerprint, expiresAt: (look.json as { expiresAt: string }).expiresAt });
    assert.deepEqual(look.headers.getSetCookie(), []);
    assert.equal(store.sessions.list('mallory').length, sessionsBefore, 'no session was made');
    assert.equal(store.sessions.peekCode(secretHash(code))?.keyName, 'mallory', 'the code is still there');
    // Another site's page cannot even ask; a wrong code is a failed login.
    assert.equal((await call(s, 'POST', '/session/code', { body: { code }, headers: { origin: 'https://evil.example' } })).status, 403);
    const wrong = await call(s, 'POST', '/session/code', { body: { code: 'w'.repeat(43) } });
    assert.equal(wrong.status, 401);
    assert.match(apiError(wrong).message, /^That login link is not valid/);
    // The confirmation's POST makes the session, once.
    const me = await login(s, { code });
    assert.deepEqual((await call(s, 'GET', '/whoami', { headers: { cookie: `slipway_session=${me.cookie}` } })).json, { name: 'mallory', admin: false, scope: 'deploy' });
    assert.equal((await call(s, 'POST', '/session/code', { body: { code } })).status, 401, 'used');
  });

  test('in Chromium, opening a login link asks "Log in as KEY?" and makes no session until the button is pressed', async (t) => {
    const chromium = needBrowser(t);
    if (!chromium) return;
    const browser = await launchBrowser(chromium);
    t.after(() => browser.close());
    const { context, page, errors } = await newPage(browser);
    const code = await loginCode(s, mallory);
    const store = s.slipway.services.store;
    const before = store.sessions.list('mallory').length;
    const base = `http://127.0.0.1:${s.slipway.httpPort}`;
    await page.goto(`${base}/login?next=${encodeURIComponent(`/apps/${app}`)}#code=${code}`);
    await page.getByRole('heading', { level: 1, name: 'Log in as mallory?' }).waitFor({ timeout: 10_000 });
    const key = store.keys.byName('mallory')!;
    await page.getByText(key.fingerprint).waitFor();
    assert.ok(!page.url().includes('code='), 'the code is gone from the address bar');
    await checkAxe(page, 'login-confirm');
    await screenshot(page, 'session-abuse-login-confirm');
    // Give an eager page every chance to have posted the code.
    await page.waitForTimeout(500);
    assert.deepEqual((await context.cookies()).map((c) => c.name), [], 'no cookie');
    assert.equal(store.sessions.list('mallory').length, before, 'no session');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log in to Slipway' }).waitFor();
    assert.equal(store.sessions.list('mallory').length, before, 'cancelled: still none');

    // With a new link, the button logs in and goes on to the page asked for.
    await page.goto(`${base}/login?next=${encodeURIComponent('/apps')}#code=${await loginCode(s, mallory)}`);
    await page.getByRole('button', { name: 'Log in as mallory' }).click();
    await page.waitForURL(`${base}/apps`, { timeout: 10_000 });
    assert.equal(store.sessions.list('mallory').length, before + 1);
    assert.deepEqual((await context.cookies()).map((c) => c.name), ['slipway_session']);
    assert.deepEqual(errors.filter((e) => e.startsWith('page error')), []);
  });

  test("21 sessions opened with a leaked token leave its owner's sessions working; only the token's own oldest ends", async () => {
    const owner = await login(s, { code: await loginCode(s, victim) });
    const ownToken = await makeToken(s, victim, 'laptop');
    const ownTokenSession = await login(s, { token: ownToken });
    const leaked = await makeToken(s, victim, 'ci', 'read');
    const flood: string[] = [];
    for (let i = 0; i < 21; i++) flood.push((await login(s, { token: leaked })).cookie);
    const whoami = (cookie: string) => call(s, 'GET', '/whoami', { headers: { cookie: `slipway_session=${cookie}` } });
    assert.equal((await whoami(owner.cookie)).status, 200, "the owner's first session (a login link's) still works");
    assert.equal((await whoami(ownTokenSession.cookie)).status, 200, "the owner's session from another token still works");
    assert.equal((await whoami(flood[0]!)).status, 401, "the leaked token's oldest session was ended by its 21st");
    for (const c of flood.slice(1)) assert.equal((await whoami(c)).status, 200);
    // The owner's login links keep their own cap of 20: the 21st ends the oldest of those.
    const links: string[] = [];
    for (let i = 0; i < 20; i++) links.push((await login(s, { code: await loginCode(s, victim) })).cookie);
    assert.equal((await whoami(owner.cookie)).status, 401);
    assert.equal((await whoami(links[0]!)).status, 200);
    assert.equal((await whoami(flood[1]!)).status, 200, 'and that ends no token session');
    // Revoking the leaked token ends every session it opened.
    assert.equal((await s.ssh(victim, 'tokens:revoke ci')).exitCode, 0);
    for (const c of flood.slice(1)) assert.equal((await whoami(c)).status, 401);
    assert.equal((await whoami(ownTokenSession.cookie)).status, 200);
  });
});
