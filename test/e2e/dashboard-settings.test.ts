// The dashboard's settings, admin and metrics pages in a real Chromium against a real Slipway
// (real HTTP and SSH transports, real SQLite, real git pushes; the builder and deployer are the
// test fakes: nothing here needs a cluster). Logged in through the login page's token form, the
// user adds and removes a domain (with the keyboard), sets a health check and a resource limit,
// sees a bad limit refused with the API's own sentence, adds and removes a log drain, reads the
// audit log in /admin filtered by the app, creates a token in /admin, sees it listed
// and working, then revokes it, grants a key access to the app and takes it back; /apps/APP/metrics charts the fake cluster's CPU and memory live
// and the push-to-live times, or, without a metrics API, shows the API's sentence; a key that is
// not an admin sees no admin page. axe-core checks
// each page; screenshots go to SCREENSHOT_DIR (not committed). Steps run in order on one session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { run } from '../../server/exec.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';
import { checkAxe, launchBrowser, needBrowser, newPage, screenshot } from '../support/browser.ts';
import { deployedApp, makeKey, startTestServer, type TestServer } from '../support/harness.ts';

const root = resolve(import.meta.dirname, '..', '..');
const WAIT = { timeout: 15_000 };

/** Logs in through /login's token form and lands on `next`. */
async function logIn(page: Page, token: string, next: string): Promise<void> {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  const field = page.getByRole('textbox', { name: /^API token/ });
  await field.fill(token);
  await field.press('Enter');
  await page.waitForURL((u) => u.pathname === next, WAIT);
  await page.locator('h1').first().waitFor(WAIT);
}

test('the settings, admin and metrics pages in Chromium', { timeout: 5 * 60_000 }, async (t) => {
  const chromium = needBrowser(t);
  if (!chromium) return;
  const dist = mkdtempSync(join(tmpdir(), 'slipway-web-settings-'));
  let s: TestServer | undefined;
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await s?.close();
    rmSync(dist, { recursive: true, force: true });
  });
  // The pages as they are in this checkout, built apart from web/dist.
  const built = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(dist, 'dist')], { cwd: root });
  assert.equal(built.exitCode, 0, built.stderr);
  s = await startTestServer({ SLIPWAY_WEB_DIR: join(dist, 'dist'), SLIPWAY_METRICS_INTERVAL_S: '1', SLIPWAY_COLLECTOR_IMAGE: 'registry.test/slipway/collector:1' });
  const server = s;
  const token = await makeToken(server, server.admin, 'webmore-ui', 'admin');
  const { app } = await deployedApp(server, 'webmore');
  browser = await launchBrowser(chromium);
  const { page, errors } = await newPage(browser, { baseURL: `http://127.0.0.1:${server.slipway.httpPort}` });
  page.setDefaultTimeout(WAIT.timeout);
  const settings = `/apps/${app}/settings`;

  await t.test('logs in with an API token and lands on the settings page', async () => {
    await logIn(page, token, settings);
    assert.equal(await page.locator('h1').innerText(), `${app}: settings`);
    await page.getByRole('heading', { name: 'Domains' }).waitFor(WAIT);
    await page.locator(`tr:has-text("${app}.apps.test")`).first().waitFor(WAIT);
  });

  const host = `www.${app}.example`;
  await t.test('adds a custom domain with the keyboard, sees it roll out and listed, and removes it', async () => {
    const field = page.getByLabel('Domain to add');
    await field.focus();
    await page.keyboard.type(host);
    await page.keyboard.press('Enter');
    const row = page.locator(`tr[data-domain="${host}"]`);
    await row.waitFor(WAIT);
    // The app runs, so the change rolled out as a job, streamed on the page to its end.
    await page.locator('section[aria-labelledby="domains"] [data-job-status="succeeded"]').waitFor(WAIT);
    const stored = await api(server, 'GET', `/apps/${app}/domains`, { token });
    assert.deepEqual((stored.json as { custom: string[] }).custom, [host]);
    // Its certificate row appears with the domain.
    await page.locator(`tr[data-cert="${host}"]`).waitFor(WAIT);
    await page.getByRole('button', { name: `Remove domain ${host}` }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    assert.deepEqual(((await api(server, 'GET', `/apps/${app}/domains`, { token })).json as { custom: string[] }).custom, []);
  });

  await t.test('sets a readiness check on web and sees it listed', async () => {
    await page.getByLabel('Kind').selectOption('readiness');
    await page.getByLabel('Path (HTTP GET; 2xx and 3xx pass)').fill('/healthz');
    await page.getByLabel('Initial delay in seconds (empty: default)').fill('5');
    await page.getByRole('button', { name: 'Set check' }).click();
    const row = page.locator('tr[data-check="web/readiness"]');
    await row.waitFor(WAIT);
    assert.match(await row.innerText(), /\/healthz[\s\S]*5 s/);
  });

  await t.test('sets a memory limit for all processes, and a bad one shows the API\'s sentence', async () => {
    await page.getByLabel('What').selectOption('limit');
    await page.getByLabel('For', { exact: true }).selectOption('');
    await page.getByLabel('Memory (like 512Mi or 1Gi; empty: unchanged)').fill('256Mi');
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    const all = page.locator('tr[data-scope="all"]');
    await page.waitForFunction(() => document.querySelector('tr[data-scope="all"] td')?.textContent === '256Mi', undefined, WAIT);
    assert.match(await all.innerText(), /256Mi/);

    const refused = await api(server, 'POST', `/apps/${app}/resources/limit`, { token, body: { memory: 'lots' } });
    assert.ok(refused.status >= 400 && refused.status < 500, refused.text);
    await page.getByLabel('Memory (like 512Mi or 1Gi; empty: unchanged)').fill('lots');
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    const alert = page.locator('section[aria-labelledby="resources"] [role="alert"]');
    await alert.waitFor(WAIT);
    assert.equal(await alert.innerText(), apiError(refused).message);
  });

  const drain = 'syslog+tls://203.0.113.10:6514';
  await t.test('adds a log drain, sees it listed with its delivery (nothing sent yet), and removes it', async () => {
    await page.getByRole('heading', { name: 'Log drains' }).waitFor(WAIT);
    await page.getByText('No drains: the app').waitFor(WAIT);
    await page.getByLabel('Drain to add').fill(drain);
    await page.getByRole('button', { name: 'Add drain' }).click();
    const row = page.locator('section[aria-labelledby="drains"] tr[data-drain]');
    await row.waitFor(WAIT).catch(async (err: unknown) => {
      throw new Error(`no drain row; the section said: ${await page.locator('section[aria-labelledby="drains"]').innerText()}`, { cause: err });
    });
    assert.equal(await row.locator('th code').innerText(), drain);
    assert.equal(await row.locator('td[data-delivery]').getAttribute('data-delivery'), 'queued');
    assert.equal(await row.locator('td[data-delivery]').innerText(), 'nothing sent yet');
    const listed = (await api(server, 'GET', `/apps/${app}/drains`, { token })).json as { url: string; token: string }[];
    assert.deepEqual(listed.map((d) => d.url), [drain]);
    assert.equal(await row.getAttribute('data-drain'), listed[0]!.token);
    await checkAxe(page, `${settings} with a drain`);
    await page.getByRole('button', { name: `Remove drain ${drain}` }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    assert.deepEqual((await api(server, 'GET', `/apps/${app}/drains`, { token })).json, []);
    // A URL the server refuses: its sentence, and nothing added.
    await page.getByLabel('Drain to add').fill('ftp://logs.example');
    await page.getByRole('button', { name: 'Add drain' }).click();
    const alert = page.locator('section[aria-labelledby="drains"] [role="alert"]');
    await alert.waitFor(WAIT);
    assert.match(await alert.innerText(), /\.$/);
    assert.deepEqual((await api(server, 'GET', `/apps/${app}/drains`, { token })).json, []);
  });

  await t.test('the settings page has no serious accessibility violation', async () => {
    await checkAxe(page, settings);
    await screenshot(page, 'settings-page-settings');
  });

  const tokenName = 'webmore-read';
  await t.test('creates a read token in /admin, sees it once, listed and working', async () => {
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL((u) => u.pathname === '/admin', WAIT);
    await page.getByRole('heading', { name: 'Access tokens' }).waitFor(WAIT);
    await page.locator('tr[data-token="webmore-ui"]').waitFor(WAIT);
    await page.locator('section[aria-labelledby="tokens"]').getByLabel('Name', { exact: true }).fill(tokenName);
    await page.getByLabel('Scope').selectOption('read');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel('Token', { exact: true });
    await secret.waitFor(WAIT);
    const value = await secret.inputValue();
    assert.ok(value.length >= 20, `the new token is shown: ${value}`);
    await page.locator(`tr[data-token="${tokenName}"]`).waitFor(WAIT);
    const who = await api(server, 'GET', '/whoami', { token: value });
    assert.equal(who.status, 200, who.text);
    assert.equal((who.json as { scope: string }).scope, 'read');
  });

  await t.test('lists the background rounds in /admin and runs one now', async () => {
    const row = page.locator('tr[data-round="rights"]');
    await row.waitFor(WAIT);
    const before = Number(await row.locator('td[data-runs]').getAttribute('data-runs'));
    await page.getByRole('button', { name: 'Run now: the rights round' }).click();
    await page.locator('section[aria-labelledby="rounds"] [role="status"]').filter({ hasText: 'Ran the rights round.' }).waitFor(WAIT);
    // The round also runs on its own every 5 s: at least one more run, and the row shows as many.
    const listed = await api(server, 'GET', '/rounds', { token });
    const runs = (listed.json as { name: string; runs: number }[]).find((r) => r.name === 'rights')?.runs ?? 0;
    assert.ok(runs >= before + 1, listed.text);
    assert.ok(Number(await row.locator('td[data-runs]').getAttribute('data-runs')) >= before + 1);
  });

  await t.test("shows the audit log in /admin on request, filtered by app: the drain's adding and removing, by whom", async () => {
    await page.getByRole('heading', { name: 'Audit log' }).waitFor(WAIT);
    assert.equal(await page.locator('table.audit').count(), 0, 'nothing is read before it is asked for');
    await page.locator('section[aria-labelledby="audit"]').getByLabel('Of app').fill(app);
    await page.getByRole('button', { name: 'Show entries' }).click();
    const rows = page.locator('table.audit tbody tr');
    await rows.first().waitFor(WAIT);
    const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
    assert.ok(actions.includes('POST /apps/:app/drains') && actions.includes('DELETE /apps/:app/drains'), actions.join(', '));
    const added = page.locator('table.audit tr[data-action="POST /apps/:app/drains"]').first();
    assert.match(await added.locator('th').innerText(), /^admin \(session /);
    // Another app's name: no entry.
    await page.locator('section[aria-labelledby="audit"]').getByLabel('Of app').fill('nosuch-app');
    await page.getByRole('button', { name: 'Show entries' }).click();
    await page.locator('section[aria-labelledby="audit"] [role="alert"], section[aria-labelledby="audit"] p:has-text("No entry matches")').first().waitFor(WAIT);
  });

  await t.test('the admin page has no serious accessibility violation', async () => {
    await checkAxe(page, '/admin');
    await screenshot(page, 'settings-page-admin');
  });

  await t.test('revokes the token after a confirmation; it no longer works', async () => {
    const secret = await page.getByLabel('Token', { exact: true }).inputValue();
    await page.getByRole('button', { name: `Revoke token ${tokenName}` }).click();
    await page.getByRole('group', { name: `Revoke token ${tokenName}? Scripts using it stop working.` }).getByRole('button', { name: 'Revoke' }).click();
    await page.locator(`tr[data-token="${tokenName}"]`).waitFor({ state: 'detached', ...WAIT });
    assert.equal((await api(server, 'GET', '/whoami', { token: secret })).status, 401);
  });

  const dev = await makeKey(server.dir, 'webmore-dev');
  await t.test('grants a key access to the app in /admin and takes it back', async () => {
    assert.equal((await server.ssh(server.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    await page.reload();
    await page.locator(`tr[data-key="${dev.name}"]`).waitFor();
    await page.getByLabel('App', { exact: true }).selectOption(app);
    await page.getByLabel('Let key').selectOption(dev.name);
    await page.getByRole('button', { name: `Grant access to ${app}` }).click();
    const row = page.locator(`tr[data-grant="${dev.name}"]`);
    await row.waitFor();
    assert.deepEqual(((await api(server, 'GET', `/apps/${app}/access`, { token })).json as { keys: string[] }).keys, [dev.name]);
    await page.getByRole('button', { name: `Revoke ${dev.name}'s access to ${app}` }).click();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual(((await api(server, 'GET', `/apps/${app}/access`, { token })).json as { keys: string[] }).keys, []);
  });

  await t.test('the metrics page charts CPU and memory live, and the push-to-live times', async () => {
    await page.goto(`/apps/${app}/metrics`);
    await page.getByRole('img', { name: /^Push-to-live time of recent deploys: 1 values/ }).waitFor();
    const cpu = page.getByRole('img', { name: /^CPU per process type: latest web \d+ m$/ });
    await cpu.waitFor();
    await page.getByRole('img', { name: /^Memory per process type: latest web / }).waitFor();
    await page.locator('section[aria-labelledby="usage"] .live.on').waitFor();
    // The fake cluster's CPU reading grows with each one; the stream sends one a second here.
    const first = await cpu.getAttribute('aria-label');
    await page.waitForFunction((before) => document.querySelector('svg[aria-label^="CPU per process type"]')?.getAttribute('aria-label') !== before, first);
    // The chart's numbers, for those who cannot see it, a keyboard press away.
    await page.getByText('Push-to-live time of recent deploys as a table').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('figure.chart:has-text("Push-to-live") tbody tr').count(), 1);
    await checkAxe(page, `/apps/${app}/metrics`);
    await screenshot(page, 'settings-page-metrics');
  });

  await t.test("without a metrics API the metrics page shows the API's sentence", async (tt) => {
    Object.assign(server.controls, { noMetrics: true });
    tt.after(() => { Reflect.deleteProperty(server.controls, 'noMetrics'); });
    const usage = await api(server, 'GET', `/apps/${app}/metrics`, { token });
    assert.equal(usage.status, 503, usage.text);
    await page.reload();
    const alert = page.locator('section[aria-labelledby="usage"] [role="alert"]');
    await alert.waitFor();
    assert.equal(await alert.innerText(), apiError(usage).message);
    await page.getByRole('img', { name: /^Push-to-live time of recent deploys/ }).waitFor();
  });

  await t.test('a key that is not an admin sees no admin page', async () => {
    const devToken = await makeToken(server, dev, 'dev-ui', 'deploy');
    const other = await newPage(browser!, { baseURL: `http://127.0.0.1:${server.slipway.httpPort}` });
    await logIn(other.page, devToken, '/admin');
    await other.page.getByText('Only admins may see this page').waitFor(WAIT);
    assert.equal(await other.page.getByRole('link', { name: 'Admin' }).count(), 0);
    await checkAxe(other.page, '/admin as a non-admin');
    await other.context.close();
  });

  // Network refusals show as console errors (an API answer the page showed as its sentence); a
  // script error would be a bug.
  assert.deepEqual(errors.filter((e) => e.startsWith('page error')), []);
});
