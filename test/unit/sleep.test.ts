// Apps that sleep at zero (issue 40): the idle decision from the ingress's request counts, the
// parsing of an idle time, the waker's EndpointSlice, and the bound on held requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleLongEnough, observe, requestCounts } from '../../server/ops/processes/sleep-idle.ts';
import { formatSleepAfter, sleepSeconds } from '../../server/ops/processes/sleep.ts';
import { loadConfig, parseSleepAfter } from '../../server/config.ts';
import { wakerSliceObject, replicasPatch } from '../../server/deploy/sleep-objects.ts';
import { HeldRequests } from '../../server/transport/http/waker.ts';
import { UserError } from '../../server/errors.ts';

const METRICS = `# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetes"} 41
traefik_service_requests_total{code="404",method="GET",protocol="http",service="slipway-shop-web-http@kubernetes"} 1
traefik_service_requests_total{code="200",method="POST",protocol="http",service="slipway-blog-web-http@kubernetes"} 7
traefik_service_request_duration_seconds_count{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetes"} 999
traefik_service_requests_total{service="broken"} not-a-number
traefik_open_connections{entrypoint="web",protocol="TCP"} 3
`;

test("the ingress's request counts are summed per service over code, method and protocol; other metrics and bad lines are skipped", () => {
  assert.deepEqual([...requestCounts(METRICS)], [['slipway-shop-web-http@kubernetes', 42], ['slipway-blog-web-http@kubernetes', 7]]);
  assert.deepEqual([...requestCounts('')], []);
});

test('an app is idle once its count has not moved for its whole idle time, counted from the first reading', () => {
  const t0 = 1_000_000;
  let s = observe(undefined, 5, t0);
  // The first reading starts the idle time: never asleep on the round that first sees the app.
  assert.equal(idleLongEnough(s, t0, 3), false);
  s = observe(s, 5, t0 + 2000);
  assert.equal(idleLongEnough(s, t0 + 2000, 3), false);
  s = observe(s, 5, t0 + 3000);
  assert.equal(idleLongEnough(s, t0 + 3000, 3), true);
  // A request moves the count: the idle time starts over.
  s = observe(s, 6, t0 + 3500);
  assert.equal(s.changedAt, t0 + 3500);
  assert.equal(idleLongEnough(s, t0 + 6000, 3), false);
  assert.equal(idleLongEnough(s, t0 + 6500, 3), true);
  // A count that falls (Traefik restarted) is a change too.
  s = observe(s, 0, t0 + 7000);
  assert.equal(idleLongEnough(s, t0 + 9000, 3), false);
  // 0 is never.
  assert.equal(idleLongEnough(s, t0 + 10_000_000, 0), false);
});

test('an idle time is seconds or 90s, 30m, 2h, 1d, at most 30 days; anything else is one sentence', () => {
  assert.deepEqual(['1800', '90s', '30m', '2h', '1d', '0', ' 5m '].map(parseSleepAfter), [1800, 90, 1800, 7200, 86_400, 0, 300]);
  assert.deepEqual(['31d', 'soon', '-1', '1.5h', ''].map(parseSleepAfter), [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(sleepSeconds('default'), null);
  assert.equal(sleepSeconds(600), 600);
  assert.throws(() => sleepSeconds('soon'), (e: unknown) => e instanceof UserError && /^"soon" is not an idle time; give seconds/.test(e.message));
  assert.throws(() => sleepSeconds(1.5), UserError);
  assert.deepEqual([0, 90, 1800, 7200, 86_400 * 2].map(formatSleepAfter), ['off', '90s', '30m', '2h', '2d']);
});

test('the waker settings: an address of this machine (not loopback), its port, the bounds; previews sleep after 30m by default', () => {
  const base = { SLIPWAY_DATA_DIR: '/tmp/x' };
  const c = loadConfig(base);
  assert.deepEqual([c.wakerAddress, c.wakerPort, c.wakerMaxHeld, c.wakerHoldMs, c.previewSleepSeconds, c.sleepRoundMs], [undefined, 8090, 100, 30_000, 1800, 30_000]);
  assert.equal(loadConfig({ ...base, SLIPWAY_WAKER_ADDRESS: '10.0.0.5' }).wakerAddress, '10.0.0.5');
  assert.throws(() => loadConfig({ ...base, SLIPWAY_WAKER_ADDRESS: '127.0.0.1' }), /SLIPWAY_WAKER_ADDRESS must be an IP address of this machine that the ingress reaches \(not a loopback one\), got "127\.0\.0\.1"\./);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_WAKER_ADDRESS: 'example.com' }), /SLIPWAY_WAKER_ADDRESS must be an IP address/);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_PREVIEW_SLEEP_AFTER: 'later' }), /SLIPWAY_PREVIEW_SLEEP_AFTER must be seconds \(1800\) or a duration like 90s, 30m, 2h or 1d/);
  assert.equal(loadConfig({ ...base, SLIPWAY_PREVIEW_SLEEP_AFTER: '0' }).previewSleepSeconds, 0);
});

test("the waker's EndpointSlice belongs to the web Service, is not the EndpointSlice controller's, and names only the waker", () => {
  const slice = wakerSliceObject('shop', { address: '10.0.0.5', port: 8090 });
  assert.equal(slice.metadata.namespace, 'slipway-shop');
  assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'web');
  assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'slipway-waker');
  assert.deepEqual([slice.addressType, slice.endpoints, slice.ports], ['IPv4', [{ addresses: ['10.0.0.5'], conditions: { ready: true, serving: true, terminating: false } }], [{ name: 'http', port: 8090, protocol: 'TCP' }]]);
  assert.equal(wakerSliceObject('shop', { address: 'fd00::5', port: 1 }).addressType, 'IPv6');
  assert.deepEqual(replicasPatch('shop', 7, 0), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-v7', namespace: 'slipway-shop' }, spec: { replicas: 0 } });
});

test('held requests are bounded: one beyond the bound is refused until a place is given back', () => {
  const held = new HeldRequests(2);
  assert.deepEqual([held.take(), held.take(), held.take()], [true, true, false]);
  assert.equal(held.held, 2);
  held.release();
  assert.equal(held.take(), true);
  held.release(); held.release(); held.release();
  assert.equal(held.held, 0, 'never below zero');
});
