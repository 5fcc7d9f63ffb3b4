// GET /metrics against a real server (fake builder and deployer): who may read it (an admin's
// token; an address of SLIPWAY_METRICS_ALLOW, the TCP peer's and never X-Forwarded-For's; nobody
// else), and that a push over SSH, an API request and a refused token move what they should,
// read back with the parser Prometheus itself uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken, push } from '../support/api-client.ts';
import { parseExposition, sampleValue, scrapeMetrics, type Family, type ScrapeOptions } from '../support/prom-text.ts';

/** GET /metrics of the test server. */
const scrape = (s: TestServer, opts: ScrapeOptions = {}) => scrapeMetrics(s.slipway.httpPort, opts);

describe('GET /metrics', { timeout: 120_000 }, () => {
  let s: TestServer;
  let adminToken: string;
  let readToken: string;
  let devToken: string;

  async function metrics(): Promise<Map<string, Family>> {
    const r = await scrape(s, { token: adminToken });
    assert.equal(r.status, 200, r.text);
    return parseExposition(r.text);
  }

  before(async () => {
    // 127.0.0.2 may scrape without a token; the tests' own requests come from 127.0.0.1.
    s = await startTestServer({ SLIPWAY_METRICS_ALLOW: '127.0.0.2' });
    adminToken = await makeToken(s, s.admin, 'scraper', 'admin');
    readToken = await makeToken(s, s.admin, 'reader', 'read');
    const dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    devToken = await makeToken(s, dev, 'dev-token');
  });
  after(() => s?.close());

  test("an admin's token reads Prometheus's text format; anyone else is refused with a sentence", async () => {
    const ok = await scrape(s, { token: adminToken });
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    const m = parseExposition(ok.text);
    assert.ok(m.has('slipway_connections_total') && m.has('process_resident_memory_bytes') && m.has('nodejs_eventloop_lag_seconds'), [...m.keys()].join(' '));

    const none = await scrape(s);
    assert.equal(none.status, 401);
    assert.match(none.text, /need an admin's token .*SLIPWAY_METRICS_ALLOW/);
    assert.doesNotMatch(none.text, /slipway_/);
    for (const token of [readToken, devToken]) {
      const r = await scrape(s, { token });
      assert.equal(r.status, 403);
      assert.match(r.text, /are for admins/);
    }
    const wrong = await scrape(s, { token: 'not-a-token' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /not valid/);
    assert.equal((await scrape(s, { token: adminToken, method: 'POST' })).status, 405);
  });

  test('an address of SLIPWAY_METRICS_ALLOW reads it without a token; X-Forwarded-For names no address', async () => {
    const allowed = await scrape(s, { localAddress: '127.0.0.2' });
    assert.equal(allowed.status, 200, allowed.text);
    parseExposition(allowed.text);
    const forged = await scrape(s, { headers: { 'x-forwarded-for': '127.0.0.2' } });
    assert.equal(forged.status, 401);
    // A token below admin is refused even from there: a token's rights do not depend on where it is used.
    assert.equal((await scrape(s, { localAddress: '127.0.0.2', token: readToken })).status, 403);
  });

  test('a push over SSH, API requests and a wrong token move their series; the route is its pattern', async () => {
    const before = await metrics();
    const app = await newApp(s, 'prom');
    await push(s, app, 'console.log(1)');
    assert.equal((await api(s, 'GET', `/apps/${app}`, { token: adminToken })).status, 200);
    assert.equal((await api(s, 'GET', `/no-such-route/${app}`, { token: adminToken })).status, 404);
    assert.equal((await api(s, 'GET', '/apps', { token: 'wrong' })).status, 401);
    const after = await metrics();
    const moved = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.equal(moved('slipway_pushes_total', { backend: 'fake', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_push_duration_seconds', { backend: 'fake', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_push_to_live_seconds', { backend: 'fake' }), 1);
    assert.equal(moved('slipway_builds_total', { backend: 'fake', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_jobs_total', { kind: 'push', status: 'succeeded' }), 1);
    assert.ok(moved('slipway_connections_total', { transport: 'ssh' }) >= 2, 'apps:create and the push');
    assert.ok(moved('slipway_connections_total', { transport: 'http' }) >= 1);
    assert.ok(moved('slipway_authentication_failures_total', { transport: 'http' }) >= 1);
    assert.equal(moved('slipway_api_request_duration_seconds', { method: 'GET', route: '/api/v1/apps/:app', status: '200' }), 1);
    assert.equal(moved('slipway_api_request_duration_seconds', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    const routes = after.get('slipway_api_request_duration_seconds')!.samples.map((x) => x.labels.route!);
    assert.ok(!routes.some((r) => r.includes(app)), `no route label holds an app's name: ${routes.join(', ')}`);
    // The deployer's overview of what runs (the watch cache, on a cluster), per app.
    assert.equal(sampleValue(after, 'slipway_cluster_cache_synced'), 1);
    assert.equal(sampleValue(after, 'slipway_app_processes_desired', { app }), 1);
    assert.equal(sampleValue(after, 'slipway_app_processes_ready', { app }), 1);
  });
});
