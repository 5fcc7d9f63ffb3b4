// An app's CPU and memory (GET /api/v1/apps/APP/metrics, its follow=1 stream, ps:metrics) against
// a real server with the fake deployer, whose cluster has a metrics API unless told otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken, readEvents, sshJson } from '../support/api-client.ts';

describe('app metrics', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;
  let token: string;
  let devToken: string;

  before(async () => {
    s = await startTestServer({ SLIPWAY_METRICS_INTERVAL_S: '0.2' });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    ({ app } = await deployedApp(s, 'metrics'));
    token = await makeToken(s, s.admin, 'admin-read', 'read');
    devToken = await makeToken(s, dev, 'dev-read', 'read');
  });
  after(() => s.close());

  test('GET /apps/APP/metrics: each process type with its pods\' CPU and memory', async () => {
    const r = await api(s, 'GET', `/apps/${app}/metrics`, { token });
    assert.equal(r.status, 200, r.text);
    const m = r.json as { at: string; processes: { type: string; pods: { name: string; cpuMillicores: number; memoryBytes: number }[] }[] };
    assert.deepEqual(Object.keys(m), ['at', 'processes']);
    assert.ok(Math.abs(Date.parse(m.at) - Date.now()) < 60_000, m.at);
    assert.equal(m.processes.length, 1);
    assert.equal(m.processes[0]!.type, 'web');
    const [pod] = m.processes[0]!.pods;
    assert.deepEqual(Object.keys(pod!), ['name', 'cpuMillicores', 'memoryBytes']);
    assert.equal(pod!.name, 'web-fake-1');
    assert.ok(Number.isInteger(pod!.cpuMillicores) && pod!.cpuMillicores > 0);
    assert.equal(pod!.memoryBytes, 64 * 2 ** 20);
  });

  test('ps:metrics prints TYPE POD CPU MEMORY, and --json the API\'s object', async () => {
    const r = await s.ssh(s.admin, `ps:metrics ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TYPE\s+POD\s+CPU\s+MEMORY$/);
    assert.match(lines[1]!, /^web\s+web-fake-1\s+\d+m\s+64Mi$/);
    const json = await sshJson(s, s.admin, `ps:metrics ${app}`) as { processes: { type: string; pods: unknown[] }[] };
    assert.deepEqual(json.processes.map((p) => [p.type, p.pods.length]), [['web', 1]]);
  });

  test('follow=1 streams a `metrics` event per SLIPWAY_METRICS_INTERVAL_S, each a fresh reading', async () => {
    const r = await readEvents(s, `/apps/${app}/metrics?follow=1`, token, (_e, all) => all.length >= 2);
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/event-stream/);
    assert.deepEqual(r.events.map((e) => e.event), ['metrics', 'metrics']);
    const [a, b] = r.events.map((e) => JSON.parse(e.data) as { at: string; processes: { pods: { cpuMillicores: number }[] }[] });
    assert.ok(Date.parse(b!.at) > Date.parse(a!.at), `${a!.at} then ${b!.at}`);
    assert.ok(b!.processes[0]!.pods[0]!.cpuMillicores > a!.processes[0]!.pods[0]!.cpuMillicores, 'the second reading is a new one');
    await waitFor(() => s.slipway.services.sessions.list().every((x) => x.app !== app), 'the stream to end when the client left');
  });

  test('a cluster without the metrics API: 503 with one sentence, for the stream too, and ps:metrics exits 1', async (t) => {
    useControls(t, s, { noMetrics: true });
    for (const path of [`/apps/${app}/metrics`, `/apps/${app}/metrics?follow=1`]) {
      const r = await api(s, 'GET', path, { token });
      assert.equal(r.status, 503, r.text);
      const e = apiError(r);
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, /^The cluster has no metrics API \(metrics-server\);[^\n]*\.$/);
    }
    const ssh = await s.ssh(s.admin, `ps:metrics ${app}`);
    assert.equal(ssh.exitCode, 1);
    assert.match(ssh.stderr, /The cluster has no metrics API \(metrics-server\)/);
  });

  test('a token whose key may not use the app gets 404, as for an app that does not exist', async () => {
    for (const path of [`/apps/${app}/metrics`, `/apps/${app}/metrics?follow=1`, '/apps/nope-none/metrics']) {
      const r = await api(s, 'GET', path, { token: devToken });
      assert.equal(r.status, 404, r.text);
      assert.equal(apiError(r).code, 'not_found');
    }
    assert.equal((await s.ssh(dev, `ps:metrics ${app}`)).exitCode, 1);
  });

  test('a key that loses the app while it follows has its stream stopped', async () => {
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    let revoked = false;
    const r = await readEvents(s, `/apps/${app}/metrics?follow=1`, devToken, (e, all) => {
      if (!revoked && all.length === 1) {
        revoked = true;
        void s.ssh(s.admin, `access:revoke ${app} ${dev.name}`);
      }
      return e.event !== 'metrics' || all.length > 200;
    });
    assert.equal(r.status, 200);
    assert.ok(r.events.length <= 200, 'the stream went on after the key lost the app');
    const last = r.events.at(-1)!;
    assert.equal(last.event, 'error', JSON.stringify(last));
    assert.match(JSON.parse(last.data).error.message, /access/i);
  });

  test('an app not deployed yet has no processes', async () => {
    const fresh = await newApp(s, 'metrics-new');
    const r = await api(s, 'GET', `/apps/${fresh}/metrics`, { token });
    assert.equal(r.status, 200);
    assert.deepEqual((r.json as { processes: unknown[] }).processes, []);
    const ssh = await s.ssh(s.admin, `ps:metrics ${fresh}`);
    assert.equal(ssh.exitCode, 0);
    assert.match(ssh.stdout, /runs no processes; push it first/);
  });
});

/** Polls `ok` until it holds (5 s at most). */
async function waitFor(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok(), what);
}
