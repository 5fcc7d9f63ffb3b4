import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeKey, newApp, remoteLines, startTestServer, uniqueAppName, useControls, type TestServer } from '../support/harness.ts';
import { gitSpawns } from '../support/spawns.ts';

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

// Each test makes its own apps and pushes what it needs itself.
describe('git over HTTP (smart HTTP behind token auth)', () => {
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

  test('a push starts git twice for the transport: the advertisement and the push, with no CGI in between', async () => {
    const app = await newApp(s, 'spawns');
    const wd = await work();
    // A postBuffer this small makes git probe (one flush packet) before sending the pack.
    const { result: push, commands } = await gitSpawns(() => s.git(['-c', 'http.postBuffer=1024', 'push', s.httpRemote(app, token), 'main'], { cwd: wd }));
    assert.equal(push.exitCode, 0, push.stderr);
    assert.ok(remoteLines(push.stderr).includes('=====> Application deployed:'), push.stderr);
    // `push` is the test's own client; the probe is answered without git; the pipeline lists and
    // archives the tree.
    assert.deepEqual(commands.sort(), ['archive', 'ls-tree', 'push', 'receive-pack', 'receive-pack']);
  });

  test("a push's probe is answered as receive-pack would, without starting git", async () => {
    const app = await newApp(s, 'probe');
    const { result: res, commands } = await gitSpawns(async () => {
      const r = await fetch(`${base}/${app}.git/git-receive-pack`, {
        method: 'POST', headers: { authorization: basic('x', token), 'content-type': 'application/x-git-receive-pack-request' }, body: '0000',
      });
      return { status: r.status, type: r.headers.get('content-type'), cache: r.headers.get('cache-control'), body: await r.text() };
    });
    assert.deepEqual(res, { status: 200, type: 'application/x-git-receive-pack-result', cache: 'no-cache, max-age=0, must-revalidate', body: '' });
    assert.deepEqual(commands, []);
    assert.equal(await mainOf(app), '');
  });

  test('a POST of another content type is refused with 415', async () => {
    const app = await newApp(s, 'ctype');
    const res = await fetch(`${base}/${app}.git/git-upload-pack`, { method: 'POST', headers: { authorization: basic('x', token), 'content-type': 'text/plain' }, body: '0000' });
    assert.equal(res.status, 415);
    assert.match(await res.text(), /^Unsupported media type: a POST to git-upload-pack carries application\/x-git-upload-pack-request\.\n$/);
  });

  test('a gzip-compressed fetch request is inflated for upload-pack, and one that inflates too far is refused', async () => {
    const { app } = await deployedApp('gzip');
    const head = await mainOf(app);
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const headers = { authorization: basic('x', token), 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' };
    // Protocol v0: one want, then done; upload-pack answers NAK and the pack.
    const want = gzipSync(`${pkt(`want ${head}\n`)}0000${pkt('done\n')}`);
    const res = await fetch(`${base}/${app}.git/git-upload-pack`, { method: 'POST', headers, body: want });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-result');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.subarray(0, 8).toString(), '0008NAK\n');
    assert.equal(body.subarray(8, 12).toString(), 'PACK');
    // The same want 230,000 times: 11.5 MB in some 30 KB, more than a fetch negotiation may inflate to.
    const bomb = await fetch(`${base}/${app}.git/git-upload-pack`, { method: 'POST', headers, body: gzipSync(pkt(`want ${head}\n`).repeat(230_000)) });
    assert.equal(bomb.status, 413);
    assert.match(await bomb.text(), /inflates past the limit/);
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
