// Dashboard sign-in with OpenID Connect (issue 41), end to end on loopback: a real provider
// (oidc-provider, panva's, certified like the client library, started in this process with one
// confidential client and its development login and consent pages), the real server with the fake
// deployer, and Chromium clicking through the login page, the provider's pages and back. The
// account signs in as the key an admin bound it to with keys:oidc; an account bound to none is
// refused with one sentence; unbinding ends the session it made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import { run } from '../../server/exec.ts';
import { freePort, makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { sshJson } from '../support/api-client.ts';
import { checkAxe, launchBrowser, needBrowser, newPage, screenshot } from '../support/browser.ts';

const root = resolve(import.meta.dirname, '..', '..');
const CLIENT_ID = 'slipway-dashboard';
const CLIENT_SECRET = 'a-client-secret-only-this-test-knows';

/** The accounts the provider knows: any login name is an account, its email NAME@example.com, verified unless it starts with "unverified". */
function account(id: string) {
  return { accountId: id, claims: () => ({ sub: id, email: `${id}@example.com`, email_verified: !id.startsWith('unverified') }) };
}

/** Signs in at the provider's development pages as `login` (any password), consenting if asked. */
async function atProvider(page: Page, issuer: string, login: string): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // The consent page, the first time this account meets the client; else straight back to Slipway.
  const consent = page.getByRole('button', { name: 'Continue' });
  const left = page.waitForURL((u) => !u.href.startsWith(issuer));
  await Promise.race([consent.waitFor(), left]);
  if (page.url().startsWith(issuer)) await consent.click();
  await left;
}

describe('dashboard sign-in with OpenID Connect, in Chromium', { timeout: 180_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;
  let provider: Server;
  let issuer: string;
  let dashboard: string;
  let browser: Browser | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-oidc-'));
    const b = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(dir, 'dist')], { cwd: root });
    assert.equal(b.exitCode, 0, b.stderr);
    const [providerPort, httpPort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${providerPort}`;
    dashboard = `http://127.0.0.1:${httpPort}`;
    const oidc = new Provider(issuer, {
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${dashboard}/login/oidc/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
      findAccount: (_ctx, id) => account(id),
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      pkce: { required: () => true },
      cookies: { keys: ['oidc-test-cookie-key'] },
    });
    provider = oidc.listen(providerPort, '127.0.0.1');
    const secretFile = join(dir, 'client-secret');
    writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    s = await startTestServer({
      SLIPWAY_WEB_DIR: join(dir, 'dist'), SLIPWAY_HTTP_PORT: String(httpPort), SLIPWAY_DASHBOARD_URL: dashboard,
      SLIPWAY_OIDC_ISSUER: issuer, SLIPWAY_OIDC_CLIENT_ID: CLIENT_ID, SLIPWAY_OIDC_CLIENT_SECRET_FILE: secretFile, SLIPWAY_OIDC_NAME: 'Test ID',
    });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'oidc');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    const bound = await s.ssh(s.admin, 'keys:oidc dev alice@example.com');
    assert.equal(bound.exitCode, 0, bound.stderr);
    assert.equal(bound.stdout.trim(), 'The OpenID Connect email alice@example.com now signs in to the dashboard as dev.');
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await new Promise((done) => provider?.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  test('keys:oidc binds, lists and refuses what it cannot bind, with one sentence', async () => {
    assert.deepEqual((await sshJson(s, s.admin, 'keys:oidc:list') as { claim: string; value: string; keyName: string }[]).map((b) => [b.keyName, b.claim, b.value]), [['dev', 'email', 'alice@example.com']]);
    const taken = await s.ssh(s.admin, 'keys:oidc admin Alice@Example.com');
    assert.equal(taken.exitCode, 1);
    assert.equal(taken.stderr.trim(), ' !     The email "alice@example.com" is bound to the key dev; unbind it first (keys:oidc:remove email:alice@example.com).'.trim());
    const bad = await s.ssh(s.admin, "keys:oidc dev 'two words'");
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not an OpenID Connect subject or email/);
    const notAdmin = await s.ssh(dev, 'keys:oidc dev bob@example.com');
    assert.notEqual(notAdmin.exitCode, 0);
    assert.equal((await sshJson(s, s.admin, 'keys:oidc:list') as unknown[]).length, 1, 'nothing was bound by the refused ones');
  });

  test('a bound account signs in from the login page and lands on the apps page as its key; unbinding ends the session', async (t) => {
    const bin = needBrowser(t);
    if (!bin) return;
    browser ??= await launchBrowser(bin);
    const { context, page } = await newPage(browser, { baseURL: dashboard });
    try {
      await page.goto('/login');
      const button = page.getByRole('link', { name: 'Sign in with Test ID' });
      await button.waitFor();
      await screenshot(page, 'oidc-login');
      assert.deepEqual(await checkAxe(page), [], 'the login page with its sign-in button passes axe');
      await button.click();
      const returned = page.waitForResponse((r) => r.url().startsWith(`${dashboard}/login/oidc/callback`));
      await atProvider(page, issuer, 'alice');
      const callback = await returned;
      assert.equal(callback.status(), 302);
      // What the sign-in costs the server on its return: the code traded, the ID token checked, UserInfo asked.
      const timing = callback.request().timing();
      t.diagnostic(`callback answered in ${Math.round(timing.responseStart - timing.requestStart)} ms`);
      await page.waitForURL(`${dashboard}/apps`);
      await page.getByRole('link', { name: app, exact: true }).waitFor();
      await screenshot(page, 'oidc-apps');
      // The session the page holds is the mapped key's, with its rights, as a login link's is.
      const session = await page.evaluate(async () => (await fetch('/api/v1/session')).json()) as { key: string; admin: boolean; scope: string };
      assert.deepEqual([session.key, session.admin, session.scope], ['dev', false, 'deploy']);
      const cookies = await context.cookies(dashboard);
      const cookie = cookies.find((c) => c.name === 'slipway_session');
      assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookies));
      assert.equal(cookies.some((c) => c.name === 'slipway_oidc' && c.value !== ''), false, 'the flow cookie is cleared');
      const entries = await sshJson(s, s.admin, 'audit --action login:oidc') as { actor: string; outcome: string; interface: string }[];
      assert.deepEqual(entries.map((e) => [e.actor, e.interface, e.outcome]), [['dev', 'dashboard', 'ok']]);

      const removed = await s.ssh(s.admin, 'keys:oidc:remove alice@example.com');
      assert.equal(removed.exitCode, 0, removed.stderr);
      assert.equal(removed.stdout.trim(), 'Unbound the OpenID Connect email alice@example.com from dev; 1 dashboard session ended.');
      const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(after, 401, 'the session the binding made has ended');
    } finally {
      await context.close();
      assert.equal((await s.ssh(s.admin, 'keys:oidc dev alice@example.com')).exitCode, 0);
    }
  });

  test('an account bound to no key is refused with one sentence and gets no session', async (t) => {
    const bin = needBrowser(t);
    if (!bin) return;
    browser ??= await launchBrowser(bin);
    const { context, page } = await newPage(browser, { baseURL: dashboard });
    try {
      await page.goto('/login');
      await page.getByRole('link', { name: 'Sign in with Test ID' }).click();
      const answer = page.waitForResponse((r) => r.url().startsWith(`${dashboard}/login/oidc/callback`));
      await atProvider(page, issuer, 'mallory');
      assert.equal((await answer).status(), 403);
      const reason = await page.locator('#reason').textContent();
      assert.equal(reason, 'No Slipway key is bound to mallory@example.com (subject mallory): ask an admin to run keys:oidc KEY mallory@example.com.');
      await screenshot(page, 'oidc-refused');
      assert.equal((await context.cookies(dashboard)).some((c) => c.name === 'slipway_session'), false, 'no session cookie');
      const status = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(status, 401);
      const entries = await sshJson(s, s.admin, 'audit --action login:oidc') as { actor: string; outcome: string }[];
      assert.deepEqual(entries.map((e) => [e.actor, e.outcome])[0], ['unknown', 'denied']);
    } finally {
      await context.close();
    }
  });

  test('an unverified email is no match; a return without the flow cookie is refused', async (t) => {
    assert.equal((await s.ssh(s.admin, 'keys:oidc dev unverified-carol@example.com')).exitCode, 0);
    const replay = await fetch(`${dashboard}/login/oidc/callback?code=stolen&state=guessed`, { redirect: 'manual' });
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /This sign-in was not started in this browser, or took longer than 10 minutes: start again from the login page\./);
    const bin = needBrowser(t);
    if (!bin) return;
    browser ??= await launchBrowser(bin);
    const { context, page } = await newPage(browser, { baseURL: dashboard });
    try {
      await page.goto('/login/oidc?next=/apps');
      await atProvider(page, issuer, 'unverified-carol');
      await page.locator('#reason').waitFor();
      assert.match(await page.locator('#reason').textContent() ?? '', /^No Slipway key is bound to unverified-carol@example.com \(subject unverified-carol\): ask an admin to run keys:oidc KEY unverified-carol\.$/);
    } finally {
      await context.close();
    }
  });
});
