// The HTTP API's routes against a real server (fake builder and deployer): changes as jobs (202,
// events, 409 on a held lock, cancel, a leaving client), logs, every route's happy path, and that
// each listing is the object its SSH command prints with --json (real OpenSSH).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { holdRollouts, makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken, push, readEvents, sshJson } from '../support/api-client.ts';

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
    assert.equal(job.kind, 'config:set');
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
    const gate = holdRollouts(t, s);
    const first = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { HELD: '1' } } });
    assert.equal(first.status, 202, first.text);
    await gate.reached;
    const second = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { OTHER: '1' } } });
    assert.equal(second.status, 409, second.text);
    const e = apiError(second);
    assert.equal(e.code, 'conflict');
    assert.match(e.message, new RegExp(`^Another deploy of ${app} is in progress \\(config:set by dev, since `));
    gate.open();
    assert.equal((await ended((first.json as { job: Job }).job.id)).status, 'succeeded');
    const config = await sshJson(s, s.admin, `config ${app}`) as Record<string, string>;
    assert.equal(config.HELD, '1');
    assert.equal(config.OTHER, undefined);
  });

  test('a client that goes away mid-job does not cancel it', async (t) => {
    const gate = holdRollouts(t, s);
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

  test("a job's event stream ends when the follower's key loses the app; the job goes on", async (t) => {
    const gate = holdRollouts(t, s);
    const watcher = await makeKey(s.dir, 'watcher');
    assert.equal((await s.ssh(s.admin, `keys:add ${watcher.name}`, watcher.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${watcher.name}`)).exitCode, 0);
    const watcherToken = await makeToken(s, watcher, 'watch', 'read');
    const r = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { WATCHED: '1' } } });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    await gate.reached;
    const stream = await readEvents(s, `/jobs/${job.id}/events`, watcherToken, () => false, () => {
      void s.ssh(s.admin, `access:revoke ${app} ${watcher.name}`);
    });
    assert.ok(stream.ended);
    const last = stream.events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.match(JSON.parse(last.data).error.message, /no longer has access/);
    assert.equal(((await api(s, 'GET', `/jobs/${job.id}`, { token })).json as Job).status, 'running');
    gate.open();
    assert.equal((await ended(job.id)).status, 'succeeded');
  });

  test('POST /jobs/ID/cancel stops a running job; a finished one is 409', async (t) => {
    const gate = holdRollouts(t, s);
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
    assert.equal(apiError(hidden).message, `There is no job "${job.id}", or your key has no access to its app.`);
    assert.equal(apiError(missing).message, 'There is no job "aaaaaaaaaaaa", or your key has no access to its app.');
    assert.equal(apiError(missing).code, 'not_found');
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
    const builds = await sshJson(s, dev, `builds ${app}`) as { id: number }[];
    const pairs: [string, string][] = [
      ['/apps', 'apps:list'],
      [`/apps/${app}`, `apps:info ${app}`],
      [`/apps/${app}/config`, `config ${app}`],
      [`/apps/${app}/releases`, `releases ${app}`],
      [`/apps/${app}/releases/1`, `releases:info ${app} v1`],
      [`/apps/${app}/processes`, `ps ${app}`],
      [`/apps/${app}/jobs`, `jobs ${app}`],
      [`/apps/${app}/domains`, `domains ${app}`],
      [`/apps/${app}/certs`, `certs ${app}`],
      [`/apps/${app}/checks`, `checks ${app}`],
      [`/apps/${app}/resources`, `resource:report ${app}`],
      [`/apps/${app}/quota`, `resource:quota ${app}`],
      [`/apps/${app}/egress`, `egress ${app}`],
      [`/apps/${app}/builds`, `builds ${app}`],
      ['/tokens', 'tokens:list'],
    ];
    for (const [path, command] of pairs) {
      const r = await api(s, 'GET', path, { token: readToken });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.deepEqual(r.json, await sshJson(s, dev, command), path);
    }
    assert.ok(builds.length >= 2);
    // builds:output APP ID and its route say the same: the log, or the same one sentence (the fake builder keeps no log).
    const output = await api(s, 'GET', `/apps/${app}/builds/${builds[0]!.id}/output`, { token: readToken });
    const overSsh = await s.ssh(dev, `builds:output ${app} ${builds[0]!.id}`);
    if (overSsh.exitCode === 0) assert.equal(output.text, overSsh.stdout);
    else assert.ok(overSsh.stderr.includes(apiError(output).message), `${overSsh.stderr} / ${output.text}`);
    assert.equal(output.status, overSsh.exitCode === 0 ? 200 : 422);
    const adminToken = await makeToken(s, s.admin, 'admin-parity');
    assert.deepEqual((await api(s, 'GET', '/keys', { token: adminToken })).json, await sshJson(s, s.admin, 'keys:list'));
  });

  test('settings: add and remove a domain, a check, resource limits; each rolls out as a job', async () => {
    const add = await api(s, 'POST', `/apps/${app}/domains`, { token, body: { host: 'www.api-test.example' } });
    assert.equal(add.status, 202, add.text);
    assert.equal((await ended((add.json as { job: Job }).job.id)).status, 'succeeded');
    assert.deepEqual((await sshJson(s, dev, `domains ${app}`) as { custom: string[] }).custom, ['www.api-test.example']);
    const bad = await api(s, 'POST', `/apps/${app}/domains`, { token, body: { host: 'not a host' } });
    assert.equal(bad.status, 422);
    const del = await api(s, 'DELETE', `/apps/${app}/domains/www.api-test.example`, { token });
    assert.equal(del.status, 202, del.text);
    assert.equal((await ended((del.json as { job: Job }).job.id)).status, 'succeeded');
    assert.deepEqual((await sshJson(s, dev, `domains ${app}`) as { custom: string[] }).custom, []);

    const check = await api(s, 'POST', `/apps/${app}/checks`, { token, body: { process: 'web', type: 'readiness', path: '/health' } });
    assert.equal(check.status, 202, check.text);
    assert.equal((await ended((check.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await sshJson(s, dev, `checks ${app}`) as Record<string, { path: string }[]>).web?.[0]?.path, '/health');
    const unset = await api(s, 'DELETE', `/apps/${app}/checks/web/readiness`, { token });
    assert.equal(unset.status, 202, unset.text);
    assert.equal((await ended((unset.json as { job: Job }).job.id)).status, 'succeeded');

    const limit = await api(s, 'POST', `/apps/${app}/resources/limit`, { token, body: { memory: '300Mi' } });
    assert.equal(limit.status, 202, limit.text);
    assert.equal((await ended((limit.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await sshJson(s, dev, `resource:report ${app}`) as { defaults: { limits?: { memory?: string } } }).defaults.limits?.memory, '300Mi');
    const badLimit = await api(s, 'POST', `/apps/${app}/resources/limit`, { token, body: { memory: 'lots' } });
    assert.equal(badLimit.status, 422);
    const clear = await api(s, 'DELETE', `/apps/${app}/resources/limit`, { token });
    assert.equal(clear.status, 202, clear.text);
    assert.equal((await ended((clear.json as { job: Job }).job.id)).status, 'succeeded');
  });

  test('admin routes: a deploy token is 403; an admin token creates and destroys apps, keys, access, tokens', async () => {
    const refused = await api(s, 'POST', '/apps', { token, body: { name: 'api-nope' } });
    assert.equal(refused.status, 403);
    assert.equal((await api(s, 'GET', '/keys', { token })).status, 403);
    const adminToken = await makeToken(s, s.admin, 'admin-crud');
    // An admin key's token with the deploy scope reaches every app, as its key does, but has
    // none of the admin's other powers; its read token sees every app and changes none.
    const adminDeploy = await makeToken(s, s.admin, 'admin-deploy', 'deploy');
    assert.equal((await api(s, 'POST', '/apps', { token: adminDeploy, body: { name: 'api-nope' } })).status, 403);
    assert.equal((await api(s, 'GET', '/keys', { token: adminDeploy })).status, 403);
    const ciChange = await api(s, 'PATCH', `/apps/${app}/config`, { token: adminDeploy, body: { set: { FROM_ADMIN_CI: '1' } } });
    assert.equal(ciChange.status, 202, ciChange.text);
    assert.equal((await ended((ciChange.json as { job: Job }).job.id)).status, 'succeeded');
    const adminRead = await makeToken(s, s.admin, 'admin-look', 'read');
    assert.ok(((await api(s, 'GET', '/apps', { token: adminRead })).json as { name: string }[]).some((a) => a.name === app));
    assert.equal(((await api(s, 'GET', `/apps/${app}/config`, { token: adminRead })).json as Record<string, string>).FROM_ADMIN_CI, '1');
    assert.equal((await api(s, 'PATCH', `/apps/${app}/config`, { token: adminRead, body: { set: { NOPE: '1' } } })).status, 403);

    const created = await api(s, 'POST', '/apps', { token: adminToken, body: { name: 'api-made' } });
    assert.equal(created.status, 201, created.text);
    assert.equal((created.json as { name: string }).name, 'api-made');
    assert.equal((await api(s, 'POST', '/apps', { token: adminToken, body: { name: 'api-made' } })).status, 422);
    assert.equal((await api(s, 'POST', '/apps', { token: adminToken, body: { name: 'Bad_Name' } })).status, 422);

    const k = await makeKey(s.dir, 'api-key');
    const addKey = await api(s, 'POST', '/keys', { token: adminToken, body: { name: 'api-key', publicKey: k.pub.trim() } });
    assert.equal(addKey.status, 201, addKey.text);
    const grant = await api(s, 'POST', '/apps/api-made/access', { token: adminToken, body: { key: 'api-key' } });
    assert.equal(grant.status, 201, grant.text);
    assert.deepEqual((await sshJson(s, s.admin, 'apps:info api-made') as { access: string[] }).access, ['api-key']);

    const tok = await api(s, 'POST', '/tokens', { token, body: { name: 'from-api', scope: 'read' } });
    assert.equal(tok.status, 201, tok.text);
    const made = tok.json as { name: string; key: string; scope: string; token: string };
    assert.deepEqual([made.name, made.key, made.scope], ['from-api', 'dev', 'read']);
    assert.deepEqual((await api(s, 'GET', '/whoami', { token: made.token })).json, { name: 'dev', admin: false, scope: 'read' });
    // A read token cannot make tokens, and a deploy token cannot make an admin one.
    assert.equal((await api(s, 'POST', '/tokens', { token: made.token, body: { name: 'x' } })).status, 403);
    assert.equal((await api(s, 'POST', '/tokens', { token: adminDeploy, body: { name: 'escalate', scope: 'admin' } })).status, 403);
    assert.equal((await api(s, 'DELETE', '/tokens/from-api', { token })).status, 200);
    assert.equal((await api(s, 'GET', '/whoami', { token: made.token })).status, 401);

    assert.equal((await api(s, 'DELETE', '/apps/api-made/access/api-key', { token: adminToken })).status, 200);
    assert.equal((await api(s, 'DELETE', '/keys/api-key', { token: adminToken })).status, 200);
    const destroyed = await api(s, 'DELETE', '/apps/api-made', { token: adminToken });
    assert.equal(destroyed.status, 200, destroyed.text);
    assert.equal((await api(s, 'GET', '/apps/api-made', { token: adminToken })).status, 404);
  });

  test('certs (upload, remove, automatic off), quota, egress, stop and start', async () => {
    const adminToken = await makeToken(s, s.admin, 'admin-settings');
    const dir = mkdtempSync(join(tmpdir(), 'slipway-api-cert-'));
    const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=api',
      '-addext', `subjectAltName=DNS:${app}.apps.test`, '-keyout', keyFile, '-out', certFile]);
    assert.equal(made.exitCode, 0, made.stderr);
    const pem = readFileSync(certFile, 'utf8') + readFileSync(keyFile, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    const up = await api(s, 'POST', `/apps/${app}/certs`, { token, body: { pem } });
    assert.equal(up.status, 202, up.text);
    assert.equal((await ended((up.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await api(s, 'POST', `/apps/${app}/certs`, { token, body: { pem: 'not a certificate' } })).status, 422);
    const rm = await api(s, 'DELETE', `/apps/${app}/certs/${app}.apps.test`, { token });
    assert.equal(rm.status, 202, rm.text);
    assert.equal((await ended((rm.json as { job: Job }).job.id)).status, 'succeeded');
    const off = await api(s, 'PATCH', `/apps/${app}/certs`, { token, body: { auto: false } });
    assert.equal(off.status, 202, off.text);
    assert.equal((await ended((off.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await sshJson(s, dev, `certs ${app}`) as { auto: boolean }).auto, false);
    // This server has no ACME email: turning them on is refused in one sentence, nothing changed.
    const on = await api(s, 'PATCH', `/apps/${app}/certs`, { token, body: { auto: true } });
    assert.equal(on.status, 422, on.text);
    assert.match(apiError(on).message, /SLIPWAY_ACME_EMAIL/);
    assert.equal((await sshJson(s, dev, `certs ${app}`) as { auto: boolean }).auto, false);

    assert.equal((await api(s, 'PATCH', `/apps/${app}/quota`, { token, body: { pods: 8 } })).status, 403);
    const quota = await api(s, 'PATCH', `/apps/${app}/quota`, { token: adminToken, body: { pods: 8 } });
    assert.equal(quota.status, 202, quota.text);
    assert.equal((await ended((quota.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await sshJson(s, dev, `resource:quota ${app}`) as { pods: number }).pods, 8);

    assert.equal((await api(s, 'POST', `/apps/${app}/egress`, { token, body: { rule: '192.0.2.10:5432' } })).status, 403);
    const allow = await api(s, 'POST', `/apps/${app}/egress`, { token: adminToken, body: { rule: '192.0.2.10:5432' } });
    assert.equal(allow.status, 202, allow.text);
    assert.equal((await ended((allow.json as { job: Job }).job.id)).status, 'succeeded');
    assert.deepEqual((await api(s, 'GET', `/apps/${app}/egress`, { token })).json, await sshJson(s, dev, `egress ${app}`));
    assert.equal(((await api(s, 'GET', `/apps/${app}/egress`, { token })).json as unknown[]).length, 1);
    const deny = await api(s, 'DELETE', `/apps/${app}/egress?rule=192.0.2.10:5432`, { token: adminToken });
    assert.equal(deny.status, 202, deny.text);
    assert.equal((await ended((deny.json as { job: Job }).job.id)).status, 'succeeded');
    assert.deepEqual(await sshJson(s, dev, `egress ${app}`), []);

    for (const verb of ['stop', 'start']) {
      const r = await api(s, 'POST', `/apps/${app}/${verb}`, { token, body: { process: 'web' } });
      assert.equal(r.status, 202, r.text);
      assert.equal((await ended((r.json as { job: Job }).job.id)).status, 'succeeded');
      assert.equal((await sshJson(s, dev, `ps ${app}`) as { type: string; stopped: boolean }[]).find((p) => p.type === 'web')?.stopped, verb === 'stop');
    }
    const none = await api(s, 'POST', `/apps/${app}/stop`, { token, body: { process: 'nope' } });
    assert.equal(none.status, 422);
  });

  test('a change an app that never deployed cannot take is 422, not a job', async () => {
    const fresh = await newApp(s, 'api-fresh');
    assert.equal((await s.ssh(s.admin, `access:grant ${fresh} ${dev.name}`)).exitCode, 0);
    for (const [method, path, body] of [['POST', 'restart', undefined], ['POST', 'stop', undefined], ['POST', 'rebuild', undefined], ['POST', 'rollback', undefined], ['PATCH', 'formation', { web: 1 }]] as const) {
      const r = await api(s, method, `/apps/${fresh}/${path}`, { token, ...(body ? { body } : {}) });
      assert.equal(r.status, 422, `${path}: ${r.text}`);
      assert.equal(apiError(r).code, 'invalid');
    }
    assert.deepEqual((await api(s, 'GET', `/apps/${fresh}/jobs`, { token })).json, []);
    // A setting is only stored until the first deploy: 200/201 with what was stored, no job.
    const stored = await api(s, 'PATCH', `/apps/${fresh}/config`, { token, body: { set: { EARLY: 'yes' } } });
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(stored.json, { config: { EARLY: 'yes' } });
    const domain = await api(s, 'POST', `/apps/${fresh}/domains`, { token, body: { host: 'early.api-test.example' } });
    assert.equal(domain.status, 201, domain.text);
    assert.deepEqual(domain.json, { host: 'early.api-test.example' });
  });

  test('rebuild and unlock', async () => {
    const r = await api(s, 'POST', `/apps/${app}/rebuild`, { token });
    assert.equal(r.status, 202, r.text);
    const done = await ended((r.json as { job: Job }).job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const u = await api(s, 'POST', `/apps/${app}/unlock`, { token });
    assert.equal(u.status, 200);
    assert.deepEqual(u.json, { unlocked: false });
  });
});
