// The audit log against the real SSH and HTTP servers (fake builder and deployer): what an entry
// says for a change, a denied attempt, a failed login, a push, a webhook whose signature fails,
// the dashboard's login and an API change; who sees which entries; audit:verify and
// audit:export from SSH and the local CLI, and the exit code when the chain is broken.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken, push, sshJson } from '../support/api-client.ts';
import { run } from '../../server/exec.ts';
import type { AuditEntry } from '../../server/shapes/audit.ts';

const cli = join(import.meta.dirname, '..', '..', 'bin', 'slipway.ts');

describe('audit log', { timeout: 180_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let stranger: TestKey;
  let mine: string;
  let theirs: string;
  let adminToken: string;
  let devToken: string;

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    stranger = await makeKey(s.dir, 'stranger');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    mine = await newApp(s, 'audit-mine');
    theirs = await newApp(s, 'audit-theirs');
    assert.equal((await s.ssh(s.admin, `access:grant ${mine} ${dev.name}`)).exitCode, 0);
    adminToken = await makeToken(s, s.admin, 'audit-admin');
    devToken = await makeToken(s, dev, 'audit-dev');
  });
  after(() => s.close());

  const entries = async (key: TestKey, args = ''): Promise<AuditEntry[]> => await sshJson(s, key, `audit ${args}`.trim()) as AuditEntry[];
  const newest = (all: AuditEntry[], action: string) => all.find((e) => e.action === action);

  test('config:set over SSH: who, from where, the key names and never the values', async () => {
    const r = await s.ssh(dev, `config:set ${mine} SECRET_TOKEN=hunter2 PLAIN=x`);
    assert.equal(r.exitCode, 0, r.stderr);
    const e = newest(await entries(s.admin, mine), 'config:set')!;
    assert.equal(e.actor, 'dev');
    assert.equal(e.credential, 'key');
    assert.equal(e.interface, 'ssh');
    assert.equal(e.source, '127.0.0.1');
    assert.equal(e.app, mine);
    assert.equal(e.object, 'SECRET_TOKEN=…');
    assert.equal(e.outcome, 'ok');
    assert.deepEqual(e.meta.words, [mine, 'SECRET_TOKEN=…', 'PLAIN=…']);
    const raw = s.slipway.services.store.db.prepare('SELECT group_concat(meta || object) AS all_text FROM audit').get() as { all_text: string };
    assert.doesNotMatch(raw.all_text, /hunter2/);
  });

  test('denied attempts: an admin command by a non-admin, an app the key may not use, a key the server does not know', async () => {
    assert.equal((await s.ssh(dev, 'apps:create sneaky')).exitCode, 1);
    assert.equal((await s.ssh(dev, `config:set ${theirs} A=1`)).exitCode, 1);
    assert.notEqual((await s.ssh(stranger, 'apps:list')).exitCode, 0);
    const all = await entries(s.admin, '--actor dev');
    const create = newest(all, 'apps:create')!;
    assert.deepEqual([create.outcome, create.app], ['denied', 'sneaky']);
    assert.match(String(create.meta.error), /Only admins may run apps:create/);
    const other = all.find((e) => e.action === 'config:set' && e.app === theirs)!;
    assert.equal(other.outcome, 'denied');
    // The refused login is recorded when its connection closes.
    const { eventually } = await import('../support/eventually.ts');
    const login = await eventually('the failed SSH login', async () => (await entries(s.admin, '--action login')).find((e) => e.interface === 'ssh'));
    assert.deepEqual([login.actor, login.outcome, login.source], ['unknown', 'denied', '127.0.0.1']);
  });

  test('a push is recorded with its job; a push to an app the key may not use is denied', async () => {
    await push(s, mine, 'console.log("audited")\n');
    const e = newest(await entries(s.admin, `${mine} --action push`), 'push')!;
    assert.deepEqual([e.actor, e.interface, e.outcome, e.meta.transport], ['admin', 'git', 'ok', 'ssh']);
    assert.match(e.job ?? '', /^[0-9a-z]+/);
    assert.equal(s.slipway.services.store.jobs.get(e.job!)?.kind, 'push');
    const wd = await s.workRepo({ 'index.js': '1' }, 'audit-denied-push');
    const r = await s.git(['push', s.sshRemote(theirs), 'main'], { cwd: wd, key: dev });
    assert.notEqual(r.exitCode, 0);
    const denied = (await entries(s.admin, `${theirs} --action push`))[0]!;
    assert.deepEqual([denied.actor, denied.outcome], ['dev', 'denied']);
  });

  test('the API: a change with its job and the field names of its body; a wrong token is a failed login', async () => {
    const r = await api(s, 'PATCH', `/apps/${mine}/config`, { token: devToken, body: { set: { API_KEY: 'sk-live-123' } } });
    assert.ok(r.status === 200 || r.status === 202, r.text);
    const e = newest(await entries(s.admin, mine), `PATCH /apps/:app/config`)!;
    assert.deepEqual([e.actor, e.credential, e.interface, e.outcome, e.source], ['dev', 'token audit-dev', 'api', 'ok', '127.0.0.1']);
    assert.deepEqual(e.meta.fields, { set: ['API_KEY'] });
    assert.equal(e.meta.status, r.status);
    if (r.status === 202) assert.equal(e.job, (r.json as { job: { id: string } }).job.id);
    assert.equal((await api(s, 'GET', '/apps', { headers: { authorization: 'Bearer slw_wrong' } })).status, 401);
    const login = newest(await entries(s.admin, '--action login'), 'login')!;
    assert.deepEqual([login.actor, login.interface, login.outcome], ['unknown', 'api', 'denied']);
  });

  test('the dashboard: a login with a token is recorded as its key', async () => {
    const r = await api(s, 'POST', '/session', { body: { token: devToken } });
    assert.equal(r.status, 200, r.text);
    const e = newest(await entries(s.admin, '--actor dev'), 'POST /session')!;
    assert.deepEqual([e.outcome, e.credential, e.meta.fields], ['ok', 'login', { token: true }]);
  });

  test('a webhook delivery whose signature does not verify is a denied entry', async () => {
    const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/hooks/${mine}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' }, body: '{}' });
    assert.equal(res.status, 404);
    const e = newest(await entries(s.admin, `${mine} --action webhook`), 'webhook')!;
    assert.deepEqual([e.interface, e.outcome, e.meta.status], ['webhook', 'denied', 404]);
  });

  test('collaborators see their apps\' entries only; admins see all; reading the log is recorded too', async () => {
    const seen = await entries(dev);
    assert.ok(seen.length > 0);
    assert.ok(seen.every((e) => e.app === mine), JSON.stringify(seen.map((e) => e.app)));
    const refused = await s.ssh(dev, `audit ${theirs}`);
    assert.equal(refused.exitCode, 1);
    const viaApi = await api(s, 'GET', `/audit?app=${mine}&action=config`, { token: devToken });
    assert.equal(viaApi.status, 200, viaApi.text);
    assert.ok((viaApi.json as AuditEntry[]).every((e) => e.app === mine && e.action.startsWith('config')));
    const all = await api(s, 'GET', '/audit?limit=500', { token: adminToken });
    const actions = new Set((all.json as AuditEntry[]).map((e) => e.action));
    for (const a of ['audit', 'GET /audit', 'keys:add', 'tokens:create', 'access:grant']) assert.ok(actions.has(a), a);
  });

  test('audit:export prints JSON lines oldest first with their hashes; audit:verify says intact, and names an edited entry with exit 1', async () => {
    const out = await s.ssh(s.admin, 'audit:export --format jsonl');
    assert.equal(out.exitCode, 0, out.stderr);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    assert.ok(lines.length > 10);
    for (let i = 1; i < lines.length; i++) {
      assert.equal(lines[i]!.seq, lines[i - 1]!.seq + 1);
      assert.equal(lines[i]!.prev, lines[i - 1]!.hash);
    }
    assert.equal((await s.ssh(s.admin, 'audit:export')).exitCode, 2);
    // The audit round signs the head on its first run (no checkpoint yet).
    assert.equal((await s.ssh(s.admin, 'rounds:run audit')).exitCode, 0);
    const ok = await s.ssh(s.admin, 'audit:verify');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /The audit log is intact\./);
    assert.match(ok.stdout, /Checkpoints: +1 in the chain; last signed entry \d+ at /);
    assert.match(ok.stdout, /Public key: +ed25519:/);
    assert.equal((await s.ssh(dev, 'audit:verify')).exitCode, 1);
    // Someone with the database file changes who did something.
    const db = new DatabaseSync(s.slipway.services.config.dbFile);
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET actor = 'nobody' WHERE seq = 3").run();
    db.close();
    const broken = await run(process.execPath, [cli, 'audit:verify'], { env: { SLIPWAY_DATA_DIR: s.slipway.services.config.dataDir } });
    assert.equal(broken.exitCode, 1, broken.stderr);
    assert.match(broken.stdout, /BROKEN at entry 3: Entry 3 was edited/);
    assert.match(broken.stderr, /The audit log is broken at entry 3\./);
  });
});
