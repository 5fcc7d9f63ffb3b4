import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, remoteLines, startTestServer, type TestServer } from '../support/harness.ts';

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

describe('git over HTTP (git http-backend behind token auth)', () => {
  let s: TestServer;
  let token: string;
  let devToken: string;
  let wd: string;
  let base: string;
  before(async () => {
    s = await startTestServer({ SLIPWAY_MAX_PUSH_MB: '2' });
    base = `http://127.0.0.1:${s.slipway.httpPort}`;
    for (const app of ['myapp', 'other', 'big']) await s.ssh(s.admin, `apps:create ${app}`);
    token = (await s.ssh(s.admin, 'tokens:create ci')).stdout.split('\n')[1]!;
    const dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
    await s.ssh(s.admin, 'access:grant other dev');
    devToken = (await s.ssh(dev, 'tokens:create devtok')).stdout.split('\n')[1]!;
    wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  });
  after(() => s.close());

  test('push with a token runs the same pipeline and shows the same remote: lines', async () => {
    const r = await s.git(['push', s.httpRemote('myapp', token), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    assert.ok(lines.some((l) => /^-----> Building myapp \([0-9a-f]{7}\) with heroku\/builder:24$/.test(l)), lines.join('\n'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.equal(lines[at + 1], '       http://myapp.apps.test');
  });

  test('clone and fetch with a token', async () => {
    const dest = join(s.dir, 'httpclone');
    const r = await s.git(['clone', '-q', s.httpRemote('myapp', token), dest]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(existsSync(join(dest, 'index.js')));
    assert.equal((await s.git(['fetch', '-q', 'origin'], { cwd: dest })).exitCode, 0);
  });

  test('a failing build rejects an HTTP push too', async () => {
    s.controls.buildFailure = 'npm ci failed: see the build log';
    await s.git(['commit', '-q', '--allow-empty', '-m', 'x'], { cwd: wd });
    const r = await s.git(['push', s.httpRemote('myapp', token), 'main'], { cwd: wd });
    s.controls.buildFailure = undefined;
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     npm ci failed: see the build log'));
  });

  test('no credentials, a bad token, or another scheme get 401 on every route', async () => {
    const paths = ['/myapp.git/info/refs?service=git-upload-pack', '/myapp.git/info/refs?service=git-receive-pack', '/nope.git/info/refs?service=git-upload-pack', '/', '/myapp.git/HEAD'];
    for (const p of paths) {
      for (const auth of [undefined, basic('x', 'slw_wrong'), basic('x', ''), `Bearer ${token}`, `Basic ${token}`]) {
        const res = await fetch(base + p, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, 401, `${p} ${auth}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="Slipway"/);
      }
    }
  });

  test('a direct unauthenticated POST to git-receive-pack changes nothing', async () => {
    const before = (await s.git(['--git-dir', join(s.dir, 'data/repos/myapp.git'), 'rev-parse', 'main'])).stdout;
    const body = Buffer.from(`00980000000000000000000000000000000000000000 ${'1'.repeat(40)} refs/heads/main\0 report-status\n0000`);
    const res = await fetch(`${base}/myapp.git/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body });
    assert.equal(res.status, 401);
    assert.equal((await s.git(['--git-dir', join(s.dir, 'data/repos/myapp.git'), 'rev-parse', 'main'])).stdout, before);
  });

  test('only the smart protocol is served; dumb file paths are 404 even with a token', async () => {
    for (const p of ['/myapp.git/HEAD', '/myapp.git/config', '/myapp.git/objects/info/packs', '/myapp.git/info/refs', '/myapp.git/info/refs?service=git-upload-archive', '/../etc/passwd', '/myapp.git/../../slipway.db']) {
      const res = await fetch(base + p, { headers: { authorization: basic('x', token) } });
      assert.equal(res.status, 404, p);
    }
    const get = await fetch(`${base}/myapp.git/git-upload-pack`, { headers: { authorization: basic('x', token) } });
    assert.equal(get.status, 404);
  });

  test('requests never create repositories', async () => {
    const res = await fetch(`${base}/newapp.git/info/refs?service=git-receive-pack`, { headers: { authorization: basic('x', token) } });
    assert.equal(res.status, 404);
    const push = await s.git(['push', s.httpRemote('newapp', token), 'main'], { cwd: wd });
    assert.notEqual(push.exitCode, 0);
    assert.ok(!existsSync(join(s.dir, 'data/repos/newapp.git')));
  });

  test("a deployer's token reaches only granted apps", async () => {
    const denied = await s.git(['push', s.httpRemote('myapp', devToken), 'main'], { cwd: wd });
    assert.notEqual(denied.exitCode, 0);
    assert.match(denied.stderr, /not found|404/i);
    const ok = await s.git(['push', s.httpRemote('other', devToken), 'main'], { cwd: wd });
    assert.equal(ok.exitCode, 0, ok.stderr);
  });

  test('a declared body over the limit gets 413 before anything runs', async () => {
    const res = await fetch(`${base}/big.git/git-receive-pack`, {
      method: 'POST',
      headers: { authorization: basic('x', token), 'content-type': 'application/x-git-receive-pack-request' },
      body: randomBytes(4 * 1024 * 1024),
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /larger than the 2 MB limit/);
    assert.equal((await s.git(['--git-dir', join(s.dir, 'data/repos/big.git'), 'rev-parse', '--verify', '--quiet', 'main'])).stdout, '');
  });

  test('a revoked token stops working', async () => {
    const t = (await s.ssh(s.admin, 'tokens:create short')).stdout.split('\n')[1]!;
    assert.equal((await fetch(`${base}/myapp.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('x', t) } })).status, 200);
    await s.ssh(s.admin, 'tokens:revoke short');
    assert.equal((await fetch(`${base}/myapp.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('x', t) } })).status, 401);
  });

  test('a push over the size limit is refused and writes nothing', async () => {
    const bigwd = await s.workRepo({ 'blob.bin': randomBytes(3 * 1024 * 1024) }, 'bighttp');
    const r = await s.git(['push', s.httpRemote('big', token), 'main'], { cwd: bigwd });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /remote: fatal: pack exceeds maximum allowed size/);
    assert.equal((await s.git(['--git-dir', join(s.dir, 'data/repos/big.git'), 'rev-parse', '--verify', '--quiet', 'main'])).stdout, '');
  });
});
