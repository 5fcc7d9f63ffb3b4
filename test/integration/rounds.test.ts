// The background rounds over SSH and the API: rounds lists what each did, rounds:run runs one now
// (admins only), doctor shows each as a check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { runDoctor } from '../../server/ops/admin/doctor.ts';
import { cronAuditRound } from '../../server/ops/cron/cron-audit.ts';

describe('background rounds over SSH and the API', { timeout: 60_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
  });
  after(async () => {
    await s.close();
  });

  test('rounds --json lists every round of the server, each with its interval and how it went', async () => {
    const r = await s.ssh(s.admin, 'rounds --json');
    assert.equal(r.exitCode, 0, r.stderr);
    const rounds = JSON.parse(r.stdout) as { name: string; intervalMs: number; runs: number; lastError: string | null }[];
    assert.deepEqual(rounds.map((x) => x.name), ['tls-sync', 'gc', 'rights', 'warm-sweep', 'sync-poll', 'db-heartbeat', 'db-backups', 'db-logins', 'self-backup', 'previews', 'audit', 'sleep', 'cron-audit']);
    assert.ok(rounds.every((x) => x.lastError === null && Number.isInteger(x.intervalMs)));
    const text = await s.ssh(s.admin, 'rounds');
    assert.match(text.stdout, /ROUND +EVERY +RUNS +LAST ENDED +OUTCOME/);
    assert.match(text.stdout, /warm-sweep +10 s/);
  });

  test('rounds:run runs one now and says how it went; an unknown name is one sentence; not for deployers', async () => {
    const before = JSON.parse((await s.ssh(s.admin, 'rounds --json')).stdout) as { name: string; runs: number }[];
    const r = await s.ssh(s.admin, 'rounds:run warm-sweep --json');
    assert.equal(r.exitCode, 0, r.stderr);
    const ran = JSON.parse(r.stdout) as { name: string; runs: number; lastError: string | null; lastFinished: string | null };
    assert.equal(ran.name, 'warm-sweep');
    assert.equal(ran.runs, before.find((x) => x.name === 'warm-sweep')!.runs + 1);
    assert.equal(ran.lastError, null);
    assert.ok(ran.lastFinished);
    const unknown = await s.ssh(s.admin, 'rounds:run nope');
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /There is no background round nope; the rounds are: tls-sync, gc, rights, warm-sweep, sync-poll, db-heartbeat, db-backups, db-logins, self-backup, previews, audit, sleep, cron-audit\./);
    const denied = await s.ssh(dev, 'rounds:run gc');
    assert.notEqual(denied.exitCode, 0);
    assert.equal((await s.ssh(dev, 'rounds')).exitCode === 0, false);
  });

  test("cron-audit records each scheduled run that ended once, with its outcome, across a restart of the round; cron:run's own and unknown apps' are not its", async () => {
    assert.equal((await s.ssh(s.admin, 'apps:create cronny')).exitCode, 0);
    const runs = s.deployer.cron.scheduled;
    const audited = async () => (JSON.parse((await s.ssh(s.admin, 'audit cronny --action cron:run --json')).stdout) as { object: string; outcome: string; interface: string; actor: string; meta: { job: string } }[]);
    // The first round only notes where it starts (nothing before it is recorded).
    assert.equal((await s.ssh(s.admin, 'rounds:run cron-audit')).exitCode, 0);
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    runs.push(
      { app: 'cronny', id: 'nightly', job: 'cron-nightly-1', startedAt: at(1), finishedAt: at(2), result: 'succeeded' },
      { app: 'cronny', id: 'report', job: 'cron-report-1', startedAt: at(1), finishedAt: at(2), result: 'failed', reason: 'BackoffLimitExceeded' },
      { app: 'cronny', id: 'nightly', job: 'cron-nightly-2', startedAt: at(3), finishedAt: null, result: 'running' },
      { app: 'gone-app', id: 'x', job: 'cron-x-1', startedAt: at(1), finishedAt: at(2), result: 'succeeded' },
    );
    assert.equal((await s.ssh(s.admin, 'rounds:run cron-audit')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'rounds:run cron-audit')).exitCode, 0);
    const first = await audited();
    assert.deepEqual(first.map((e) => [e.object, e.outcome, e.interface, e.actor, e.meta.job]).sort(), [
      ['nightly', 'ok', 'cron', 'slipway', 'cron-nightly-1'],
      ['report', 'failed', 'cron', 'slipway', 'cron-report-1'],
    ], 'each once; the running one not yet');
    runs[2]!.finishedAt = at(4);
    runs[2]!.result = 'succeeded';
    // A restarted server's round (a new one, nothing in memory) goes on from the setting it left.
    await cronAuditRound(s.slipway.services)();
    assert.deepEqual((await audited()).map((e) => e.meta.job).sort(), ['cron-nightly-1', 'cron-nightly-2', 'cron-report-1']);
  });

  test('GET /rounds and POST /rounds/NAME/run for admin tokens only', async () => {
    const admin = await makeToken(s, s.admin, 'rounds-admin');
    const read = await makeToken(s, s.admin, 'rounds-read', 'read');
    const list = await api(s, 'GET', '/rounds', { token: admin });
    assert.equal(list.status, 200);
    assert.equal((list.json as unknown[]).length, 13);
    const run = await api(s, 'POST', '/rounds/rights/run', { token: admin });
    assert.equal(run.status, 200);
    assert.equal((run.json as { name: string }).name, 'rights');
    assert.equal((await api(s, 'POST', '/rounds/rights/run', { token: read })).status, 403);
    const unknown = await api(s, 'POST', '/rounds/nope/run', { token: admin });
    assert.equal(unknown.status, 422);
    assert.match(JSON.stringify(unknown.json), /There is no background round nope/);
  });

  test('doctor shows each round as a check, failing while its last round failed', async () => {
    const services = s.slipway.services;
    const results = await runDoctor({ identity: { name: 'admin', admin: true, via: 'ssh' }, services });
    const rounds = results.filter((r) => r.name.startsWith('round '));
    assert.deepEqual(rounds.map((r) => r.name), ['round tls-sync', 'round gc', 'round rights', 'round warm-sweep', 'round sync-poll', 'round db-heartbeat', 'round db-backups', 'round db-logins', 'round self-backup', 'round previews', 'round audit', 'round sleep', 'round cron-audit']);
    assert.ok(rounds.every((r) => r.ok), JSON.stringify(rounds));
    assert.match(rounds.find((r) => r.name === 'round warm-sweep')!.detail, /^warm web instances stop when their window ends \(every 10 s; \d+ runs?/);
  });
});
