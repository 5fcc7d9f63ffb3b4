// Log drains against a real server (fake deployer, whose collector records what it is applied
// with): the SSH commands and the HTTP API side by side, who may do what, what is shown (never a
// password or a header's value), drains:info from the collector's metrics and log, and the
// collector following apps:destroy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';

describe('log drains over SSH and the HTTP API', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let token: string;
  let app: string;
  let other: string;
  const collector = () => s.deployer.collector;

  before(async () => {
    s = await startTestServer({ SLIPWAY_COLLECTOR_IMAGE: 'registry.test/slipway/collector:1' });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'drained');
    other = await newApp(s, 'undrained');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    token = await makeToken(s, dev, 'dev-deploy');
  });
  after(() => s.close());

  test("a deployer adds, lists and removes its app's drains; the collector gets every drain each time", async () => {
    const add = await s.ssh(dev, `drains:add ${app} syslog+tls://203.0.113.10:6514`);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.match(add.stdout, /^Successfully added drain syslog\+tls:\/\/203\.0\.113\.10:6514\nToken: d\.[0-9a-f-]{36}$/);
    const posted = await api(s, 'POST', `/apps/${app}/drains`, { token, body: { url: 'https://user:s3cret@203.0.113.11/logs' } });
    assert.equal(posted.status, 201, posted.text);
    assert.equal((posted.json as { url: string }).url, 'https://user:***@203.0.113.11/logs');
    const listed = await s.ssh(dev, `drains ${app}`);
    assert.equal(listed.exitCode, 0);
    assert.doesNotMatch(listed.stdout, /s3cret/);
    assert.deepEqual(collector().applied.at(-1)!.map((d) => [d.app, d.target.kind]), [[app, 'syslog'], [app, 'https']]);
    assert.equal(collector().applied.at(-1)![1]!.target.kind === 'https' && (collector().applied.at(-1)![1]!.target as { endpoint: string }).endpoint, 'https://user:s3cret@203.0.113.11/logs', 'the collector gets the password');
    const token2 = (posted.json as { token: string }).token;
    const del = await api(s, 'DELETE', `/apps/${app}/drains?drain=${encodeURIComponent(token2)}`, { token });
    assert.equal(del.status, 200, del.text);
    const got = await api(s, 'GET', `/apps/${app}/drains`, { token });
    assert.deepEqual((got.json as { url: string }[]).map((d) => d.url), ['syslog+tls://203.0.113.10:6514']);
  });

  test("a deployer's drain into the server's networks, to another app or global is refused, and nothing changes", async () => {
    const before = collector().applied.length;
    const r = await s.ssh(dev, `drains:add ${app} syslog://127.0.0.1:514`);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), `!     Only an admin may add a drain to "127.0.0.1": it is 127.0.0.1, an address inside this server's networks; nothing was changed.`);
    const viaApi = await api(s, 'POST', `/apps/${app}/drains`, { token, body: { url: 'syslog://10.9.8.7:514' } });
    assert.equal(viaApi.status, 403, viaApi.text);
    assert.match(apiError(viaApi).message, /^Only an admin may add a drain to "10\.9\.8\.7"/);
    const foreign = await s.ssh(dev, `drains:add ${other} syslog+tls://203.0.113.10:6514`);
    assert.equal(foreign.exitCode, 1);
    assert.match(foreign.stderr, /does not exist, or your key has no access to it/);
    const global = await api(s, 'POST', '/drains', { token, body: { url: 'syslog+tls://203.0.113.10:6514' } });
    assert.equal(global.status, 403, global.text);
    const bad = await s.ssh(dev, `drains:add ${app} gopher://203.0.113.10:70`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not a drain URL Slipway can send to: the scheme gopher is not one of them/);
    assert.equal(collector().applied.length, before, 'the collector was not touched');
    const admin = await s.ssh(s.admin, 'drains:add --global syslog://127.0.0.1:514');
    assert.equal(admin.exitCode, 0, admin.stderr);
    assert.equal((await s.ssh(s.admin, 'drains:remove --global syslog://127.0.0.1:514')).exitCode, 0);
  });

  test("drains:info shows each drain's delivery from the collector's metrics and log", async () => {
    const [d] = JSON.parse((await s.ssh(dev, `drains ${app} --json`)).stdout) as { token: string }[];
    const id = `syslog/d-${d!.token.slice(2)}`;
    collector().pods_ = [{
      pod: 'collector-abc', node: 'vm', ready: true,
      metrics: `otelcol_exporter_sent_log_records_total{exporter="${id}"} 12\notelcol_exporter_queue_size{data_type="logs",exporter="${id}"} 2\n`,
      log: `2026-12-05T15:00:00Z {"level":"info","ts":"2026-12-05T15:00:00.100Z","msg":"Exporting failed. Will retry the request after interval.","otelcol.component.id":"${id}","error":"dial tcp 203.0.113.10:6514: i/o timeout"}\n`,
      error: undefined,
    }];
    const info = await s.ssh(dev, `drains:info ${app}`);
    assert.equal(info.exitCode, 0, info.stderr);
    assert.match(info.stdout, /Collector: 1 of 1 pods ready/);
    assert.match(info.stdout, /Last error: +dial tcp 203\.0\.113\.10:6514: i\/o timeout \(at 2026-12-05T15:00:00\.100Z\)/);
    assert.match(info.stdout, /Sent: +12\n/);
    assert.match(info.stdout, /Queued: +2 batches/);
    const viaApi = await api(s, 'GET', `/apps/${app}/drains/info`, { token });
    assert.equal(viaApi.status, 200, viaApi.text);
    assert.equal((viaApi.json as { drains: { sent: number }[] }).drains[0]!.sent, 12);
  });

  test('apps:destroy takes its drains out of the collector', async () => {
    assert.equal((await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`)).exitCode, 0);
    assert.deepEqual(collector().applied.at(-1), []);
  });
});
