import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, newApp, remoteLines, startTestServer, uniqueAppName, useControls, type TestServer } from '../support/harness.ts';

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

// Each test makes its own apps and pushes what it needs itself.
describe('git over HTTP (git http-backend behind token auth)', () => {
  let s: TestServer;
  let token: string;
  let devToken: string;
  let base: string;
  const work = () => s.workRepo({ 'index.js': 'console.log("hi")\n' });
  const mainOf = async (app: string) => (await s.git(['--git-dir', join(s.dir, `data/repos/${app}.git`), 'rev-parse', '--verify', '--quiet', 'main'])).stdout;
  /** A new app whose first push (over HTTP) went through. */
  const deployedApp = async (prefix: string) => {
    const app = await newApp(s, prefix);
    const wd = await work();
    const push = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    return { app, wd };
  };
  before(async () => {
    s = await startTestServer({ SLIPWAY_MAX_PUSH_MB: '2' });
    base = `http://127.0.0.1:${s.slipway.httpPort}`;
    token = (await s.ssh(s.admin, 'tokens:create ci')).stdout.split('\n')[1]!;
    const dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
    devToken = (await s.ssh(dev, 'tokens:create devtok')).stdout.split('\n')[1]!;
  });
  after(() => s.close());

  test('push with a token runs the same pipeline and shows the same remote: lines', async () => {
    const app = await newApp(s, 'push');
    const r = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: await work() });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    assert.ok(lines.some((l) => new RegExp(`^-----> Building ${app} \\([0-9a-f]{7}\\) with heroku/builder:24$`).test(l)), lines.join('\n'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.equal(lines[at + 1], `       http://${app}.apps.test`);
  });

  test('clone and fetch with a token', async () => {
    const { app } = await deployedApp('clone');
    const dest = join(s.dir, `${app}-httpclone`);
    const r = await s.git(['clone', '-q', s.httpRemote(app, token), dest]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(existsSync(join(dest, 'index.js')));
    assert.equal((await s.git(['fetch', '-q', 'origin'], { cwd: dest })).exitCode, 0);
  });

  test('a failing build rejects an HTTP push too', async (t) => {
    const { app, wd } = await deployedApp('buildfail');
    useControls(t, s, { buildFailure: 'npm ci failed: see the build log' });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'x'], { cwd: wd });
    const r = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     npm ci failed: see the build log'));
  });

  test('no credentials, a bad token, or another scheme get 401 on every route', async () => {
    const app = await newApp(s, 'auth');
    const paths = [`/${app}.git/info/refs?service=git-upload-pack`, `/${app}.git/info/refs?service=git-receive-pack`, '/nope.git/info/refs?service=git-upload-pack', '/nothing-here', `/${app}.git/HEAD`];
    for (const p of paths) {
      for (const auth of [undefined, basic('x', 'slw_wrong'), basic('x', ''), `Bearer ${token}`, `Basic ${token}`]) {
        const res = await fetch(base + p, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, 401, `${p} ${auth}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="Slipway"/);
      }
    }
  });

  test('a direct unauthenticated POST to git-receive-pack changes nothing', async () => {
    const { app } = await deployedApp('post');
    const before = await mainOf(app);
    assert.notEqual(before, '');
    const body = Buffer.from(`00980000000000000000000000000000000000000000 ${'1'.repeat(40)} refs/heads/main\0 report-status\n0000`);
    const res = await fetch(`${base}/${app}.git/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body });
    assert.equal(res.status, 401);
    assert.equal(await mainOf(app), before);
  });

  test('only the smart protocol is served; dumb file paths are 404 even with a token', async () => {
    const { app } = await deployedApp('dumb');
    for (const p of [`/${app}.git/HEAD`, `/${app}.git/config`, `/${app}.git/objects/info/packs`, `/${app}.git/info/refs`, `/${app}.git/info/refs?service=git-upload-archive`, '/../etc/passwd', `/${app}.git/../../slipway.db`]) {
      const res = await fetch(base + p, { headers: { authorization: basic('x', token) } });
      assert.equal(res.status, 404, p);
    }
    const get = await fetch(`${base}/${app}.git/git-upload-pack`, { headers: { authorization: basic('x', token) } });
    assert.equal(get.status, 404);
  });

  test('requests never create repositories', async () => {
    const app = uniqueAppName('newapp');
    const res = await fetch(`${base}/${app}.git/info/refs?service=git-receive-pack`, { headers: { authorization: basic('x', token) } });
    assert.equal(res.status, 404);
    const push = await s.git(['push', s.httpRemote(app, token), 'main'], { cwd: await work() });
    assert.notEqual(push.exitCode, 0);
    assert.ok(!existsSync(join(s.dir, `data/repos/${app}.git`)));
  });

  test("a deployer's token reaches only granted apps", async () => {
    const app = await newApp(s, 'notgranted');
    const other = await newApp(s, 'granted');
    assert.equal((await s.ssh(s.admin, `access:grant ${other} dev`)).exitCode, 0);
    const wd = await work();
    const denied = await s.git(['push', s.httpRemote(app, devToken), 'main'], { cwd: wd });
    assert.notEqual(denied.exitCode, 0);
    assert.match(denied.stderr, /not found|404/i);
    const ok = await s.git(['push', s.httpRemote(other, devToken), 'main'], { cwd: wd });
    assert.equal(ok.exitCode, 0, ok.stderr);
  });

  test('a declared body over the limit gets 413 before anything runs', async () => {
    const big = await newApp(s, 'big');
    const res = await fetch(`${base}/${big}.git/git-receive-pack`, {
      method: 'POST',
      headers: { authorization: basic('x', token), 'content-type': 'application/x-git-receive-pack-request' },
      body: randomBytes(4 * 1024 * 1024),
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /larger than the 2 MB limit/);
    assert.equal(await mainOf(big), '');
  });

  test('a revoked token stops working', async () => {
    const app = await newApp(s, 'revoked');
    const t = (await s.ssh(s.admin, 'tokens:create short')).stdout.split('\n')[1]!;
    assert.equal((await fetch(`${base}/${app}.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('x', t) } })).status, 200);
    await s.ssh(s.admin, 'tokens:revoke short');
    assert.equal((await fetch(`${base}/${app}.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('x', t) } })).status, 401);
  });

  test('a push over the size limit is refused and writes nothing', async () => {
    const big = await newApp(s, 'big');
    const bigwd = await s.workRepo({ 'blob.bin': randomBytes(3 * 1024 * 1024) });
    const r = await s.git(['push', s.httpRemote(big, token), 'main'], { cwd: bigwd });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /remote: fatal: pack exceeds maximum allowed size/);
    assert.equal(await mainOf(big), '');
  });
});
