// The HTTP API against a real server (fake builder and deployer): auth and scopes, the error
// shape and limits, each route's happy path, and that each listing is the object `--json` prints
// over SSH (real OpenSSH).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken, rawConnection, readEvents } from '../support/api-client.ts';

/** Runs an SSH command with `--json` and parses what it prints. */
async function sshJson(s: TestServer, key: TestKey, command: string): Promise<unknown> {
  const r = await s.ssh(key, `${command} --json`);
  assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Pushes a one-file app over SSH (the fake builder and deployer make it a release). */
async function push(s: TestServer, app: string, content: string): Promise<void> {
  const wd = await s.workRepo({ 'index.js': content }, `${app}-${content.length}-${Date.now()}`);
  const r = await s.git(['push', '--force', s.sshRemote(app), 'main'], { cwd: wd });
  assert.equal(r.exitCode, 0, r.stderr);
}

describe('HTTP API: auth, scopes, errors and limits', { timeout: 120_000 }, () => {
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

type Job = { id: string; kind: string; app: string; by: string; status: string; release: number | null; error: string | null };

describe('HTTP API: changes as jobs, event streams, and the same objects as --json', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let token: string;
  let readToken: string;
  let app: string;

  /** Polls the job until it ended (bounded: 10 s). */
  async function ended(id: string): Promise<Job> {
    for (let i = 0; i < 200; i++) {
      const job = (await api(s, 'GET', `/jobs/${id}`, { token })).json as Job;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} did not end`);
  }

  /** A gate the fake deployer's rollouts wait at, and a promise that a rollout reached it. */
  function holdRollouts(t: import('node:test').TestContext): { open: () => void; reached: Promise<void> } {
    let open!: () => void;
    let reached!: () => void;
    const r = new Promise<void>((resolve) => { reached = resolve; });
    useControls(t, s, { deployGate: new Promise<void>((resolve) => { open = resolve; }), onDeployStart: () => reached() });
    t.after(() => open());
    return { open, reached: r };
  }

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'api-jobs');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    token = await makeToken(s, dev, 'dev-deploy');
    readToken = await makeToken(s, dev, 'dev-read', 'read');
    await push(s, app, 'one');
    await push(s, app, 'two!');
  });
  after(() => s.close());

  test('PATCH config on a running app is 202 with a job; its events are the transcript, then end with the job', async () => {
    const r = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { GREETING: 'hello world' } } });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    assert.match(job.kind, /config/);
    assert.equal(job.app, app);
    assert.equal(job.by, 'dev');
    const stream = await readEvents(s, `/jobs/${job.id}/events`, readToken);
    assert.equal(stream.status, 200);
    assert.match(stream.type ?? '', /^text\/event-stream/);
    assert.ok(stream.ended, 'the server ended the stream');
    const lines = stream.events.filter((e) => e.event === 'line').map((e) => e.data);
    assert.ok(lines.some((l) => l.includes('web: 1/1 ready')), lines.join('\n'));
    const last = stream.events.at(-1)!;
    assert.equal(last.event, 'end');
    const final = JSON.parse(last.data) as Job;
    assert.equal(final.status, 'succeeded');
    assert.equal(final.release, 3);
    assert.deepEqual(await sshJson(s, s.admin, `config ${app}`), { GREETING: 'hello world' });
    // The same job, the same object as jobs:info --json; its transcript as text is the same lines.
    assert.deepEqual((await api(s, 'GET', `/jobs/${job.id}`, { token })).json, await sshJson(s, dev, `jobs:info ${job.id}`));
    const text = await api(s, 'GET', `/jobs/${job.id}/output`, { token: readToken });
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(text.text, lines.join('\n') + '\n');
    // A finished job's stream replays it and ends.
    const again = await readEvents(s, `/jobs/${job.id}/events`, token);
    assert.deepEqual(again.events.filter((e) => e.event === 'line').map((e) => e.data), lines);
    assert.equal(again.events.at(-1)!.event, 'end');
  });

  test('restart:false only stores (200) and starts no job', async (t) => {
    const before = (await api(s, 'GET', `/apps/${app}/jobs`, { token })).json as Job[];
    const r = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { QUIET: '1' }, restart: false } });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { config: Record<string, string> }).config.QUIET, '1');
    assert.equal(((await api(s, 'GET', `/apps/${app}/jobs`, { token })).json as Job[]).length, before.length);
    t.after(() => s.ssh(s.admin, `config:unset ${app} QUIET --no-restart`));
  });

  test('a held lock is 409 with the holder; nothing is stored', async (t) => {
    const gate = holdRollouts(t);
    const first = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { HELD: '1' } } });
    assert.equal(first.status, 202, first.text);
    await gate.reached;
    const second = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { OTHER: '1' } } });
    assert.equal(second.status, 409, second.text);
    const e = apiError(second);
    assert.equal(e.code, 'conflict');
    assert.match(e.message, new RegExp(`^Another deploy of ${app} is in progress \\(config change by dev, since `));
    gate.open();
    assert.equal((await ended((first.json as { job: Job }).job.id)).status, 'succeeded');
    const config = await sshJson(s, s.admin, `config ${app}`) as Record<string, string>;
    assert.equal(config.HELD, '1');
    assert.equal(config.OTHER, undefined);
  });

  test('a client that goes away mid-job does not cancel it', async (t) => {
    const gate = holdRollouts(t);
    const r = await api(s, 'PATCH', `/apps/${app}/formation`, { token, body: { web: 2 } });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    await gate.reached;
    // A follower reads the first line and leaves (a browser tab closed).
    const partial = await readEvents(s, `/jobs/${job.id}/events`, token, (e) => e.event === 'line');
    assert.equal(partial.ended, false);
    assert.equal(((await api(s, 'GET', `/jobs/${job.id}`, { token })).json as Job).status, 'running');
    gate.open();
    const done = await ended(job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.equal((await sshJson(s, dev, `ps ${app}`) as { type: string; desired: number }[]).find((p) => p.type === 'web')?.desired, 2);
  });

  test('POST /jobs/ID/cancel stops a running job; a finished one is 409', async (t) => {
    const gate = holdRollouts(t);
    const r = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { CANCELLED: '1' } } });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    await gate.reached;
    assert.equal((await api(s, 'POST', `/jobs/${job.id}/cancel`, { token: readToken })).status, 403);
    const c = await api(s, 'POST', `/jobs/${job.id}/cancel`, { token });
    assert.equal(c.status, 200, c.text);
    assert.equal((c.json as Job).status, 'cancelled');
    const again = await api(s, 'POST', `/jobs/${job.id}/cancel`, { token });
    assert.equal(again.status, 409);
    assert.equal(apiError(again).code, 'conflict');
    assert.equal((await sshJson(s, s.admin, `config ${app}`) as Record<string, string>).CANCELLED, undefined, 'the change was taken back');
  });

  test('rollback is 202; the job ends with the old release running again', async () => {
    const r = await api(s, 'POST', `/apps/${app}/rollback`, { token, body: { version: 1 } });
    assert.equal(r.status, 202, r.text);
    const done = await ended((r.json as { job: Job }).job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const releases = (await api(s, 'GET', `/apps/${app}/releases`, { token })).json as { version: number; description: string }[];
    assert.match(releases[0]!.description, /Rollback to v1/);
    assert.equal(done.release, releases[0]!.version);
    const bad = await api(s, 'POST', `/apps/${app}/rollback`, { token, body: { version: 99 } });
    assert.equal(bad.status, 422);
    assert.match(apiError(bad).message, /v99/);
  });

  test('a job of an app the key cannot use is 404, as an id that does not exist', async () => {
    const other = await newApp(s, 'api-other');
    await push(s, other, 'other');
    const adminToken = await makeToken(s, s.admin, `admin-${other}`);
    const r = await api(s, 'POST', `/apps/${other}/restart`, { token: adminToken });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    const hidden = await api(s, 'GET', `/jobs/${job.id}`, { token });
    const missing = await api(s, 'GET', '/jobs/aaaaaaaaaaaa', { token });
    assert.equal(hidden.status, 404);
    assert.deepEqual(apiError(hidden), apiError(missing));
    assert.equal((await readEvents(s, `/jobs/${job.id}/events`, token)).status, 404);
  });

  test('logs: recent lines as text; follow=1 streams events and ends when the key loses the app', async (t) => {
    const text = await api(s, 'GET', `/apps/${app}/logs?tail=5`, { token: readToken });
    assert.equal(text.status, 200, text.text);
    assert.equal(text.text, `2000-01-01T00:00:00Z app[web.fake]: ${app} log (lines=5, follow=false)\n`);
    assert.equal((await api(s, 'GET', `/apps/${app}/logs?tail=0`, { token })).status, 422);
    useControls(t, s, { followLogs: true });
    const gone = await makeKey(s.dir, 'leaver');
    assert.equal((await s.ssh(s.admin, `keys:add ${gone.name}`, gone.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${gone.name}`)).exitCode, 0);
    const leaverToken = await makeToken(s, gone, 'leaver');
    const stream = await readEvents(s, `/apps/${app}/logs?follow=1&tail=3`, leaverToken, () => false, () => {
      // Once the stream is open: the key loses the app (access:revoke stops its running work).
      void s.ssh(s.admin, `access:revoke ${app} ${gone.name}`);
    });
    assert.equal(stream.status, 200);
    assert.match(stream.type ?? '', /^text\/event-stream/);
    assert.ok(stream.ended);
    assert.equal(stream.events[0]!.event, 'line');
    assert.equal(stream.events[0]!.data, `2000-01-01T00:00:00Z app[web.fake]: ${app} log (lines=3, follow=true)`);
    const last = stream.events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.match(last.data, /no longer has access/);
  });

  test('each listing is the object its SSH command prints with --json', async () => {
    const pairs: [string, string][] = [
      [`/apps/${app}/config`, `config ${app}`],
      [`/apps/${app}/releases`, `releases ${app}`],
      [`/apps/${app}/releases/1`, `releases:info ${app} v1`],
      [`/apps/${app}/processes`, `ps ${app}`],
      [`/apps/${app}/jobs`, `jobs ${app}`],
    ];
    for (const [path, command] of pairs) {
      const r = await api(s, 'GET', path, { token: readToken });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.deepEqual(r.json, await sshJson(s, dev, command), path);
    }
  });
});
