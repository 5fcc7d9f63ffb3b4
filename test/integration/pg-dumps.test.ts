// pg:backups:download, pg:backups:restore (an import of a pg_dump archive) and
// pg:credentials:rotate over the real SSH and HTTP servers, with the fake deployer at Slipway's
// Deployer interface: the archive's bytes unchanged both ways, imports into a new database only
// (bad or oversized archives leave nothing), the API's byte streams and uploads, and a rotation
// that changes the URL in one release and retires the old login only once no session uses it.
// On a real cluster with the real image: test/e2e/databases-dumps.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { deployedApp, sshOptions, startTestServer, useControls, type TestServer } from '../support/harness.ts';
import { makeToken } from '../support/api-client.ts';
import { retireLogins } from '../../server/ops/data/credentials.ts';

describe('pg dumps, imports and credential rotation', { timeout: 120_000 }, () => {
  let s: TestServer;
  let token: string;
  const config = async (app: string) => JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
  const addons = async (app: string) => (JSON.parse((await s.ssh(s.admin, `addons ${app} --json`)).stdout) as { name: string }[]).map((a) => a.name);
  /** `ssh … command` with `input` on its standard input; its standard output as bytes. */
  const sshBytes = (command: string, input: Buffer = Buffer.alloc(0)) => new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve, reject) => {
    const p = spawn('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
  const http = (path: string, init: RequestInit & { token?: string } = {}) => fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${init.token ?? token}`, ...(init.headers ?? {}) } });

  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17', SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8', SLIPWAY_DATABASE_IMPORT_MAX_BYTES: '1Mi' });
    token = await makeToken(s, s.admin, 'dumps', 'deploy');
  });
  after(() => s.close());

  test('pg:backups:download gives the archive byte for byte over SSH and HTTP; refusals are one sentence', async () => {
    const { app } = await deployedApp(s, 'dump');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    // Every byte value, and bytes that are not UTF-8: nothing on the way may treat it as text.
    const archive = Buffer.concat([Buffer.from('PGDMP'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000), Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])]);
    s.deployer.data.dumps.set(`${app}/postgres`, archive);
    const d = await sshBytes(`pg:backups:download ${app}`);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stderr, '');
    assert.ok(d.stdout.equals(archive), `SSH: ${d.stdout.length} bytes, ${archive.length} sent`);

    const res = await http(`/apps/${app}/addons/postgres/dump`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${app}-postgres.dump"`);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(archive), 'HTTP: the same bytes');

    const read = await makeToken(s, s.admin, 'dumps-read', 'read');
    assert.equal((await http(`/apps/${app}/addons/postgres/dump`, { token: read })).status, 403);
    const none = await http(`/apps/${app}/addons/nope/dump`);
    assert.equal(none.status, 422);
    assert.equal(((await none.json()) as { error: { message: string } }).error.message, `${app} has no database nope; addons ${app} lists its databases.`);
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const vk = await sshBytes(`pg:backups:download ${app} valkey`);
    assert.deepEqual([vk.code, vk.stdout.length, vk.stderr.trim()], [1, 0, '!     valkey is a Valkey database; pg:backups:download dumps a Postgres one.']);
  });

  test('pg:backups:restore puts the archive into a NEW database, promoted in one release; garbage and oversized archives leave nothing', async () => {
    const { app } = await deployedApp(s, 'import');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const before = await config(app);
    const deploys = s.deployer.rollout.deployed.filter((x) => x.app === app).length;
    const archive = Buffer.concat([Buffer.from('PGDMP'), randomBytes(300_000)]);
    const r = await sshBytes(`pg:backups:restore ${app} --to imported --promote`, archive);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /Restored the archive \(293Ki\) into imported, attached as DATABASE_URL in v\d+\n/);
    assert.ok(s.deployer.data.imports.get(`${app}/imported`)?.equals(archive), 'the importer got the archive unchanged');
    assert.ok(s.deployer.data.commands.includes(`${app}/imported import 1048576`), 'bounded by SLIPWAY_DATABASE_IMPORT_MAX_BYTES');
    const after = await config(app);
    assert.notEqual(after.DATABASE_URL, before.DATABASE_URL);
    assert.equal(after.POSTGRES_URL, before.DATABASE_URL, 'the database that held DATABASE_URL stays, as its own');
    assert.equal(s.deployer.rollout.deployed.filter((x) => x.app === app).length, deploys + 1, 'one release');
    assert.ok(!s.deployer.data.commands.some((c) => c.startsWith(`${app}/postgres import`)), 'the live database is never imported into');

    const garbage = await sshBytes(`pg:backups:restore ${app} --to junk`, randomBytes(5000));
    assert.equal(garbage.code, 1);
    assert.equal(garbage.stderr.trim(), '!     The archive could not be restored (this is not an archive pg_restore reads (pg_dump -Fc): input file does not appear to be a valid archive); junk was removed and nothing else changed.');
    const huge = await sshBytes(`pg:backups:restore ${app} --to huge`, Buffer.concat([Buffer.from('PGDMP'), randomBytes(2 * 2 ** 20)]));
    assert.equal(huge.code, 1);
    assert.equal(huge.stderr.trim(), '!     The archive is larger than 1Mi, the most huge takes (SLIPWAY_DATABASE_IMPORT_MAX_BYTES, and its size: --size); huge was removed and nothing else changed.');
    const empty = await sshBytes(`pg:backups:restore ${app} --to nothing`);
    assert.equal(empty.code, 1);
    assert.deepEqual(await addons(app), ['postgres', 'imported']);
    assert.deepEqual([...s.deployer.data.running.keys()].filter((k) => k.startsWith(`${app}/`)).sort(), [`${app}/imported`, `${app}/postgres`]);
    assert.deepEqual(await config(app), after, 'config as it was');
  });

  test('the API streams an upload into a new database; other routes refuse a byte body', async () => {
    const { app } = await deployedApp(s, 'upload');
    const archive = Buffer.concat([Buffer.from('PGDMP'), randomBytes(100_000)]);
    const res = await http(`/apps/${app}/addons/import?to=uploaded`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: archive });
    assert.equal(res.status, 201);
    const body = await res.json() as { name: string; bytes: number; attachment: string; promoted: boolean };
    assert.deepEqual([body.name, body.bytes, body.attachment, body.promoted], ['uploaded', archive.length, 'UPLOADED_URL', false]);
    assert.ok(s.deployer.data.imports.get(`${app}/uploaded`)?.equals(archive));
    assert.match((await config(app)).UPLOADED_URL!, /^postgres:\/\/u[0-9a-f]{12}:/);

    const bad = await http(`/apps/${app}/addons/import?to=bad`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(1000) });
    assert.equal(bad.status, 422);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /^The archive could not be restored/);
    const other = await http(`/apps/${app}/addons`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(1000) });
    assert.equal(other.status, 415);
    const noBody = await http(`/apps/${app}/addons/import`, { method: 'POST' });
    assert.equal(noBody.status, 422);
    assert.deepEqual(await addons(app), ['uploaded']);
  });

  test('pg:credentials:rotate changes the URL in one release and writes the Secret; the old login is retired only once no session uses it', async (t) => {
    const { app } = await deployedApp(s, 'rotate');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const old = new URL((await config(app)).DATABASE_URL!);
    const deploys = s.deployer.rollout.deployed.filter((x) => x.app === app).length;
    const r = await s.ssh(s.admin, `pg:credentials:rotate ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Rotated the credentials of postgres: DATABASE_URL changed in v\\d+\\nThe old login ${old.username} works until no session uses it`));
    const now = new URL((await config(app)).DATABASE_URL!);
    assert.match(now.username, /^u[0-9a-f]{12}$/);
    assert.notEqual(now.username, old.username);
    assert.notEqual(now.password, old.password);
    assert.equal(s.deployer.rollout.deployed.filter((x) => x.app === app).length, deploys + 1, 'one release');
    assert.deepEqual(s.deployer.data.logins.get(`${app}/postgres ${now.username}`), { owner: old.username, password: now.password }, 'the new login acts as the old one, its password on standard input');
    const secret = s.deployer.data.secrets.at(-1)!;
    assert.deepEqual([secret.name, secret.credentials.username, secret.credentials.password], ['postgres', now.username, now.password]);
    assert.ok(!s.deployer.data.commands.some((c) => c.includes(now.password)), 'the password is never an argument');

    // A session of the old login is open: the round keeps it; once there is none, it is retired.
    s.deployer.data.sessions.set(`${app}/postgres ${old.username}`, 1);
    await retireLogins(s.slipway.services, new AbortController().signal);
    assert.equal(s.deployer.data.noLogin.has(`${app}/postgres ${old.username}`), false);
    s.deployer.data.sessions.delete(`${app}/postgres ${old.username}`);
    await retireLogins(s.slipway.services, new AbortController().signal);
    assert.equal(s.deployer.data.noLogin.has(`${app}/postgres ${old.username}`), true);
    const retires = s.deployer.data.commands.filter((c) => c.startsWith(`${app}/postgres login-retire`)).length;
    await retireLogins(s.slipway.services, new AbortController().signal);
    assert.equal(s.deployer.data.commands.filter((c) => c.startsWith(`${app}/postgres login-retire`)).length, retires, 'a retired login is forgotten');

    // A second rotation: its login acts as the same owner, and --json says what changed.
    const again = await s.ssh(s.admin, `pg:credentials:rotate ${app} postgres --json`);
    assert.equal(again.exitCode, 0, again.stderr);
    const j = JSON.parse(again.stdout) as { name: string; attachment: string; retiring: string; release: number };
    assert.deepEqual([j.name, j.attachment, j.retiring], ['postgres', 'DATABASE_URL', now.username]);
    const third = new URL((await config(app)).DATABASE_URL!);
    assert.equal(s.deployer.data.logins.get(`${app}/postgres ${third.username}`)?.owner, old.username);

    // A release that fails: the config and the database's credentials are as they were.
    useControls(t, s, { deployFailure: 'the new release did not start' });
    const failed = await s.ssh(s.admin, `pg:credentials:rotate ${app}`);
    assert.equal(failed.exitCode, 1);
    assert.equal(new URL((await config(app)).DATABASE_URL!).username, third.username);
    const restored = s.deployer.data.secrets.at(-1)!;
    assert.equal(restored.credentials.username, third.username, 'the Secret is put back');
    s.controls.deployFailure = undefined;

    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const vk = await s.ssh(s.admin, `pg:credentials:rotate ${app} valkey`);
    assert.deepEqual([vk.exitCode, vk.stderr], [1, ` !     valkey is a Valkey database; redis:credentials:rotate ${app} valkey rotates its credentials.`]);
    const api = await http(`/apps/${app}/addons/postgres/credentials/rotate`, { method: 'POST' });
    assert.equal(api.status, 202, 'a rotation over the API rolls out as a job');
    assert.ok(((await api.json()) as { job: { id: string } }).job.id);
  });
});
