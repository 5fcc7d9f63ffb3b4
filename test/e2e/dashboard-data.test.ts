// The app page's Databases section in a real browser (Debian's Chromium, driven by playwright-core)
// against a real Slipway on the testbed, with the real Postgres image and volumes: an app without a
// release gets a Postgres with addons:create; its page shows the database ready and never verified;
// pg:backups:capture and pg:backups:verify over the real ssh client then turn the row to "ok" with
// the measured RPO and RTO without a reload (the drill's event reaches the page's event stream);
// after bytes of the backup are flipped, the next drill's failed step shows in a warning style.
// No credential appears on the page. axe-core checks it; it is screenshotted into SCREENSHOT_DIR.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { run } from '../../server/exec.ts';
import { checkAxe, chromiumPath, launchBrowser, needBrowser, newPage, screenshot } from '../support/browser.ts';
import type { TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { needTestbed, testbedEnv } from '../support/testbed.ts';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { execOutput } from '../../server/kube/exec-io.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_POSTGRES_IMAGE'] as const;
const root = resolve(import.meta.dirname, '..', '..');
const APP = `dash-db-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const UI_MS = 15_000;

describe("the app page's Databases section in Chromium against a real Slipway and Postgres on the testbed", { timeout: 10 * 60_000 }, () => {
  let s: TestServer | undefined;
  let browser: Browser | undefined;
  let base = '';
  let webDir = '';
  let kubeconfig = '';
  const ssh = (command: string) => s!.ssh(s!.admin, command);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    const chromium = chromiumPath();
    if (!tb || !chromium) return;
    kubeconfig = tb.KUBECONFIG!;
    webDir = mkdtempSync(join(tmpdir(), 'slipway-web-data-e2e-'));
    const built = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(webDir, 'dist')], { cwd: root });
    assert.equal(built.exitCode, 0, built.stderr);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_WEB_DIR: join(webDir, 'dist') }, { buildTimeoutMs: 60_000 }));
    base = `http://127.0.0.1:${s.slipway.httpPort}`;
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
    browser = await launchBrowser(chromium);
  });

  after(async () => {
    await browser?.close();
    if (s) {
      await ssh(`apps:destroy ${APP} --confirm ${APP}`);
      await s.close();
    }
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  test('a new Postgres shows ready and never verified; after a backup and a drill its row says ok with RPO and RTO, live', { timeout: 8 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !needBrowser(t) || !s) return;
    let started = Date.now();
    const created = await ssh(`addons:create ${APP} postgres --size 512Mi`);
    assert.equal(created.exitCode, 0, created.stderr);
    t.diagnostic(`addons:create took ${Date.now() - started} ms`);
    const config = JSON.parse((await ssh(`config ${APP} --json`)).stdout) as Record<string, string>;
    const password = new URL(config.DATABASE_URL!).password;
    assert.ok(password.length >= 16, 'the database has a real password');

    // Logged in through dashboard:login's one-time link and its "Log in as KEY?" button.
    const login = await ssh('dashboard:login --json');
    assert.equal(login.exitCode, 0, login.stderr);
    const link = `${base}/login${new URL((JSON.parse(login.stdout) as { url: string }).url).hash}`;
    const { page, errors } = await newPage(browser!);
    await page.goto(link.replace('/login#', `/login?next=${encodeURIComponent(`/apps/${APP}`)}#`));
    await page.getByRole('button', { name: `Log in as ${s.admin.name}` }).click({ timeout: UI_MS });
    await page.waitForURL(`${base}/apps/${APP}`, { timeout: UI_MS });

    // The page of an app that has never been pushed: the database's row, ready, never verified.
    await page.getByRole('heading', { level: 2, name: 'Databases' }).waitFor({ timeout: UI_MS });
    const row = page.locator('tr[data-database="postgres"]');
    await row.waitFor({ timeout: UI_MS });
    const cells = async () => (await row.locator('th, td').allInnerTexts()).map((c) => c.trim());
    // On a failed wait: what the section showed instead (its row and any error line) says whether a refetch lagged or failed.
    const section = () => page.locator('section[aria-labelledby="databases"]').innerText().catch(() => '(section gone)');
    const first = await cells();
    assert.deepEqual(first.slice(0, 5), ['postgres', 'postgres 17', 'DATABASE_URL', 'ready', '512Mi'], first.join(' | '));
    assert.match(first[5]!, /^\d+ \/ 20$/, 'its connections, as its pod counts them');
    assert.equal(first[6], 'none yet');
    assert.equal(await row.locator('td[data-backup]').getAttribute('data-backup'), 'none');
    assert.equal(first[7], 'never');
    assert.equal(await row.locator('td[data-restore]').getAttribute('data-restore'), 'none');
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(password), 'no credential on the page');
    assert.doesNotMatch(text, /postgres(ql)?:\/\//, 'no connection URL on the page');
    await checkAxe(page, 'app page with a database');
    await screenshot(page, 'dashboard-data-before');

    // A heartbeat now (the round writes one every 30 s), a backup, then the drill over SSH.
    assert.equal((await ssh('rounds:run db-heartbeat')).exitCode, 0);
    started = Date.now();
    const capture = await ssh(`pg:backups:capture ${APP}`);
    assert.equal(capture.exitCode, 0, capture.stderr + capture.stdout);
    t.diagnostic(`pg:backups:capture took ${Date.now() - started} ms`);
    // The backup shows without a reload (pg:backups:capture's event).
    await row.locator('td[data-backup]:not([data-backup="none"])').waitFor({ timeout: UI_MS });
    started = Date.now();
    const verify = await ssh(`pg:backups:verify ${APP}`);
    assert.equal(verify.exitCode, 0, verify.stderr + verify.stdout);
    t.diagnostic(`pg:backups:verify took ${Date.now() - started} ms: ${verify.stdout.trim()}`);
    const drilled = Date.now();

    // No reload: the row follows the drill's event.
    const restore = row.locator('td[data-restore="ok"]');
    await restore.waitFor({ timeout: UI_MS }).catch(async (err: unknown) => {
      throw new Error(`the drill's row did not say ok; the section said:\n${await section()}`, { cause: err });
    });
    t.diagnostic(`the row said ok ${Date.now() - drilled} ms after the drill ended`);
    assert.match(await restore.innerText(), /^ok, (just now|\d+ s ago), RPO \d+ s, RTO \d+ s$/);
    assert.match((await cells())[6]!, /^(just now|\d+ s ago)$/, 'the backup shows too');
    await checkAxe(page, 'app page with a verified database');
    await screenshot(page, 'dashboard-data-verified');

    // Four bytes flipped in the middle of the largest file of the backup: the next drill fails at
    // verify, and the row says so in its warning style, with the last good one.
    const kube = new KubeClient(kubeconfig);
    const [pod] = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=postgres' });
    const flip = await execOutput(kube, { namespace: NS, pod: pod!.metadata!.name!, container: 'postgres' }, ['sh', '-c',
      'f=$(ls -S $(find /var/lib/slipway/backup/pgbackrest/backup/db -type f -name "*.zst" -size +2k) | head -1) && printf "\\377\\000\\377\\000" | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc 2>/dev/null && echo "$f"'], new AbortController().signal);
    assert.equal(flip.code, 0, flip.stderr);
    const bad = await ssh(`pg:backups:verify ${APP}`);
    assert.equal(bad.exitCode, 1, bad.stdout);
    const failed = row.locator('td[data-restore="bad"]');
    await failed.waitFor({ timeout: UI_MS }).catch(async (err: unknown) => {
      throw new Error(`the failed drill's row did not show; the section said:\n${await section()}`, { cause: err });
    });
    assert.match(await failed.innerText(), /^failed at verify, (just now|\d+ s ago): pgBackRest's verify found the backups damaged: .+; last ok (just now|\d+ s ago)$/s);
    await checkAxe(page, 'app page with a failed drill');
    await screenshot(page, 'dashboard-data-failed');
    assert.deepEqual(errors.filter((e) => e.startsWith('page error')), []);
  });
});
