// Slipway's own events for the log drains (issue 39) without a cluster: what the cluster's pod
// updates say happened to an instance, and the lines the server writes for the collector (a real
// store, the real bus and audit log, the fake collector reporting instances).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceEvents } from '../../server/deploy/instance-events.ts';
import { autoscalerEvents } from '../../server/deploy/kube/autoscale.ts';
import { DrainEvents, changeLine, jobLine } from '../../server/ops/drains/events.ts';
import { openStore } from '../../server/store/index.ts';
import { loadConfig } from '../../server/config.ts';
import { Events } from '../../server/jobs/events.ts';
import { AuditLog } from '../../server/ops/audit/recorder.ts';
import { FakeCollector } from '../support/fakes.ts';
import type { V1ContainerStatus, V1Pod, V2HorizontalPodAutoscaler } from '../../server/kube/types.ts';
import type { Services } from '../../server/context.ts';

function pod(status: Partial<V1ContainerStatus>, over: { namespace?: string; app?: string } = {}): V1Pod {
  const app = over.app ?? 'shop';
  return {
    metadata: { name: 'shop-web-7d9f8-x7k2p', namespace: over.namespace ?? `slipway-${app}`, labels: { 'app.kubernetes.io/instance': app, 'app.kubernetes.io/component': 'web', 'slipway/release': '4' } },
    status: { containerStatuses: [{ name: 'web', image: 'i', imageID: 'i', restartCount: 0, ready: true, state: { running: { startedAt: new Date() } }, ...status } as V1ContainerStatus] },
  };
}

test('a restart is a crash with its exit status; OOMKilled is named; a readiness lost while running is a failed health check', () => {
  const up = pod({});
  assert.deepEqual(instanceEvents(up, pod({ restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error' } } })), [
    { app: 'shop', process: 'web', instance: 'web.x7k2p', release: 4, kind: 'crashed', what: 'exited with status 1 (Error)' },
  ]);
  assert.equal(instanceEvents(up, pod({ restartCount: 1, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }))[0]!.what, 'was killed: OOMKilled (exit status 137)');
  assert.deepEqual(instanceEvents(up, pod({ ready: false })).map((e) => e.kind), ['unhealthy']);
  assert.deepEqual(instanceEvents(undefined, up), [], 'a new pod is no event');
  assert.deepEqual(instanceEvents(up, up), [], 'nothing changed');
  assert.deepEqual(instanceEvents(pod({}, { namespace: 'slipway-builds' }), pod({ restartCount: 3 }, { namespace: 'slipway-builds' })), [], "a pod outside its app's namespace is no app's");
});

/** An autoscaler of shop's web as the cluster reports it: its count, when it last scaled, and the CPU it read. */
function hpa(desiredReplicas: number, lastScaleTime: string | undefined, cpuNow = '94m', over: { namespace?: string; current?: number } = {}): V2HorizontalPodAutoscaler {
  return {
    metadata: { name: 'web', namespace: over.namespace ?? 'slipway-shop', labels: { 'app.kubernetes.io/instance': 'shop' }, annotations: { 'slipway/process-type': 'web' } },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web-4' }, maxReplicas: 3, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '50m' } } }] },
    status: { desiredReplicas, currentReplicas: over.current ?? desiredReplicas, ...(lastScaleTime ? { lastScaleTime: lastScaleTime as unknown as Date } : {}), currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: cpuNow } } }] },
  };
}

test("an autoscaler's own change of count is an event with what it read; a new one, a re-pointed one or another's is none", () => {
  const one = hpa(1, '2026-12-06T04:00:00Z');
  // The count it saw when it decided: a new autoscaler says desired 0 until its first look.
  assert.deepEqual(autoscalerEvents(hpa(0, undefined), hpa(3, '2026-12-06T04:01:00Z', '94m', { current: 1 })), [
    { app: 'shop', process: 'web', instance: 'web', release: undefined, kind: 'autoscaled', what: 'from 1 to 3 instances (cpu 94m per instance, target 50m)' },
  ]);
  assert.equal(autoscalerEvents(hpa(3, '2026-12-06T04:01:00Z'), hpa(1, '2026-12-06T04:09:00Z', '2m', { current: 3 }))[0]!.what, 'from 3 to 1 instance (cpu 2m per instance, target 50m)');
  assert.deepEqual(autoscalerEvents(undefined, one), [], 'a new autoscaler is no event');
  assert.deepEqual(autoscalerEvents(one, hpa(1, '2026-12-06T04:00:00Z', '40m')), [], 'a new reading alone is none');
  assert.deepEqual(autoscalerEvents(one, hpa(2, '2026-12-06T04:00:00Z', '94m', { current: 1 })), [], 'a count moved without a scale of its own (a re-pointed autoscaler) is none');
  assert.deepEqual(autoscalerEvents(hpa(1, undefined, '1m', { namespace: 'other' }), hpa(3, '2026-12-06T04:01:00Z', '1m', { namespace: 'other' })), [], "outside its app's namespace it is no app's");
});

test("a job's line names who started it, how it ended and its release", () => {
  const job = { id: 'j1', kind: 'push', app: 'shop', by: 'alice', origin: 'push', status: 'running', createdAt: '', startedAt: '', finishedAt: null, release: null, error: null, logFile: '', credential: null } as const;
  assert.equal(jobLine({ ...job })!.message, 'Build started by alice');
  assert.deepEqual(jobLine({ ...job, status: 'succeeded', release: 5 }), { event: 'build', actor: 'alice', job: 'j1', release: 'v5', message: 'Build by alice succeeded: v5' });
  assert.equal(jobLine({ ...job, kind: 'rollback', status: 'failed', error: 'v2 has no image.' })!.message, 'rollback by alice failed: v2 has no image.');
  assert.equal(jobLine({ ...job, status: 'queued' }), undefined);
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-drain-events-'));
  const store = openStore(join(dir, 'db'));
  store.apps.create('shop');
  store.apps.create('blog');
  const config = loadConfig({ SLIPWAY_DATA_DIR: dir, SLIPWAY_COLLECTOR_IMAGE: 'reg/slipway/collector:1' });
  const events = new Events();
  const audit = new AuditLog(store);
  const collector = new FakeCollector();
  const services = { store, config, events, audit, deployer: { collector } } as unknown as Services;
  const writer = new DrainEvents(services).start(audit);
  const lines = (file: string) => {
    const path = join(config.collectorEventsDir, file);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  };
  return { store, config, events, audit, collector, writer, lines };
}

test("an app with a drain gets its releases, jobs and crashes as lines; an app without one gets none; audit entries only with a global drain", () => {
  const { store, events, audit, collector, writer, lines } = setup();
  store.drains.add({ id: 'a', app: 'shop', url: 'syslog://logs.example.com:514', headers: {}, createdBy: 'alice' });
  for (const app of ['shop', 'blog']) {
    const r = store.releases.create({ app, description: 'Deploy 1a2b3c4', commit: '1a2b3c4', image: `reg/${app}@sha256:abc`, processes: [], config: {}, createdBy: 'alice' });
    events.publish({ type: 'release', app, version: r.version });
    events.publish({ type: 'release', app, version: r.version }); // a canary's step: written once
    store.releases.finish(app, r.version, 'succeeded');
    events.publish({ type: 'release', app, version: r.version });
    collector.report({ app, process: 'web', instance: 'web.x7k2p', release: r.version, kind: 'crashed', what: 'exited with status 1 (Error)' });
    collector.report({ app, process: 'web', instance: 'web', release: undefined, kind: 'autoscaled', what: 'from 1 to 3 instances (cpu 94m per instance, target 50m)' });
  }
  const shop = lines('apps/shop.log');
  assert.deepEqual(shop.map((l) => l.message), [
    'Release v1 created by alice: Deploy 1a2b3c4 (image sha256:abc)', 'Release v1 is live', 'Process web.x7k2p exited with status 1 (Error)',
    'Autoscaled web from 1 to 3 instances (cpu 94m per instance, target 50m)',
  ]);
  assert.equal(shop[3]!.event, 'scale');
  assert.deepEqual({ release: shop[0]!.release, actor: shop[0]!.actor, event: shop[0]!.event }, { release: 'v1', actor: 'alice', event: 'release' });
  assert.equal(typeof shop[0]!.ts, 'number');
  assert.deepEqual(lines('apps/blog.log'), [], 'no drain, no lines');

  audit.record({ actor: 'alice', interface: 'ssh', action: 'config:set', app: 'shop', outcome: 'ok' });
  assert.deepEqual(lines('audit.log'), [], 'no global drain, no audit lines');
  store.drains.add({ id: 'g', app: null, url: 'syslog://logs.example.com:514', headers: {}, createdBy: 'root' });
  const entry = audit.record({ actor: 'alice', interface: 'ssh', action: 'config:unset', app: 'shop', outcome: 'ok' });
  assert.deepEqual(lines('audit.log'), [JSON.parse(JSON.stringify(entry))], 'the entry as stored, hash and all');
  events.publish({ type: 'release', app: 'blog', version: 1 });
  writer.stop();
  collector.report({ app: 'shop', process: 'web', instance: 'web.x7k2p', release: 1, kind: 'crashed', what: 'restarted' });
  assert.equal(lines('apps/shop.log').length, 4, 'stopped: nothing more written');
});

test('a file past its bound is moved to .1 and a new one begun', () => {
  const { store, config, writer, lines } = setup();
  store.drains.add({ id: 'a', app: 'shop', url: 'syslog://logs.example.com:514', headers: {}, createdBy: 'alice' });
  writeFileSync(join(config.collectorEventsDir, 'apps', 'shop.log'), 'x'.repeat(1024 * 1024 + 1));
  writer.appLine('shop', { event: 'job', message: 'after' });
  assert.deepEqual(lines('apps/shop.log').map((l) => l.message), ['after']);
  assert.equal(readFileSync(join(config.collectorEventsDir, 'apps', 'shop.log.1'), 'utf8').length, 1024 * 1024 + 1);
});

test('changes of the processes have lines: the formation a scale left, stop and start, sleeping and waking', () => {
  assert.equal(changeLine('scaled', { web: 2, worker: 1 })?.message, 'Scaled to web=2 worker=1');
  assert.equal(changeLine('asleep', {})?.event, 'sleep');
  assert.equal(changeLine('woke', {})?.message, 'Woke: web instances ready again');
  assert.equal(changeLine('config', {}), undefined, "a config change's job has its line");
});
