// The dashboard end to end in a real browser (Debian's Chromium, driven by playwright-core) against
// a real Slipway on the testbed (pack, registry, Kubernetes, ingress): log in through the one-time
// link `dashboard:login` prints over the real ssh client, which asks "Log in as KEY?" before any
// session is made (refused a second time and after its time, SLIPWAY_LOGIN_LINK_TTL_S),
// see the apps, watch a push from a terminal stream to `succeeded`, change config and see the new
// release, roll back with the button and get the old answer from the app's URL, scale web to 2,
// see a line the app printed in the live logs, lose the session when its key is removed, and have
// a cross-site POST without the CSRF token refused. axe-core checks every page; each page is
// screenshotted into SCREENSHOT_DIR (not committed). Tests run in order and share one app.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { run } from '../../server/exec.ts';
import { makeToken } from '../support/api-client.ts';
import { checkAxe, chromiumPath, launchBrowser, needBrowser, newPage, screenshot, SCREENSHOT_DIR } from '../support/browser.ts';
import { makeKey, type TestKey, type TestServer } from '../support/harness.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const root = resolve(import.meta.dirname, '..', '..');
const BASE_DOMAIN = 'slipway.test';
const APP = `web-dash-${randomBytes(3).toString('hex')}`;
const PUSH_MS = 10 * 60_000;
const ROLLOUT_MS = 5 * 60_000;
/** The one-time links' lifetime on this server: long enough for a busy machine to open one, short enough that the expiry test waits little. */
const LINK_TTL_S = 20;
const ROUTE_MS = 30_000;
const UI_MS = 15_000;

describe('the dashboard in Chromium against a real Slipway on the testbed', { timeout: 45 * 60_000 }, () => {
  let s: TestServer | undefined;
  let browser: Browser | undefined;
  let base = '';
  let ingress = '';
  let token = '';
  let webDir = '';
  let admin: { context: BrowserContext; page: Page; errors: string[] } | undefined;
  let stale: { link: string; at: number } | undefined;
  let crossSite: Server | undefined;
  const host = `${APP}.${BASE_DOMAIN}`;

  /** A fresh one-time login link for `key` from `ssh … dashboard:login --json`, pointed at this server. */
  const loginLink = async (key: TestKey): Promise<string> => {
    const r = await s!.ssh(key, 'dashboard:login --json');
    assert.equal(r.exitCode, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as { url: string; expiresAt: string };
    const url = new URL(printed.url);
    assert.equal(url.pathname, '/login');
    assert.match(url.hash, /^#code=.+/);
    const left = Date.parse(printed.expiresAt) - Date.now();
    assert.ok(left > 0 && left <= LINK_TTL_S * 1000 + 1000, `the link expires in ${left} ms, not within ${LINK_TTL_S} s`);
    // The printed URL names the server as users reach it; the test reaches it on loopback.
    return `${base}/login${url.hash}`;
  };

  /** Checks the page with axe-core and saves its screenshot. */
  const look = async (page: Page, name: string): Promise<void> => {
    // Not 'networkidle': the pages' event streams keep the network busy. The tests waited for what they check.
    await page.waitForLoadState('load');
    await checkAxe(page, name);
    await screenshot(page, `dashboard-${name}`);
  };

  /** The page's own errors (a console error of a refused request is expected in some tests, a script error never). */
  const noScriptErrors = (errors: string[]) => assert.deepEqual(errors.filter((e) => e.startsWith('page error')), []);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    const chromium = chromiumPath();
    if (!tb || !chromium) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    webDir = mkdtempSync(join(tmpdir(), 'slipway-web-e2e-'));
    const built = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(webDir, 'dist')], { cwd: root });
    assert.equal(built.exitCode, 0, built.stderr);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_LOGIN_LINK_TTL_S: String(LINK_TTL_S), SLIPWAY_WEB_DIR: join(webDir, 'dist') }, { buildTimeoutMs: PUSH_MS }));
    base = `http://127.0.0.1:${s.slipway.httpPort}`;
    assert.equal((await s.ssh(s.admin, `apps:create ${APP}`)).exitCode, 0);
    token = await makeToken(s, s.admin, 'e2e-web', 'admin');
    browser = await launchBrowser(chromium);
  });

  after(async () => {
    await browser?.close();
    crossSite?.close();
    if (s) {
      await s.ssh(s.admin, `apps:destroy ${APP} --confirm ${APP}`);
      await s.close();
    }
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  test('a one-time link from dashboard:login logs in and lands on the apps; the same link is refused a second time', async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !s) return;
    // One link left unused until it is older than SLIPWAY_LOGIN_LINK_TTL_S, for the expiry test further down.
    stale = { link: await loginLink(s.admin), at: Date.now() };
    const link = await loginLink(s.admin);
    admin = await newPage(browser!);
    const { page } = admin;
    // Straight to a deep page without a session: to the login explanation, then back after.
    await page.goto(`${base}/apps/${APP}/config`);
    await page.waitForURL(/\/login\?next=/, { timeout: UI_MS });
    await page.getByText('dashboard:login').first().waitFor({ timeout: UI_MS });
    await look(page, 'login');
    await page.goto(`${link.replace('/login#', `/login?next=${encodeURIComponent(`/apps/${APP}/config`)}#`)}`);
    // Opening the link logs nobody in: it asks first, naming the key and its SSH key (issue 35, item 11).
    await page.getByRole('heading', { level: 1, name: `Log in as ${s.admin.name}?` }).waitFor({ timeout: UI_MS });
    assert.ok(!page.url().includes('code='), 'the code is gone from the address');
    const fingerprint = s.slipway.services.store.keys.byName(s.admin.name)!.fingerprint;
    await page.getByText(fingerprint).waitFor({ timeout: UI_MS });
    assert.equal((await admin.context.cookies()).find((c) => c.name === 'slipway_session'), undefined, 'no session before the button');
    await look(page, 'login-confirm');
    await page.getByRole('button', { name: `Log in as ${s.admin.name}` }).click();
    await page.waitForURL(`${base}/apps/${APP}/config`, { timeout: UI_MS });
    await page.getByRole('heading', { level: 1, name: `${APP}: config` }).waitFor({ timeout: UI_MS });
    const cookie = (await admin.context.cookies()).find((c) => c.name === 'slipway_session');
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');

    const again = await newPage(browser!);
    await again.page.goto(link);
    const alert = again.page.getByRole('alert');
    await alert.waitFor({ timeout: UI_MS });
    assert.match((await alert.textContent()) ?? '', /\S/, 'the API says why in one sentence');
    assert.match(again.page.url(), /\/login/);
    assert.equal((await again.context.cookies()).find((c) => c.name === 'slipway_session'), undefined);
    await look(again.page, 'login-refused');
    await again.context.close();
    noScriptErrors(admin.errors);
  });

  test('the apps page lists the app with its state', async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin) return;
    const { page } = admin;
    await page.getByRole('link', { name: 'Apps', exact: true }).first().click();
    await page.waitForURL(`${base}/apps`);
    const row = page.locator(`tr[data-app="${APP}"]`);
    await row.waitFor({ timeout: UI_MS });
    assert.match((await row.textContent()) ?? '', new RegExp(APP));
    await look(page, 'apps');
  });

  test('a push from a terminal shows up as a job on the app page and streams to succeeded', { timeout: PUSH_MS + ROUTE_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin || !s) return;
    const { page } = admin;
    await page.goto(`${base}/apps/${APP}`);
    await page.getByRole('heading', { level: 1, name: APP }).waitFor({ timeout: UI_MS });
    await look(page, 'app-new');
    // The fixture, plus one log line per request (for the live logs test).
    const wd = fixtureCopy('node-app');
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace("const server = http.createServer((req, res) => {", "const server = http.createServer((req, res) => {\n  console.log(`request ${req.url}`);"));
    await s.commitAll(wd, 'node app');
    const pushing = s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    // The job appears on the open page by itself (the event stream), and streams there.
    const link = page.locator('table.jobs a').first();
    await link.waitFor({ timeout: 60_000 });
    await link.click();
    await page.waitForURL(/\/jobs\//);
    const status = page.locator('[data-job-status]');
    const seen = await status.getAttribute('data-job-status');
    await page.locator('pre.transcript').getByText('----->').first().waitFor({ timeout: PUSH_MS });
    const whileRunning = await status.getAttribute('data-job-status');
    await look(page, 'job-running');
    await page.locator('[data-job-status="succeeded"]').waitFor({ timeout: PUSH_MS });
    const pushed = await pushing;
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    assert.ok(seen !== 'succeeded' || whileRunning !== 'succeeded', 'the page showed the job before it ended');
    const transcript = (await page.locator('pre.transcript').textContent()) ?? '';
    assert.match(transcript, /=====> Application deployed:/);
    await look(page, 'job-succeeded');
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway\n', ROUTE_MS), 'hello from slipway\n');
    noScriptErrors(admin.errors);
  });

  test('the one-time link is refused once it is older than SLIPWAY_LOGIN_LINK_TTL_S', async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !stale) return;
    const wait = stale.at + LINK_TTL_S * 1000 + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const late = await newPage(browser!);
    await late.page.goto(stale.link);
    await late.page.getByRole('alert').waitFor({ timeout: UI_MS });
    assert.match(late.page.url(), /\/login/);
    assert.equal((await late.context.cookies()).find((c) => c.name === 'slipway_session'), undefined);
    await late.context.close();
  });

  test("config: values hidden until revealed, the API's validation sentence, and a change makes a new release", { timeout: ROLLOUT_MS + ROUTE_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin || !s) return;
    const { page } = admin;
    await page.goto(`${base}/apps/${APP}/config`);
    await page.getByLabel('Key', { exact: true }).waitFor({ timeout: UI_MS });
    // A key the command line refuses: the page shows the API's own sentence.
    const refused = await fetch(`${base}/api/v1/apps/${APP}/config`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ set: { 'BAD KEY': 'x' } }) });
    assert.ok(refused.status >= 400 && refused.status < 500);
    const sentence = ((await refused.json()) as { error: { message: string } }).error.message;
    await page.getByLabel('Key', { exact: true }).fill('BAD KEY');
    await page.getByLabel('Value', { exact: true }).fill('x');
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: sentence }).waitFor({ timeout: UI_MS });

    await page.getByLabel('Key', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill('two');
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    await page.locator('[data-job-status="succeeded"]').waitFor({ timeout: ROLLOUT_MS });
    const row = page.locator('tr[data-key="GREETING"]');
    await row.waitFor({ timeout: UI_MS });
    assert.doesNotMatch((await row.textContent()) ?? '', /two/, 'the value is hidden');
    await row.getByRole('button', { name: 'Reveal GREETING' }).click();
    await row.getByText('two', { exact: true }).waitFor({ timeout: UI_MS });
    await look(page, 'config');
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway two\n', ROUTE_MS), 'hello from slipway two\n');

    await page.getByRole('link', { name: 'Releases', exact: true }).first().click();
    const v2 = page.locator('li[data-release="v2"]');
    await v2.waitFor({ timeout: UI_MS });
    const text = (await v2.textContent()) ?? '';
    assert.match(text, /current/);
    assert.match(text, /GREETING/, 'the release says which config key changed');
    await look(page, 'releases');
  });

  test('roll back with the button: a confirmation, the job live, then the old answer at the URL', { timeout: ROLLOUT_MS + ROUTE_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin) return;
    const { page } = admin;
    await page.goto(`${base}/apps/${APP}/releases`);
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ timeout: UI_MS });
    await look(page, 'rollback-dialog');
    // Escape cancels without rolling back.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: UI_MS });
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.waitForURL(/\/jobs\//, { timeout: UI_MS });
    await page.locator('[data-job-status="succeeded"]').waitFor({ timeout: ROLLOUT_MS });
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway\n', ROUTE_MS), 'hello from slipway\n');
    await page.goto(`${base}/apps/${APP}/releases`);
    await page.locator('li[data-release="v3"]').getByText('current').waitFor({ timeout: UI_MS });
  });

  test('scale web to 2 on the app page and see 2/2', { timeout: ROLLOUT_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin) return;
    const { page } = admin;
    await page.goto(`${base}/apps/${APP}`);
    const web = page.locator('tr[data-process="web"]');
    await web.waitFor({ timeout: UI_MS });
    await web.getByLabel('web processes').fill('2');
    await web.getByRole('button', { name: 'Scale' }).click();
    await page.locator('tr[data-process="web"] td[data-ready="2/2"]').waitFor({ timeout: ROLLOUT_MS });
    await look(page, 'app');
    await page.goto(`${base}/apps`);
    const row = page.locator(`tr[data-app="${APP}"]`);
    await row.getByText('2/2').waitFor({ timeout: UI_MS });
    await look(page, 'apps-deployed');
  });

  test('a line the app prints appears in the live logs, filtered to web', { timeout: 3 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin) return;
    const { page } = admin;
    await page.goto(`${base}/apps/${APP}/logs?process=web`);
    await page.getByText('Live', { exact: true }).waitFor({ timeout: UI_MS });
    assert.equal(await page.getByLabel('Process type').inputValue(), 'web');
    const marker = `/marker-${randomBytes(4).toString('hex')}`;
    const logs = page.locator('pre.logs');
    // Requests until one reaches a pod and its line arrives (two pods: either may answer).
    const deadline = Date.now() + 2 * 60_000;
    for (;;) {
      await httpThroughIngress(ingress, host, 5000, marker).catch(() => undefined);
      if (((await logs.textContent()) ?? '').includes(`request ${marker}`)) break;
      assert.ok(Date.now() < deadline, `the line "request ${marker}" did not appear in the live logs:\n${await logs.textContent()}`);
      await page.waitForTimeout(1000);
    }
    await look(page, 'logs');
  });

  test("a removed key's session is refused at its next request", async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !s) return;
    const dev = await makeKey(s.dir, `webdev${randomBytes(2).toString('hex')}`);
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${APP} ${dev.name}`)).exitCode, 0);
    const d = await newPage(browser!);
    await d.page.goto(await loginLink(dev));
    await d.page.getByRole('button', { name: `Log in as ${dev.name}` }).click({ timeout: UI_MS });
    await d.page.waitForURL(`${base}/apps`, { timeout: UI_MS });
    await d.page.locator(`tr[data-app="${APP}"]`).waitFor({ timeout: UI_MS });
    assert.equal((await s.ssh(s.admin, `keys:remove ${dev.name}`)).exitCode, 0);
    const status = await d.page.evaluate(async () => (await fetch('/api/v1/apps', { credentials: 'same-origin' })).status);
    assert.equal(status, 401);
    // In the page: the next navigation's request is refused and leads to the login page.
    await d.page.locator(`tr[data-app="${APP}"] a`).first().click();
    // The page's URL, not waitForURL: the refused navigation is itself replaced by the one to the
    // login page, and waitForURL fails on that abort when it sees it (it did once under load).
    await eventually(() => `the login page (at ${d.page.url()})`, async () => /\/login\?next=/.test(d.page.url()), UI_MS);
    await d.context.close();
  });

  test('a cross-site POST with the session cookie but without the CSRF token is refused', async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin || !s) return;
    const { page, context } = admin;
    await page.goto(`${base}/apps/${APP}`);
    const jobsBefore = await (await fetch(`${base}/api/v1/apps/${APP}/jobs`, { headers: { authorization: `Bearer ${token}` } })).json() as unknown[];
    // Another site in the same browser posts a form at the API: the browser may not even send the
    // cookie (SameSite=Strict); either way nothing happens.
    crossSite = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form id="f" method="POST" action="${base}/api/v1/apps/${APP}/restart" enctype="text/plain"><input name='{"a":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => crossSite!.listen(0, 'localhost', r));
    const evil = await context.newPage();
    const answer = evil.waitForResponse((r) => r.url().endsWith('/restart'));
    await evil.goto(`http://localhost:${(crossSite.address() as { port: number }).port}/`);
    assert.ok((await answer).status() >= 400, 'the cross-site form post is refused');
    await evil.close();
    // The same request with the cookie in hand, as a cross-site page's fetch would send it.
    const cookie = (await context.cookies()).find((c) => c.name === 'slipway_session')!;
    const forged = await fetch(`${base}/api/v1/apps/${APP}/restart`, {
      method: 'POST',
      headers: { cookie: `slipway_session=${cookie.value}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(forged.status, 403);
    // Same origin, no CSRF header: refused too; the dashboard's own request (with it) goes through.
    const noToken = await page.evaluate(async (app) => (await fetch(`/api/v1/apps/${app}/restart`, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' })).status, APP);
    assert.equal(noToken, 403);
    const jobsAfter = await (await fetch(`${base}/api/v1/apps/${APP}/jobs`, { headers: { authorization: `Bearer ${token}` } })).json() as unknown[];
    assert.equal(jobsAfter.length, jobsBefore.length, 'no restart job was started');
  });

  test('every page passes axe-core and is screenshotted; logout ends the session', async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !admin) return;
    const { page, context } = admin;
    for (const [name, path] of [['settings', `/apps/${APP}/settings`], ['metrics', `/apps/${APP}/metrics`], ['admin', '/admin']] as const) {
      await page.goto(`${base}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor({ timeout: UI_MS });
      await look(page, name);
    }
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/, { timeout: UI_MS });
    const status = await page.evaluate(async () => (await fetch('/api/v1/apps', { credentials: 'same-origin' })).status);
    assert.equal(status, 401);
    noScriptErrors(admin.errors);
    await context.close();
    t.diagnostic(`screenshots in ${SCREENSHOT_DIR}`);
  });
});
