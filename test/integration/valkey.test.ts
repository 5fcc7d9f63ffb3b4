// redis:credentials:rotate, redis:restore and redis:promote over the real SSH and HTTP servers,
// with the fake deployer at Slipway's Deployer interface: a rotation makes an ACL user and moves
// REDIS_URL in one release, the old login (`default` first) retired only once no connection uses
// it; a restore of the newest snapshot into a new instance, checked and attached or promoted, and
// refused in one sentence with nothing made when there is no whole snapshot.
// On a real cluster with the real image: test/e2e/databases-valkey.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, startTestServer, useControls, type TestServer } from '../support/harness.ts';
import { makeToken } from '../support/api-client.ts';
import { retireLogins } from '../../server/ops/data/credentials.ts';

describe('Valkey credential rotation and restores into a new instance', { timeout: 120_000 }, () => {
  let s: TestServer;
  let token: string;
  const config = async (app: string) => JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
  const addons = async (app: string) => (JSON.parse((await s.ssh(s.admin, `addons ${app} --json`)).stdout) as { name: string; attachment: string }[]).map((a) => `${a.name}=${a.attachment}`);
  const http = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) } });
  const round = () => retireLogins(s.slipway.services, new AbortController().signal);

  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17', SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8' });
    token = await makeToken(s, s.admin, 'valkey', 'deploy');
  });
  after(() => s.close());

  test('redis:credentials:rotate moves REDIS_URL to a new ACL user in one release; default, then each old user, goes once no connection uses it', async (t) => {
    const { app } = await deployedApp(s, 'vrot');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const old = new URL((await config(app)).REDIS_URL!);
    assert.equal(old.username, 'default', 'a new Valkey database is used as default');
    const deploys = s.deployer.rollout.deployed.filter((x) => x.app === app).length;
    const applies = s.deployer.data.applies.length;

    const r = await s.ssh(s.admin, `redis:credentials:rotate ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Rotated the credentials of valkey: REDIS_URL changed in v\d+\nThe old login default works until no connection uses it; then it is removed/);
    const now = new URL((await config(app)).REDIS_URL!);
    assert.equal(now.protocol, 'rediss:');
    assert.match(now.username, /^u[0-9a-f]{12}$/);
    assert.notEqual(now.password, old.password);
    assert.equal(s.deployer.rollout.deployed.filter((x) => x.app === app).length, deploys + 1, 'one release');
    assert.equal(s.deployer.data.applies.length, applies + 1, 'the database is brought up to date (its login files) once, with its old login');
    assert.equal(s.deployer.data.applies.at(-1)!.credentials.username, 'default');
    assert.deepEqual(s.deployer.data.logins.get(`${app}/valkey ${now.username}`), { owner: null, password: now.password }, 'an ACL user, its password on standard input');
    const secret = s.deployer.data.secrets.at(-1)!;
    assert.deepEqual([secret.name, secret.credentials.username, secret.credentials.password], ['valkey', now.username, now.password]);
    assert.ok(!s.deployer.data.commands.some((c) => c.includes(now.password)), 'the password is never an argument');

    // A connection as default is open: the round keeps it; once there is none, it is turned off.
    s.deployer.data.sessions.set(`${app}/valkey default`, 2);
    await round();
    assert.equal(s.deployer.data.noLogin.has(`${app}/valkey default`), false);
    s.deployer.data.sessions.delete(`${app}/valkey default`);
    await round();
    assert.equal(s.deployer.data.noLogin.has(`${app}/valkey default`), true);
    const retires = s.deployer.data.commands.filter((c) => c.startsWith(`${app}/valkey login-retire`)).length;
    await round();
    assert.equal(s.deployer.data.commands.filter((c) => c.startsWith(`${app}/valkey login-retire`)).length, retires, 'a retired login is forgotten');

    // A second rotation (--json) retires the first ACL user; the API rotates a Valkey database too.
    const again = await s.ssh(s.admin, `redis:credentials:rotate ${app} valkey --json`);
    assert.equal(again.exitCode, 0, again.stderr);
    const j = JSON.parse(again.stdout) as { name: string; attachment: string; retiring: string };
    assert.deepEqual([j.name, j.attachment, j.retiring], ['valkey', 'REDIS_URL', now.username]);
    const third = new URL((await config(app)).REDIS_URL!);
    assert.equal(s.deployer.data.logins.get(`${app}/valkey ${third.username}`)?.owner, null);

    // A release that fails: REDIS_URL and the Secret are as they were; the user made is retired.
    useControls(t, s, { deployFailure: 'the new release did not start' });
    const failed = await s.ssh(s.admin, `redis:credentials:rotate ${app}`);
    assert.equal(failed.exitCode, 1);
    assert.equal(new URL((await config(app)).REDIS_URL!).username, third.username);
    assert.equal(s.deployer.data.secrets.at(-1)!.credentials.username, third.username, 'the Secret is put back');
    s.controls.deployFailure = undefined;
    await round();
    assert.ok(![...s.deployer.data.noLogin].includes(`${app}/valkey ${third.username}`), 'the login in use is never retired');

    const api = await http(`/apps/${app}/addons/valkey/credentials/rotate`, { method: 'POST' });
    assert.equal(api.status, 202, 'a rotation over the API rolls out as a job');

    // Each command is for its own kind, in one sentence that names the other.
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const pg = await s.ssh(s.admin, `redis:credentials:rotate ${app} postgres`);
    assert.deepEqual([pg.exitCode, pg.stderr], [1, ` !     postgres is a Postgres database; pg:credentials:rotate ${app} postgres rotates its credentials.`]);
    const vk = await s.ssh(s.admin, `pg:credentials:rotate ${app} valkey`);
    assert.deepEqual([vk.exitCode, vk.stderr], [1, ` !     valkey is a Valkey database; redis:credentials:rotate ${app} valkey rotates its credentials.`]);
  });

  test('a rotation whose login cannot be made changes nothing', async () => {
    const { app } = await deployedApp(s, 'vrotf');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const before = (await config(app)).REDIS_URL;
    s.deployer.data.failNext = 'valkey valkey did not start: CrashLoopBackOff.';
    const r = await s.ssh(s.admin, `redis:credentials:rotate ${app}`);
    assert.deepEqual([r.exitCode, r.stderr], [1, ' !     valkey valkey did not start: CrashLoopBackOff.']);
    assert.equal((await config(app)).REDIS_URL, before);
  });

  test('redis:restore makes a new instance from the newest whole snapshot, attached or promoted in one release; rollback puts the old one back', async () => {
    const { app } = await deployedApp(s, 'vres');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const original = (await config(app)).REDIS_URL!;
    s.deployer.data.answers.set('check', ['keys 41', 'keys 41', 'keys 7', 'keys 7']);
    s.deployer.data.heartbeats.set(`${app}/valkey-2`, '2026-12-05T11:44:21Z');
    const applies = s.deployer.data.applies.length;
    const r = await s.ssh(s.admin, `redis:restore ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Checking the newest snapshot of valkey/);
    assert.match(r.stdout, /41 keys; newest heartbeat in it: 2026-12-05T11:44:21Z/);
    assert.match(r.stdout, /Restored the newest snapshot of valkey into valkey-2 \(ready in [\d.]+ s; newest heartbeat 2026-12-05T11:44:21Z\), attached as VALKEY_2_URL in v\d+\nMake it the app's Valkey with: redis:promote/);
    const [first, second] = s.deployer.data.applies.slice(applies);
    assert.deepEqual(first!.restore, { fromClaim: 'db-valkey.backup' }, 'started from the source\'s backup volume');
    assert.equal(second!.restore, undefined, 'then on its own volumes');
    const cmds = s.deployer.data.commands.filter((c) => c.startsWith(`${app}/`)).map((c) => c.replace(`${app}/`, ''));
    assert.deepEqual(cmds.slice(-6), ['valkey verify', 'valkey-2 last-heartbeat', 'valkey-2 check', 'valkey-2 aof-on', 'valkey-2 check', 'valkey-2 snapshot']);
    const cfg = await config(app);
    assert.equal(cfg.REDIS_URL, original, 'REDIS_URL is not moved without --promote');
    assert.match(cfg.VALKEY_2_URL!, new RegExp(`^rediss://default:[^@]+@db-valkey-2\\.slipway-${app}\\.svc:6379$`));
    assert.notEqual(new URL(cfg.VALKEY_2_URL!).password, new URL(original).password, 'its own credentials');

    // --promote over the API: REDIS_URL moves in the same release, the source keeps its own.
    const res = await http(`/apps/${app}/addons/valkey/restore`, { method: 'POST', body: JSON.stringify({ to: 'valkey-3', promote: true }) });
    assert.equal(res.status, 202, await res.clone().text());
    const job = ((await res.json()) as { job: { id: string } }).job.id;
    const waited = await s.ssh(s.admin, `jobs:output ${job} -t`);
    assert.equal(waited.exitCode, 0, waited.stdout + waited.stderr);
    const promoted = await config(app);
    assert.match(promoted.REDIS_URL!, /@db-valkey-3\./);
    assert.equal(promoted.VALKEY_URL, original, 'the source stays, as its own VALKEY_URL');
    assert.ok((await addons(app)).includes('valkey-3=REDIS_URL'));
    const releases = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { version: number }[];
    const before = Math.max(...releases.map((x) => x.version)) - 1;
    assert.equal((await s.ssh(s.admin, `rollback ${app} v${before}`)).exitCode, 0);
    assert.equal((await config(app)).REDIS_URL, original, 'rollback puts the old REDIS_URL back');
    // The records follow: valkey holds REDIS_URL again; valkey-3, which no var holds in that
    // release, is recorded under its own name rather than the REDIS_URL valkey holds.
    assert.deepEqual((await addons(app)).filter((a) => /^valkey(-3)?=/.test(a)).sort(), ['valkey-3=VALKEY_3_URL', 'valkey=REDIS_URL']);
    assert.match((await s.ssh(s.admin, `redis:promote ${app} valkey`)).stderr, /valkey is REDIS_URL already\./);

    // redis:promote moves REDIS_URL by name, the holder keeping its own.
    const p = await s.ssh(s.admin, `redis:promote ${app} valkey-3`);
    assert.equal(p.exitCode, 0, p.stderr);
    assert.match(p.stdout, /Promoted valkey-3 to REDIS_URL in v\d+; valkey stays/);
    assert.match((await config(app)).REDIS_URL!, /@db-valkey-3\./);
    assert.equal((await config(app)).VALKEY_URL, original);
    const wrong = await s.ssh(s.admin, `pg:promote ${app} valkey-2`);
    assert.equal(wrong.exitCode, 1);
  });

  test('redis:restore refusals are one sentence and make nothing', async () => {
    const { app } = await deployedApp(s, 'vresf');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} valkey`)).exitCode, 0);
    const before = await addons(app);
    s.deployer.data.failOn = { command: 'verify', stderr: 'slipway-valkey: verify: there is no snapshot in /var/lib/slipway/backup/valkey yet' };
    const none = await s.ssh(s.admin, `redis:restore ${app}`);
    assert.deepEqual([none.exitCode, none.stderr], [1, ' !     valkey has no snapshot to restore yet; the db-backups round takes one a day (rounds:run db-backups takes it now).']);
    s.deployer.data.failOn = { command: 'verify', stderr: 'slipway-valkey: verify: dump-20261205T143911Z.rdb is damaged: RDB ERROR DETECTED' };
    const bad = await s.ssh(s.admin, `redis:restore ${app}`);
    assert.deepEqual([bad.exitCode, bad.stderr], [1, ' !     The newest snapshot of valkey cannot be restored: dump-20261205T143911Z.rdb is damaged: RDB ERROR DETECTED.']);
    const at = await s.ssh(s.admin, `redis:restore ${app} --to x`);
    assert.equal(at.exitCode, 0, 'a name of its own is taken');
    const timed = await http(`/apps/${app}/addons/valkey/restore`, { method: 'POST', body: JSON.stringify({ at: '2026-12-05T10:00:00Z' }) });
    assert.equal(timed.status, 422);
    assert.match(((await timed.json()) as { error: { message: string } }).error.message, /comes back from its newest snapshot only/);
    // A copy whose keys differ once on its own volumes is removed.
    s.deployer.data.answers.set('check', ['keys 5', 'keys 4']);
    const differs = await s.ssh(s.admin, `redis:restore ${app} --to y`);
    assert.equal(differs.exitCode, 1);
    assert.match(differs.stderr, /y held 5 keys from the snapshot but 4 after it started on its own volumes; it is removed\./);
    assert.deepEqual((await addons(app)).sort(), [...before, 'x=X_URL'].sort());
    const pg = await s.ssh(s.admin, `redis:restore ${app} --from nope`);
    assert.deepEqual([pg.exitCode, pg.stderr], [1, ` !     ${app} has no database nope; addons ${app} lists its databases.`]);
  });
});
