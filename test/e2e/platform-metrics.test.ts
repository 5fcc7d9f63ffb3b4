// GET /metrics on the testbed's real pieces (pack, registry, Kubernetes, Traefik): a real push of
// test/fixtures/node-app moves the push and build counters and the push-to-live histogram (pack
// backend), the app's process counts come from the real watch cache, a rollback moves its
// histogram, and every answer is read with the parser Prometheus itself uses. A non-admin token
// and an address outside SLIPWAY_METRICS_ALLOW are refused; an address inside it is not. The push
// is also sent as a trace over OTLP/HTTP (SLIPWAY_OTLP_TRACES_URL) to a receiver on loopback:
// push ⊃ receive, build, rollout ⊃ switch (the traffic moved by the real deployer).
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { makeToken } from '../support/api-client.ts';
import { destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { parseExposition, sampleOf, sampleValue, scrapeMetrics, type Family } from '../support/prom-text.ts';
import { attribute, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APPS = { web: `prom-${randomBytes(3).toString('hex')}` } as const;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;

describe('GET /metrics on the testbed: a real push moves the push counters and push-to-live', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let adminToken: string;
  let receiver: OtlpReceiver | undefined;
  const host = `${APPS.web}.${BASE_DOMAIN}`;

  async function metrics(): Promise<Map<string, Family>> {
    const r = await scrapeMetrics(s!.slipway.httpPort, { token: adminToken });
    assert.equal(r.status, 200, r.text);
    return parseExposition(r.text);
  }

  before(async () => {
    receiver = await startOtlpReceiver();
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_METRICS_ALLOW: '127.0.0.2', SLIPWAY_OTLP_TRACES_URL: receiver.url }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (s) adminToken = await makeToken(s, s.admin, 'e2e-scraper', 'admin');
  });
  after(async () => {
    await destroyApps(s, builder, APPS);
    await receiver?.close();
  });

  test('a push deploys; its counters, build and push-to-live moved; the watch cache counts its instance; a rollback is timed', { timeout: PUSH_MS + 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const before = await metrics();
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    const started = performance.now();
    const pushed = await s.git(['push', s.sshRemote(APPS.web), 'main'], { cwd: wd });
    const pushSeconds = (performance.now() - started) / 1000;
    assert.equal(pushed.exitCode, 0, pushed.stderr);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === 'hello from slipway\n', ROUTE_MS), 'hello from slipway\n');

    const after = await metrics();
    const moved = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.equal(moved('slipway_pushes_total', { backend: 'pack', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_push_duration_seconds', { backend: 'pack', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_builds_total', { backend: 'pack', outcome: 'succeeded' }), 1);
    assert.equal(moved('slipway_push_to_live_seconds', { backend: 'pack' }), 1);
    assert.equal(moved('slipway_jobs_total', { kind: 'push', status: 'succeeded' }), 1);
    const live = Number(sampleOf(after, 'slipway_push_to_live_seconds', { backend: 'pack' })!.sum) - Number(sampleOf(before, 'slipway_push_to_live_seconds', { backend: 'pack' })?.sum ?? 0);
    const build = Number(sampleOf(after, 'slipway_build_duration_seconds', { backend: 'pack', outcome: 'succeeded' })!.sum) - Number(sampleOf(before, 'slipway_build_duration_seconds', { backend: 'pack', outcome: 'succeeded' })?.sum ?? 0);
    // Push-to-live holds the build and the rollout, and is within what the pusher waited.
    assert.ok(live > build && build > 0, `push-to-live ${live} s, build ${build} s`);
    assert.ok(live <= pushSeconds, `push-to-live ${live} s, the git push took ${pushSeconds} s`);
    t.diagnostic(`push ${pushSeconds.toFixed(1)} s: push-to-live ${live.toFixed(1)} s, build ${build.toFixed(1)} s`);

    // The same push as a trace: its stages nest under it, the switch of the traffic under the rollout.
    const root = await eventually('the push span at the OTLP receiver', async () => receiver!.spans().find((x) => x.name === 'push' && attribute(x, 'slipway.app') === APPS.web), 15_000);
    const inTrace = receiver!.spans().filter((x) => x.traceId === root.traceId);
    const named = (name: string) => inTrace.find((x) => x.name === name);
    for (const name of ['receive', 'build', 'rollout']) assert.equal(named(name)?.parentSpanId, root.spanId, `${name} is a child of push: ${inTrace.map((x) => x.name).join(', ')}`);
    assert.equal(named('switch')?.parentSpanId, named('rollout')!.spanId, 'the switch of the traffic is part of the rollout');
    assert.equal(attribute(named('build')!, 'slipway.backend'), 'pack');
    const seconds = (name: string) => Number(BigInt(named(name)!.endTimeUnixNano) - BigInt(named(name)!.startTimeUnixNano)) / 1e9;
    t.diagnostic(`trace: push ${seconds('push').toFixed(1)} s = receive ${seconds('receive').toFixed(2)} s, build ${seconds('build').toFixed(1)} s, rollout ${seconds('rollout').toFixed(1)} s (switch ${seconds('switch').toFixed(2)} s)`);

    // The real watch cache (its first list started by the first scrape): one instance asked for, ready.
    let seen = '';
    await eventually(() => `the app's instance in the watch cache's counts (last: ${seen})`, async () => {
      const m = await metrics();
      const counts = [sampleValue(m, 'slipway_cluster_cache_synced'), sampleValue(m, 'slipway_app_processes_desired', { app: APPS.web }), sampleValue(m, 'slipway_app_processes_ready', { app: APPS.web })];
      seen = `synced ${counts[0]}, desired ${counts[1]}, ready ${counts[2]}`;
      return counts.every((n) => n === 1);
    }, 30_000);

    // A second release (a config change), then a rollback to the first.
    assert.equal((await s.ssh(s.admin, `config:set ${APPS.web} GREETING=two`)).exitCode, 0);
    const rolled = await s.ssh(s.admin, `rollback ${APPS.web} v1`);
    assert.equal(rolled.exitCode, 0, rolled.stderr);
    const end = await metrics();
    assert.equal(sampleValue(end, 'slipway_rollbacks_total', { outcome: 'succeeded' }) - sampleValue(after, 'slipway_rollbacks_total', { outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(end, 'slipway_rollback_duration_seconds', { outcome: 'succeeded' }) - sampleValue(after, 'slipway_rollback_duration_seconds', { outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(end, 'slipway_jobs_total', { kind: 'config:set', status: 'succeeded' }) - sampleValue(after, 'slipway_jobs_total', { kind: 'config:set', status: 'succeeded' }), 1);
  });

  test('refused: a non-admin token, and an address outside SLIPWAY_METRICS_ALLOW; an address inside it reads them', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const port = s.slipway.httpPort;
    const readToken = await makeToken(s, s.admin, 'e2e-reader', 'read');
    const reader = await scrapeMetrics(port, { token: readToken });
    assert.equal(reader.status, 403);
    assert.match(reader.text, /The platform's metrics are for admins: .*read scope/);
    const outside = await scrapeMetrics(port);
    assert.equal(outside.status, 401);
    assert.match(outside.text, /need an admin's token .*SLIPWAY_METRICS_ALLOW/);
    const inside = await scrapeMetrics(port, { localAddress: '127.0.0.2' });
    assert.equal(inside.status, 200, inside.text);
    assert.ok(parseExposition(inside.text).has('process_resident_memory_bytes'));
  });
});
