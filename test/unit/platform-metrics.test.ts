// The platform's metrics as a scrape shows them (server/observe/metrics.ts), who may scrape them
// (ops/observe/scrape.ts), and SLIPWAY_METRICS_ALLOW. The text is read back with the parser
// Prometheus itself uses (test/support/prom-text.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildQueued, connectionOpened, connectionRefused, exposition, jobEnded, jobStarted, observeApiRequest, observeBackup, observeDrill,
  observePush, observePushToLive, observeRollback, setAppProcesses, setBackupTimes, startProcessMetrics, streamOpened,
} from '../../server/observe/metrics.ts';
import { allowList, scrapeAccess } from '../../server/ops/observe/scrape.ts';
import { loadConfig } from '../../server/config.ts';
import { inSpan, pastSpan } from '../../server/observe/traces.ts';
import type { Identity } from '../../server/auth/identity.ts';
import { parseExposition, sampleOf, sampleValue } from '../support/prom-text.ts';

async function scraped() {
  return parseExposition((await exposition()).text);
}

test('a push, a build slot, a rollback and a job move their counters and histograms', async () => {
  const before = await scraped();
  observePush('pack', 'succeeded', 4.2);
  observePush('pack', 'failed', 1);
  observePushToLive('pack', 3.9);
  observeRollback('succeeded', 0.2);
  jobStarted('push');
  const waited = buildQueued();
  const mid = await scraped();
  assert.equal(sampleValue(mid, 'slipway_build_queue_length'), sampleValue(before, 'slipway_build_queue_length') + 1);
  assert.equal(sampleValue(mid, 'slipway_jobs_running', { kind: 'push' }), sampleValue(before, 'slipway_jobs_running', { kind: 'push' }) + 1);
  waited();
  waited();
  jobEnded('push', 'succeeded');
  const after = await scraped();
  const moved = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
  assert.equal(moved('slipway_pushes_total', { backend: 'pack', outcome: 'succeeded' }), 1);
  assert.equal(moved('slipway_pushes_total', { backend: 'pack', outcome: 'failed' }), 1);
  assert.equal(moved('slipway_push_duration_seconds', { backend: 'pack', outcome: 'succeeded' }), 1);
  assert.equal(moved('slipway_push_to_live_seconds', { backend: 'pack' }), 1);
  assert.equal(moved('slipway_rollback_duration_seconds', { outcome: 'succeeded' }), 1);
  assert.equal(moved('slipway_build_queue_wait_seconds'), 1, 'one wait observed, however often its end is said');
  assert.equal(sampleValue(after, 'slipway_build_queue_length'), sampleValue(before, 'slipway_build_queue_length'));
  assert.equal(moved('slipway_jobs_total', { kind: 'push', status: 'succeeded' }), 1);
  assert.equal(sampleValue(after, 'slipway_jobs_running', { kind: 'push' }), sampleValue(before, 'slipway_jobs_running', { kind: 'push' }));
  const live = sampleOf(after, 'slipway_push_to_live_seconds', { backend: 'pack' })!;
  assert.equal(after.get('slipway_push_to_live_seconds')!.type, 'HISTOGRAM');
  assert.ok(live.buckets!['5']! >= 1 && Number(live.sum) >= 3.9, 'the 3.9 s push-to-live is in the 5 s bucket');
});

test('connections, refusals, streams and API requests: fixed labels, the route pattern and never the URL', async () => {
  const before = await scraped();
  const closed = connectionOpened('ssh');
  connectionRefused('http', 'per_source');
  const stream = streamOpened();
  observeApiRequest('GET', '/api/v1/apps/:app', 200, 0.003);
  observeApiRequest('GET', 'unmatched', 404, 0.001);
  const mid = await scraped();
  assert.equal(sampleValue(mid, 'slipway_connections_open', { transport: 'ssh' }) - sampleValue(before, 'slipway_connections_open', { transport: 'ssh' }), 1);
  assert.equal(sampleValue(mid, 'slipway_sse_streams_open') - sampleValue(before, 'slipway_sse_streams_open'), 1);
  closed();
  closed();
  stream();
  const after = await scraped();
  assert.equal(sampleValue(after, 'slipway_connections_open', { transport: 'ssh' }), sampleValue(before, 'slipway_connections_open', { transport: 'ssh' }));
  assert.equal(sampleValue(after, 'slipway_connections_total', { transport: 'ssh' }) - sampleValue(before, 'slipway_connections_total', { transport: 'ssh' }), 1);
  assert.equal(sampleValue(after, 'slipway_connections_refused_total', { transport: 'http', reason: 'per_source' }) - sampleValue(before, 'slipway_connections_refused_total', { transport: 'http', reason: 'per_source' }), 1);
  assert.equal(sampleValue(after, 'slipway_sse_streams_open'), sampleValue(before, 'slipway_sse_streams_open'));
  const routes = after.get('slipway_api_request_duration_seconds')!.samples.map((m) => m.labels.route);
  assert.ok(routes.includes('/api/v1/apps/:app') && routes.includes('unmatched'));
});

test('process counts and backup times are the state at the scrape: an app gone is gone', async () => {
  setAppProcesses(new Map([['shop', { desired: 3, ready: 2 }], ['blog', { desired: 1, ready: 1 }]]));
  setBackupTimes(new Map([['shop', { backup: 1_700_000_000_000, drill: 0 }]]));
  let m = await scraped();
  assert.equal(sampleValue(m, 'slipway_app_processes_desired', { app: 'shop' }), 3);
  assert.equal(sampleValue(m, 'slipway_app_processes_ready', { app: 'shop' }), 2);
  assert.equal(sampleValue(m, 'slipway_cluster_cache_synced'), 1);
  assert.equal(sampleValue(m, 'slipway_database_backup_last_success_timestamp_seconds', { app: 'shop' }), 1_700_000_000);
  assert.equal(sampleValue(m, 'slipway_database_drill_last_success_timestamp_seconds', { app: 'shop' }), 0);
  setAppProcesses(new Map([['shop', { desired: 1, ready: 1 }]]));
  m = await scraped();
  assert.equal(m.get('slipway_app_processes_desired')!.samples.length, 1, 'blog, destroyed, is no longer listed');
  setAppProcesses(undefined);
  m = await scraped();
  assert.equal(sampleValue(m, 'slipway_cluster_cache_synced'), 0);
  assert.equal(m.get('slipway_app_processes_desired')?.samples.length ?? 0, 0, 'no counts while the cache has not listed');
});

test('database backups and drills are counted by outcome', async () => {
  const before = await scraped();
  observeBackup(true);
  observeBackup(false);
  observeDrill(false);
  const after = await scraped();
  assert.equal(sampleValue(after, 'slipway_database_backups_total', { outcome: 'succeeded' }) - sampleValue(before, 'slipway_database_backups_total', { outcome: 'succeeded' }), 1);
  assert.equal(sampleValue(after, 'slipway_database_backups_total', { outcome: 'failed' }) - sampleValue(before, 'slipway_database_backups_total', { outcome: 'failed' }), 1);
  assert.equal(sampleValue(after, 'slipway_database_drills_total', { outcome: 'failed' }) - sampleValue(before, 'slipway_database_drills_total', { outcome: 'failed' }), 1);
});

test("the process's own metrics: resident memory and event-loop lag", async () => {
  startProcessMetrics();
  startProcessMetrics();
  const m = await scraped();
  assert.ok(sampleValue(m, 'process_resident_memory_bytes') > 10 * 2 ** 20);
  assert.ok(m.has('nodejs_eventloop_lag_seconds'));
  assert.ok(m.has('nodejs_eventloop_lag_p99_seconds'));
});

test("the parser refuses what is not Prometheus's text format", () => {
  assert.throws(() => parseExposition('# TYPE a counter\na 1\nthis is { not a sample\n'), /not Prometheus's text format: .*line 3/);
  assert.throws(() => parseExposition('# TYPE a counter\na{x="y"} many\n'), /not Prometheus's text format/);
  assert.equal(sampleValue(parseExposition('# TYPE a counter\na{x="y"} 2\n'), 'a', { x: 'y' }), 2);
});

const admin: Identity = { name: 'ops', admin: true, via: 'http', scope: 'admin' };
const reader: Identity = { name: 'ops', admin: false, via: 'http', scope: 'read', allApps: true };
const dev: Identity = { name: 'dev', admin: false, via: 'http', scope: 'deploy' };

test("who may scrape: an admin's token from anywhere, an allowed address without a token, nobody else", () => {
  const allow = allowList(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32']);
  const none = allowList([]);
  assert.deepEqual(scrapeAccess(none, { identity: admin, address: '203.0.113.9' }), { ok: true });
  assert.deepEqual(scrapeAccess(allow, { identity: undefined, address: '10.1.2.3' }), { ok: true });
  assert.deepEqual(scrapeAccess(allow, { identity: undefined, address: '::ffff:192.0.2.7' }), { ok: true }, 'an IPv4 peer on a dual-stack socket');
  assert.deepEqual(scrapeAccess(allow, { identity: undefined, address: '2001:db8::1' }), { ok: true });
  const outside = scrapeAccess(allow, { identity: undefined, address: '192.0.2.8' });
  assert.equal(outside.ok, false);
  assert.equal(!outside.ok && outside.status, 401);
  assert.match(!outside.ok ? outside.message : '', /admin's token .*SLIPWAY_METRICS_ALLOW/);
  const loopback = scrapeAccess(none, { identity: undefined, address: '127.0.0.1' });
  assert.equal(!loopback.ok && loopback.status, 401, 'not even loopback by default');
  for (const who of [reader, dev]) {
    const r = scrapeAccess(allow, { identity: who, address: '10.1.2.3' });
    assert.equal(!r.ok && r.status, 403, `a ${who.scope} token is refused, even from an allowed address`);
    assert.match(!r.ok ? r.message : '', new RegExp(`${who.scope} scope`));
  }
  assert.equal(scrapeAccess(allow, { identity: undefined, address: 'unknown' }).ok, false);
});

test('SLIPWAY_METRICS_ALLOW: none by default, CIDRs or addresses, one sentence for a bad one', () => {
  assert.deepEqual(loadConfig({}).metricsAllow, []);
  assert.deepEqual(loadConfig({ SLIPWAY_METRICS_ALLOW: '10.0.0.5, 192.168.0.0/16' }).metricsAllow, ['10.0.0.5/32', '192.168.0.0/16']);
  assert.throws(() => loadConfig({ SLIPWAY_METRICS_ALLOW: 'prometheus.internal' }), /^UserError: SLIPWAY_METRICS_ALLOW must be a comma-separated list of addresses or CIDRs: /);
});

test('without SLIPWAY_OTLP_TRACES_URL a stage runs as it is: its value, its error, nothing recorded', async () => {
  assert.equal(loadConfig({}).otlpTracesUrl, undefined);
  assert.equal(loadConfig({ SLIPWAY_OTLP_TRACES_URL: 'http://collector:4318/v1/traces' }).otlpTracesUrl, 'http://collector:4318/v1/traces');
  assert.throws(() => loadConfig({ SLIPWAY_OTLP_TRACES_URL: 'collector:4318' }), /^UserError: SLIPWAY_OTLP_TRACES_URL must be an http:\/\/ or https:\/\/ address/);
  assert.equal(await inSpan('build', { 'slipway.app': 'shop' }, async () => 7), 7);
  await assert.rejects(inSpan('build', {}, async () => { throw new Error('pack failed'); }), /pack failed/);
  pastSpan('receive', {}, performance.now() - 5, performance.now());
});
