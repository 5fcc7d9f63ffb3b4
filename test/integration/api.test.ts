// The HTTP API against a real server (fake builder and deployer): auth and scopes, the error
// shape and limits, each route's happy path, and that each listing is the object `--json` prints
// over SSH (real OpenSSH).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken, rawConnection } from '../support/api-client.ts';

/** Runs an SSH command with `--json` and parses what it prints. */
async function sshJson(s: TestServer, key: TestKey, command: string): Promise<unknown> {
  const r = await s.ssh(key, `${command} --json`);
  assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Pushes a one-file app over SSH (the fake builder and deployer make it a release). */
async function push(s: TestServer, app: string, content: string): Promise<void> {
  const wd = await s.workRepo({ 'index.js': content }, `${app}-${content.length}-${Date.now()}`);
  const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
  assert.equal(r.exitCode, 0, r.stderr);
}

describe('HTTP API: auth, scopes, errors and limits', () => {
  let s: TestServer;
  let dev: TestKey;
  /** Tokens: the admin key's (admin, read), the deployer key's (deploy, read). */
  const t = { admin: '', adminRead: '', dev: '', devRead: '' };
  let mine: string;
  let theirs: string;

  before(async () => {
    s = await startTestServer({ SLIPWAY_API_BODY_TIMEOUT_S: '2' });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    mine = await newApp(s, 'api-mine');
    theirs = await newApp(s, 'api-theirs');
    assert.equal((await s.ssh(s.admin, `access:grant ${mine} ${dev.name}`)).exitCode, 0);
    t.admin = await makeToken(s, s.admin, 'admin-all');
    t.adminRead = await makeToken(s, s.admin, 'admin-read', 'read');
    t.dev = await makeToken(s, dev, 'dev-deploy');
    t.devRead = await makeToken(s, dev, 'dev-read', 'read');
  });
  after(() => s.close());

  test('whoami says the key and the effective scope of each token', async () => {
    assert.deepEqual((await api(s, 'GET', '/whoami', { token: t.admin })).json, { name: 'admin', admin: true, scope: 'admin' });
    assert.deepEqual((await api(s, 'GET', '/whoami', { token: t.adminRead })).json, { name: 'admin', admin: false, scope: 'read' });
    assert.deepEqual((await api(s, 'GET', '/whoami', { token: t.dev })).json, { name: 'dev', admin: false, scope: 'deploy' });
    const list = await sshJson(s, dev, 'tokens:list') as { name: string; scope: string }[];
    assert.deepEqual(list.map((x) => [x.name, x.scope]), [['dev-deploy', 'deploy'], ['dev-read', 'read']]);
  });

  test('a deployer key cannot make an admin token', async () => {
    const r = await s.ssh(dev, 'tokens:create sneaky --scope admin');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /not an admin, so its tokens may have the read or deploy scope only/);
    const bad = await s.ssh(dev, 'tokens:create sneaky --scope root');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"?root"? is not a scope; use one of read, deploy, admin\./);
  });

  test('no token, a wrong token or Basic credentials: 401 with a Bearer challenge and the error shape', async () => {
    for (const headers of [{}, { authorization: 'Bearer slw_nope' } as Record<string, string>, { authorization: 'Basic ' + Buffer.from(`x:${t.admin}`).toString('base64') }]) {
      const r = await api(s, 'GET', '/apps', { headers });
      assert.equal(r.status, 401, r.text);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="Slipway"/);
      const e = apiError(r);
      assert.equal(e.code, 'unauthorized');
      assert.equal(e.id, undefined);
      assert.match(e.message, /^[A-Z].*\.$/);
    }
  });

  test('a removed key\'s tokens stop at once', async () => {
    const gone = await makeKey(s.dir, 'gone');
    assert.equal((await s.ssh(s.admin, `keys:add ${gone.name}`, gone.pub)).exitCode, 0);
    const token = await makeToken(s, gone, 'soon-gone');
    assert.equal((await api(s, 'GET', '/whoami', { token })).status, 200);
    assert.equal((await s.ssh(s.admin, `keys:remove ${gone.name}`)).exitCode, 0);
    assert.equal((await api(s, 'GET', '/whoami', { token })).status, 401);
  });

  test('a read token may only look: a change is 403 and nothing is stored', async () => {
    const r = await api(s, 'PATCH', `/apps/${mine}/config`, { token: t.devRead, body: { set: { A: '1' } } });
    assert.equal(r.status, 403);
    assert.deepEqual(apiError(r), { message: `This token has the read scope; PATCH /api/v1/apps/:app/config needs deploy.`, code: 'forbidden' });
    assert.deepEqual(await sshJson(s, s.admin, `config ${mine}`), {});
    assert.equal((await api(s, 'GET', `/apps/${mine}/config`, { token: t.devRead })).status, 200);
  });

  test('a read token cannot push over HTTP', async () => {
    const wd = await s.workRepo({ 'a.txt': 'x' }, 'read-push');
    const r = await s.git(['push', s.httpRemote(mine, t.devRead), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /403/);
  });

  test("another tenant's app is 404 exactly like an app that does not exist", async () => {
    const foreign = await api(s, 'GET', `/apps/${theirs}/config`, { token: t.dev });
    const unknown = await api(s, 'GET', '/apps/no-such-app/config', { token: t.dev });
    assert.equal(foreign.status, 404);
    assert.equal(unknown.status, 404);
    assert.equal(apiError(foreign).message, `App "${theirs}" does not exist, or your key has no access to it.`);
    assert.equal(apiError(unknown).message, 'App "no-such-app" does not exist, or your key has no access to it.');
    // The body is not read either: a change to it is refused the same way.
    const write = await api(s, 'PATCH', `/apps/${theirs}/config`, { token: t.dev, body: { set: { A: '1' } } });
    assert.equal(write.status, 404);
    assert.deepEqual(await sshJson(s, s.admin, `config ${theirs}`), {});
    const invalid = await api(s, 'GET', '/apps/Not_An_App/config', { token: t.admin });
    assert.equal(invalid.status, 404);
    assert.equal(apiError(invalid).code, 'not_found');
  });

  test('an unknown route is 404 in the error shape (after the token check)', async () => {
    const r = await api(s, 'GET', '/nothing/here', { token: t.admin });
    assert.equal(r.status, 404);
    assert.deepEqual(apiError(r), { message: 'There is no API route GET /api/v1/nothing/here.', code: 'not_found' });
    assert.equal((await api(s, 'GET', '/nothing/here')).status, 401);
  });

  test('bad JSON is 400, values that fail validation are 422 in one sentence; nothing is stored', async () => {
    const bad = await api(s, 'PATCH', `/apps/${mine}/config`, { token: t.dev, body: '{"set": {"A": ' });
    assert.equal(bad.status, 400);
    assert.deepEqual(apiError(bad), { message: 'The request body is not valid JSON.', code: 'bad_request' });
    const cases: [unknown, RegExp][] = [
      [{ set: { '1BAD': 'x', GOOD: 'y' } }, /1BAD/],
      [{ set: { A: 5 } }, /^Invalid body\.set\.A: /],
      [{ sett: { A: 'x' } }, /^Invalid body/],
      [{ set: { A: 'x' }, unset: ['A'] }, /A is both set and unset/],
      [{}, /Nothing to change/],
    ];
    for (const [body, message] of cases) {
      const r = await api(s, 'PATCH', `/apps/${mine}/config`, { token: t.dev, body });
      assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
      const e = apiError(r);
      assert.equal(e.code, 'invalid');
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /\n/);
    }
    assert.deepEqual(await sshJson(s, s.admin, `config ${mine}`), {});
  });

  test('an oversized body is 413 and the connection is closed without reading it', async () => {
    const r = await api(s, 'PATCH', `/apps/${mine}/config`, { token: t.dev, body: { set: { BIG: 'x'.repeat(70 * 1024) } } });
    assert.equal(r.status, 413);
    assert.equal(apiError(r).code, 'too_large');
    const c = await rawConnection(s);
    c.sock.write(`PATCH /api/v1/apps/${mine}/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.dev}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"set":`);
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 413 /);
    assert.match(c.received(), /\r\nconnection: close\r\n/i);
    assert.deepEqual(await sshJson(s, s.admin, `config ${mine}`), {});
  });

  test('a body that trickles in is cut off (408) after SLIPWAY_API_BODY_TIMEOUT_S, nothing stored', async () => {
    const c = await rawConnection(s);
    c.sock.write(`PATCH /api/v1/apps/${mine}/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.dev}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"set":`);
    // One byte every 200 ms would take 20 s for the 100 bytes; the server must not wait that long.
    let sent = 0;
    const trickle = setInterval(() => { if (!c.sock.destroyed && sent++ < 90) c.sock.write(' '); }, 200);
    try {
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
    assert.ok(sent < 90, 'the server read the whole trickle');
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    assert.match(c.received(), /did not arrive within 2 s/);
    assert.deepEqual(await sshJson(s, s.admin, `config ${mine}`), {});
  });

  test('CORS is off unless configured: no Access-Control headers', async () => {
    const r = await api(s, 'GET', '/whoami', { token: t.admin, headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const pre = await api(s, 'OPTIONS', '/whoami', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  });

  test('the OpenAPI document is served without a token', async () => {
    const r = await api(s, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/apps/{app}/config']);
  });
});

describe('HTTP API: failed-auth throttling and CORS when configured', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startTestServer({ SLIPWAY_API_CORS_ORIGINS: 'https://dash.example.com' });
    token = await makeToken(s, s.admin, 'ci');
  });
  after(() => s.close());

  test('repeated wrong tokens from one address get 429 with Retry-After; a right token still works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await api(s, 'GET', '/whoami', { token: 'slw_wrong' })).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), 429, 429]);
    const r = await api(s, 'GET', '/whoami', { token: 'slw_wrong' });
    assert.equal(r.status, 429);
    assert.equal(apiError(r).code, 'too_many');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal((await api(s, 'GET', '/whoami', { token })).status, 200);
    // The throttle is shared with git over HTTP: git's wrong tokens are slowed there too.
    const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/x.git/info/refs?service=git-upload-pack`, { headers: { authorization: 'Basic ' + Buffer.from('x:slw_wrong').toString('base64') } });
    await res.text();
    assert.equal(res.status, 401);
  });

  test('a configured origin gets CORS headers and a preflight answer; others do not', async () => {
    const ok = await api(s, 'GET', '/whoami', { token, headers: { origin: 'https://dash.example.com' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    const pre = await api(s, 'OPTIONS', '/apps', { headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const other = await api(s, 'GET', '/whoami', { token, headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
