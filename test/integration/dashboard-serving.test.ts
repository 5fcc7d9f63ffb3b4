// The dashboard on the HTTP port, against a real server: its pages answer index.html with the
// security headers, its assets are immutable and compressed, an unbuilt dashboard says how to
// build it, and git smart HTTP and /api/v1 answer exactly as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { run } from '../../server/exec.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { checkAxe, launchBrowser, needBrowser, newPage, screenshot } from '../support/browser.ts';

const root = resolve(import.meta.dirname, '..', '..');
const PAGES = ['/', '/login', '/apps', '/apps/shop', '/apps/shop/releases', '/apps/shop/logs', '/apps/shop/config', '/apps/shop/settings', '/apps/shop/metrics', '/jobs/j-123', '/admin'];

/** A raw GET (or other method) with exactly the headers given: fetch would add Accept-Encoding and decode. */
function raw(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

let dist: string;
let empty: string;
let built: TestServer;
let unbuilt: TestServer;

before(async () => {
  dist = mkdtempSync(join(tmpdir(), 'slipway-web-'));
  empty = mkdtempSync(join(tmpdir(), 'slipway-noweb-'));
  const b = await run(process.execPath, [join(root, 'scripts', 'build-web.ts'), join(dist, 'dist')], { cwd: root });
  assert.equal(b.exitCode, 0, b.stderr);
  built = await startTestServer({ SLIPWAY_WEB_DIR: join(dist, 'dist') });
  unbuilt = await startTestServer({ SLIPWAY_WEB_DIR: join(empty, 'dist') });
});

after(async () => {
  await built?.close();
  await unbuilt?.close();
  rmSync(dist, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

function assertSecurityHeaders(h: Record<string, string | string[] | undefined>, what: string): void {
  const csp = String(h['content-security-policy']);
  assert.match(csp, /default-src 'self'/, what);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
  assert.equal(h['x-content-type-options'], 'nosniff', what);
  assert.equal(h['referrer-policy'], 'no-referrer', what);
  assert.equal(h['x-frame-options'], 'DENY', what);
}

test('every dashboard URL answers index.html, not cached, with the security headers', async () => {
  const port = built.slipway.httpPort;
  const index = readFileSync(join(dist, 'dist', 'index.html'));
  for (const path of [...PAGES, '/login?next=%2Fapps%2Fshop', '/apps?x=1']) {
    const r = await raw(port, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', path);
    assert.equal(r.headers['cache-control'], 'no-cache', path);
    assertSecurityHeaders(r.headers, path);
    assert.deepEqual(r.body, index, path);
  }
  const head = await raw(port, '/apps', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('the page has no inline script or style: every script and stylesheet is a file under /assets/', () => {
  const html = readFileSync(join(dist, 'dist', 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs!, /src="\/assets\/app-[A-Z0-9]+\.js"/);
    assert.equal(body, '');
  }
  assert.doesNotMatch(html, /<style|style=/);
  assert.doesNotMatch(html, /https?:\/\//, 'no external resource (CDN, font)');
});

test('assets are immutable, hashed, and sent brotli- or gzip-compressed as the client accepts', async () => {
  const port = built.slipway.httpPort;
  const manifest = JSON.parse(readFileSync(join(dist, 'dist', 'manifest.json'), 'utf8')) as { script: string; style: string };
  for (const [file, type] of [[manifest.script, 'text/javascript; charset=utf-8'], [manifest.style, 'text/css; charset=utf-8']] as const) {
    const original = readFileSync(join(dist, 'dist', file));
    const plain = await raw(port, `/${file}`);
    assert.equal(plain.status, 200, file);
    assert.equal(plain.headers['content-type'], type);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'accept-encoding');
    assertSecurityHeaders(plain.headers, file);
    assert.deepEqual(plain.body, original);

    const br = await raw(port, `/${file}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.body.length < original.length);
    assert.deepEqual(brotliDecompressSync(br.body), original);

    const gz = await raw(port, `/${file}`, { headers: { 'accept-encoding': 'gzip, br;q=0' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), original);

    const again = await raw(port, `/${file}`, { headers: { 'if-none-match': String(plain.headers.etag) } });
    assert.equal(again.status, 304);
  }
  const missing = await raw(port, '/assets/app-NOSUCHHASH.js');
  assert.equal(missing.status, 404);
  // Nothing outside assets/ is reachable through it (the URL parser resolves %2e%2e: then it is not under /assets/ at all).
  for (const path of ['/assets/..%2fmanifest.json', '/assets/%2e%2e/manifest.json', '/assets/app.js/x', '/assets/manifest.json']) {
    const r = await raw(port, path);
    assert.ok(r.status === 404 || r.status === 401, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body.toString(), /firstLoadGzipBytes/, path);
  }
});

test('index.html, script and stylesheet weigh well under 250 KB compressed on first load', async () => {
  const port = built.slipway.httpPort;
  const manifest = JSON.parse(readFileSync(join(dist, 'dist', 'manifest.json'), 'utf8')) as { script: string; style: string };
  let total = 0;
  for (const path of ['/apps', `/${manifest.script}`, `/${manifest.style}`]) {
    const r = await raw(port, path, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers['content-encoding'], 'gzip', path);
    total += r.body.length;
  }
  assert.ok(total < 250 * 1024, `first load is ${total} bytes gzip`);
});

test('without a built dashboard its pages answer 503 saying how to build it', async () => {
  const port = unbuilt.slipway.httpPort;
  for (const path of ['/', '/apps', '/apps/shop/logs', '/assets/app-ABC.js']) {
    const r = await raw(port, path);
    assert.equal(r.status, 503, path);
    assert.equal(r.body.toString(), 'The dashboard is not built: run `npm run build:web` in the Slipway directory, then reload.\n');
  }
  // The API and git still work.
  const api = await raw(port, '/api/v1/openapi.json');
  assert.equal(api.status, 200);
});

test('paths that are not the dashboard keep their old answers: git auth, the API, unknown pages', async () => {
  const port = built.slipway.httpPort;
  // Not a dashboard page: the git server's authentication, as before.
  for (const path of ['/apps/shop/nonsense', '/favicon.ico', '/apps/', '/jobs']) {
    const r = await raw(port, path);
    assert.equal(r.status, 401, path);
  }
  // Only GET and HEAD are the dashboard's.
  assert.equal((await raw(port, '/apps', { method: 'POST' })).status, 401);
  // The API answers JSON, not the page.
  const api = await raw(port, '/api/v1/apps');
  assert.equal(api.status, 401);
  assert.match(String(api.headers['content-type']), /application\/json/);
});

test('git smart HTTP is untouched, also for apps named like dashboard pages', async () => {
  const s = built;
  const token = (await s.ssh(s.admin, 'tokens:create web')).stdout.split('\n')[1]!;
  for (const app of ['login', 'apps', 'admin']) {
    const created = await s.ssh(s.admin, `apps:create ${app}`);
    if (created.exitCode !== 0) continue; // a reserved name: nothing of git to check under it
    const wd = await s.workRepo({ 'index.js': 'console.log(1)\n' }, `wd-${app}`);
    const push = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    // Without .git: /APP/info/refs is git's too.
    const ls = await s.git(['ls-remote', `http://x:${token}@127.0.0.1:${s.slipway.httpPort}/${app}`]);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.match(ls.stdout, /refs\/heads\/main/);
  }
  const refs = await raw(s.slipway.httpPort, '/login/info/refs?service=git-upload-pack');
  assert.equal(refs.status, 401, 'git asks for credentials, the dashboard does not answer');
});

test('in Chromium the login page runs under its own CSP without a violation or script error, and passes axe-core', async (t) => {
  const chromium = needBrowser(t);
  if (!chromium) return;
  const browser = await launchBrowser(chromium);
  t.after(() => browser.close());
  const { page, errors } = await newPage(browser);
  const base = `http://127.0.0.1:${built.slipway.httpPort}`;
  await page.goto(`${base}/login?next=%2Fapps%2Fshop`);
  await page.getByRole('heading', { level: 1, name: 'Log in to Slipway' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByText('Loading Slipway').count(), 0, 'the boot message is replaced');
  await page.getByText(`ssh -p 2222 git@127.0.0.1 dashboard:login`).waitFor();
  await page.getByRole('textbox', { name: /^API token/ }).fill('slw_not-a-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  // The API's one sentence (a 401, or a 404 on a server without sessions) is shown as it is.
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: 10_000 });
  assert.match((await alert.textContent()) ?? '', /\.$/);
  await checkAxe(page, 'login');
  await screenshot(page, 'serving-login');
  assert.deepEqual(errors.filter((e) => /Content Security Policy|page error/.test(e)), []);
});
