// Log drains without a cluster: the collector's configuration and objects (pure), the URL and
// header rules, what drains:info reads of the collector's metrics and log, and the operations
// with a fake collector at the deployer's port (store, apply, undo on failure, who may do what).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectorConfig, collectorDaemonSet, collectorEgressPolicy, drainExporterId, type AllowedDrainAddress, type CollectorDrain } from '../../server/kube/collector.ts';
import { parseDrainUrl, parseHeaders, shownUrl } from '../../server/ops/drains/drain-url.ts';
import { addLog, addMetrics, type Delivery } from '../../server/ops/drains/delivery.ts';
import { addDrain, drainsInfo, listDrains, removeDrain } from '../../server/ops/drains/drains.ts';
import { testFrame } from '../../server/ops/drains/drain-test.ts';
import { openStore } from '../../server/store/index.ts';
import { loadConfig } from '../../server/config.ts';
import type { CollectorPod, LogCollector } from '../../server/deploy/deployer.ts';
import type { Actor } from '../../server/ops/actor.ts';

const A = '0a0a0a0a-1111-4222-8333-444455556666';
const B = '0b0b0b0b-1111-4222-8333-444455556666';
const G = '0c0c0c0c-1111-4222-8333-444455556666';
const drains: CollectorDrain[] = [
  { id: A, token: `d.${A}`, app: 'shop', target: { kind: 'syslog', host: 'logs.example.com', port: 6514, tls: true } },
  { id: B, token: `d.${B}`, app: 'blog', target: { kind: 'syslog', host: '203.0.113.9', port: 514, tls: false } },
  { id: G, token: `d.${G}`, app: null, target: { kind: 'otlp', endpoint: 'https://otel.example.com/v1/logs', headers: { 'X-Key': 'k' } } },
];

test("the collector's configuration routes each app's namespace to its own drains, global drains take every line", () => {
  const c = JSON.parse(collectorConfig(drains, { podLogs: ['/var/log/pods', '/srv/pods'] })!) as Record<string, any>;
  assert.deepEqual(c.receivers.filelog.include, ['/var/log/slipway-pods/0/slipway-*_*/*/*.log', '/var/log/slipway-pods/1/slipway-*_*/*/*.log']);
  assert.ok(c.receivers.filelog.exclude.includes('/var/log/slipway-pods/0/slipway-builds_*/*/*.log'));
  assert.ok(c.receivers.filelog.exclude.includes('/var/log/slipway-pods/1/slipway-drains_*/*/*.log'));
  assert.equal(c.receivers.filelog.storage, 'file_storage');
  assert.deepEqual(c.connectors.routing.table, [
    { context: 'resource', condition: 'attributes["k8s.namespace.name"] == "slipway-blog"', pipelines: [`logs/d-${B}`] },
    { context: 'resource', condition: 'attributes["k8s.namespace.name"] == "slipway-shop"', pipelines: [`logs/d-${A}`] },
  ]);
  assert.deepEqual(c.service.pipelines['logs/in'], { receivers: ['filelog', 'filelog/events'], exporters: ['routing'] }, "Slipway's events are routed by app like the pods' lines");
  assert.deepEqual(c.service.pipelines[`logs/d-${A}`], { receivers: ['routing'], processors: [`attributes/d-${A}`, 'batch'], exporters: [`syslog/d-${A}`] });
  assert.deepEqual(c.service.pipelines[`logs/d-${G}`], { receivers: ['filelog', 'filelog/events', 'filelog/audit'], processors: [`attributes/d-${G}`, 'batch'], exporters: [`otlp_http/d-${G}`] });
  assert.deepEqual(c.processors[`attributes/d-${A}`], { actions: [{ key: 'hostname', value: `d.${A}`, action: 'upsert' }] });
  assert.equal(c.exporters[`syslog/d-${A}`].tls.insecure, false);
  assert.equal(c.exporters[`syslog/d-${A}`].tls.max_version, '1.2', 'TLS 1.3 tickets unread at the close of each batch make it a reset that loses the batch');
  assert.equal(c.exporters[`syslog/d-${B}`].tls.insecure, true, 'syslog:// is plain TCP');
  assert.equal(c.exporters[`syslog/d-${A}`].enable_octet_counting, true);
  assert.equal(c.exporters[`syslog/d-${A}`].sending_queue.storage, 'file_storage', "a drain's queue survives a restart");
  assert.deepEqual(c.exporters[`otlp_http/d-${G}`].headers, { 'X-Key': 'k' });
  assert.equal(drainExporterId(drains[2]!), `otlp_http/d-${G}`);
  const h = JSON.parse(collectorConfig([{ id: A, token: `d.${A}`, app: 'shop', target: { kind: 'https', endpoint: 'https://u:p@logs.example.com/x' } }], { podLogs: ['/var/log/pods'] })!) as Record<string, any>;
  assert.equal(h.exporters[`logplex/d-${A}`].endpoint, 'https://u:p@logs.example.com/x', "Heroku's HTTPS drain: our logplex exporter");
});

test('no drain, no collector; only global drains, no routing', () => {
  assert.equal(collectorConfig([], { podLogs: ['/var/log/pods'] }), undefined);
  const c = JSON.parse(collectorConfig([drains[2]!], { podLogs: ['/var/log/pods'] })!) as Record<string, any>;
  assert.equal(c.connectors, undefined);
  assert.equal(c.service.pipelines['logs/in'], undefined);
});

test("the DaemonSet mounts the pod logs read-only, rolls when the configuration changes, runs without capabilities or token", () => {
  const settings = { image: 'reg/slipway/collector:1', podLogs: ['/var/log/pods'], stateDir: '/var/lib/slipway/collector', eventsDir: '/var/lib/slipway/drain-events' };
  const one = collectorDaemonSet('{"a":1}', settings);
  const two = collectorDaemonSet('{"a":2}', settings);
  assert.notEqual(one.spec!.template.metadata!.annotations!['slipway/config-hash'], two.spec!.template.metadata!.annotations!['slipway/config-hash']);
  const pod = one.spec!.template.spec!;
  assert.equal(pod.automountServiceAccountToken, false);
  const c = pod.containers[0]!;
  assert.deepEqual(c.securityContext!.capabilities, { drop: ['ALL'] });
  assert.equal(c.securityContext!.readOnlyRootFilesystem, true);
  assert.deepEqual(c.volumeMounts!.find((m) => m.name === 'pod-logs-0'), { name: 'pod-logs-0', mountPath: '/var/log/slipway-pods/0', readOnly: true });
  assert.deepEqual(pod.volumes!.find((v) => v.name === 'state')!.hostPath, { path: '/var/lib/slipway/collector', type: 'DirectoryOrCreate' });
  assert.deepEqual(c.volumeMounts!.find((m) => m.name === 'events'), { name: 'events', mountPath: '/var/lib/slipway-events', readOnly: true }, "the server's events, read-only");
  assert.deepEqual(pod.volumes!.find((v) => v.name === 'events')!.hostPath, { path: '/var/lib/slipway/drain-events', type: 'DirectoryOrCreate' });
});

test('drain URLs: the three kinds, and one sentence for anything else', () => {
  assert.deepEqual(parseDrainUrl('syslog+tls://logs.example.com:6514').target, { kind: 'syslog', host: 'logs.example.com', port: 6514, tls: true });
  assert.deepEqual(parseDrainUrl('syslog://[2001:db8::1]:514').target, { kind: 'syslog', host: '2001:db8::1', port: 514, tls: false });
  assert.deepEqual(parseDrainUrl('otlp+https://otel.example.com', { 'X-Key': 'k' }).target, { kind: 'otlp', endpoint: 'https://otel.example.com/v1/logs', headers: { 'X-Key': 'k' } });
  for (const [raw, why] of [
    ['http://logs.example.com/drain', /the scheme http is not one of them/],
    ['syslog+tls://logs.example.com', /needs its port/],
    ['syslog://u:p@logs.example.com:514', /takes no credentials/],
    ['syslog://logs.example.com:514/x', /has no path/],
    ['otlp+https://u:p@otel.example.com/v1/logs', /credentials do not belong in it/],
    ['syslog://logs.example.com:514?x=1', /query or a fragment/],
    ['syslog://a b:514', /spaces or control characters/],
  ] as const) {
    assert.throws(() => parseDrainUrl(raw), (err: Error) => why.test(err.message) && err.message.endsWith('Use syslog+tls://HOST:PORT, syslog://HOST:PORT, https://[USER:PASSWORD@]HOST[:PORT]/PATH or otlp+https://HOST[:PORT]/PATH.'), raw);
  }
  assert.throws(() => parseDrainUrl('syslog://logs.example.com:514', { 'X-Key': 'k' }), /Headers \(--header\) go with otlp\+https:\/\/ drains only/);
  assert.deepEqual(parseDrainUrl('https://user:p%40ss@logs.example.com/drain/1').target, { kind: 'https', endpoint: 'https://user:p%40ss@logs.example.com/drain/1' });
  assert.equal(shownUrl('https://user:p%40ss@logs.example.com/drain/1'), 'https://user:***@logs.example.com/drain/1');
  assert.equal(shownUrl('syslog+tls://logs.example.com:6514'), 'syslog+tls://logs.example.com:6514');
});

test('headers: NAME=VALUE, no control characters, none the collector sets', () => {
  assert.deepEqual(parseHeaders(['Authorization=Bearer a=b']), { Authorization: 'Bearer a=b' });
  assert.throws(() => parseHeaders(['X-Key=a\r\nHost: evil']), /is not a header/);
  assert.throws(() => parseHeaders(['=v']), /is not a header/);
  assert.throws(() => parseHeaders(['Host=x']), /set by the collector itself/);
});

test("delivery from the collector's metrics (summed over pods) and the newest error of its log", () => {
  const into = new Map<string, Delivery>();
  const id = `syslog/d-${A}`;
  const metrics = (sent: number) => [
    '# HELP otelcol_exporter_sent_log_records Number of log record successfully sent to destination.',
    `otelcol_exporter_sent_log_records_total{exporter="${id}",otel_scope_name="x"} ${sent}`,
    `otelcol_exporter_send_failed_log_records_total{exporter="${id}"} 2`,
    `otelcol_exporter_enqueue_failed_log_records_total{exporter="${id}"} 1`,
    `otelcol_exporter_queue_size{data_type="logs",exporter="${id}"} 3`,
    `otelcol_exporter_queue_capacity{data_type="logs",exporter="${id}"} 1000`,
  ].join('\n');
  addMetrics(into, metrics(10));
  addMetrics(into, metrics(5));
  addLog(into, [
    `2026-12-05T14:40:09.1Z {"level":"info","ts":"2026-12-05T14:40:09.415Z","msg":"Exporting failed. Will retry the request after interval.","otelcol.component.id":"${id}","error":"dial tcp 10.0.0.1:6514: connect: connection refused"}`,
    `2026-12-05T14:40:10.1Z {"level":"info","ts":"2026-12-05T14:40:10.486Z","msg":"Exporting failed. Will retry the request after interval.","otelcol.component.id":"${id}","error":"tls: failed to verify certificate"}`,
    '2026-12-05T14:40:11.1Z {"level":"info","ts":"2026-12-05T14:40:11.000Z","msg":"Everything is ready."}',
    '2026-12-05T14:40:12.1Z {"cut', 
  ].join('\n'));
  assert.deepEqual(into.get(id), { sent: 15, failed: 4, queued: 6, dropped: 2, lastError: { at: '2026-12-05T14:40:10.486Z', message: 'tls: failed to verify certificate' } });
});

test("drains:test's line is framed as the collector's are", () => {
  assert.equal(testFrame('d.x', new Date('2026-12-05T00:00:00Z')), '77 <190>1 2026-12-05T00:00:00.000Z d.x app slipway - - drains:test from Slipway\n');
});

/** A store with apps shop and blog, a config with a collector image, and a collector that records what it was applied with. */
function setup(opts: { fail?: boolean } = {}) {
  const store = openStore(join(mkdtempSync(join(tmpdir(), 'slipway-drains-')), 'db'));
  for (const app of ['shop', 'blog']) store.apps.create(app);
  const applied: CollectorDrain[][] = [];
  const allowed: AllowedDrainAddress[][] = [];
  const pods: CollectorPod[] = [];
  const collector: LogCollector = {
    apply: async (d, _settings, a = []) => {
      if (opts.fail) throw new Error('the API server refused the DaemonSet');
      applied.push([...d]);
      allowed.push([...a]);
    },
    pods: async () => pods,
    instanceEvents: () => () => undefined,
  };
  const config = loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_COLLECTOR_IMAGE: 'reg/slipway/collector:1', SLIPWAY_NODE_ADDRESSES: '192.0.2.2' });
  const services = { store, config, deployer: { collector } } as unknown as Actor['services'];
  const as = (admin: boolean): Actor => ({ identity: { name: admin ? 'alice' : 'bob', admin, via: 'ssh' }, services });
  return { store, applied, allowed, pods, admin: as(true), dev: as(false) };
}

test('drains:add stores the drain and applies the collector with every drain; drains:remove takes it out', async () => {
  const { applied, admin, store } = setup();
  const d = await addDrain(admin, { app: 'shop' }, 'syslog+tls://logs.example.com:6514');
  assert.match(d.token, /^d\.[0-9a-f-]{36}$/);
  await addDrain(admin, { global: true }, 'otlp+https://otel.example.com/v1/logs', ['X-Key=secret']);
  assert.deepEqual(applied.at(-1)!.map((x) => [x.app, x.target.kind]), [[null, 'otlp'], ['shop', 'syslog']]);
  assert.deepEqual(listDrains(admin, { global: true }).map((x) => x.headers), [['X-Key']], 'header names only');
  await assert.rejects(addDrain(admin, { app: 'shop' }, 'syslog+tls://logs.example.com:6514'), /already drains to/);
  assert.equal((await removeDrain(admin, { app: 'shop' }, d.token)).url, 'syslog+tls://logs.example.com:6514');
  assert.deepEqual(applied.at(-1)!.map((x) => x.app), [null]);
  assert.deepEqual(store.drains.list('shop'), []);
  await assert.rejects(removeDrain(admin, { app: 'shop' }, d.token), /is not a drain of shop/);
});

test('a collector that cannot be applied leaves no drain behind, and takes none away', async () => {
  const { admin, store } = setup({ fail: true });
  await assert.rejects(addDrain(admin, { app: 'shop' }, 'syslog+tls://logs.example.com:6514'), /refused the DaemonSet/);
  assert.deepEqual(store.drains.list('shop'), []);
  store.drains.add({ id: A, app: 'shop', url: 'syslog+tls://logs.example.com:6514', headers: {}, createdBy: 'alice' });
  await assert.rejects(removeDrain(admin, { app: 'shop' }, `d.${A}`), /refused the DaemonSet/);
  assert.deepEqual(store.drains.list('shop').map((d) => d.id), [A]);
});

test("a non-admin's drain into the server's networks, or a global one, is refused and nothing stored", async () => {
  const { dev, store, applied } = setup();
  for (const url of ['syslog+tls://127.0.0.1:6514', 'syslog://10.1.2.3:514', 'syslog://[::1]:514', 'syslog://169.254.169.254:514', 'syslog://192.0.2.2:514']) {
    await assert.rejects(addDrain(dev, { app: 'shop' }, url), /Only an admin may add a drain to .*an address inside this server's networks; nothing was changed\./, url);
  }
  await assert.rejects(addDrain(dev, { global: true }, 'syslog+tls://logs.example.com:6514'), /Only admins may manage global drains/);
  assert.throws(() => listDrains(dev, { global: true }), /Only admins/);
  assert.deepEqual(store.drains.all(), []);
  assert.equal(applied.length, 0);
});

test("drains:info: each drain's delivery from the collector's pods; last success when the count grew", async () => {
  const { admin, pods } = setup();
  const d = await addDrain(admin, { app: 'shop' }, 'syslog+tls://logs.example.com:6514');
  const id = `syslog/d-${d.token.slice(2)}`;
  pods.push({ pod: 'collector-x', node: 'vm', ready: true, metrics: `otelcol_exporter_sent_log_records_total{exporter="${id}"} 7\n`, log: '', error: undefined });
  pods.push({ pod: 'collector-y', node: 'n2', ready: false, metrics: undefined, log: undefined, error: 'no answer within 3 s' });
  const info = await drainsInfo(admin, { app: 'shop' });
  assert.equal(info.drains[0]!.sent, 7);
  assert.ok(info.drains[0]!.lastSuccessAt);
  assert.deepEqual(info.collector, { pods: 2, ready: 1, unread: ['collector-y: no answer within 3 s'] });
  assert.equal((await drainsInfo(admin, { app: 'blog' })).drains.length, 0);
});

test("the collector's egress: DNS, the internet as apps reach it, and the internal addresses of admins' drains only", async () => {
  const { admin, dev, store, allowed } = setup();
  store.keys.add({ name: 'alice', fingerprint: 'SHA256:a', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA alice', admin: true });
  store.keys.add({ name: 'bob', fingerprint: 'SHA256:b', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA bob', admin: false });
  // An admin's drain at a node's address, a global one on loopback's neighbour network, a tenant's on a public address.
  await addDrain(admin, { app: 'shop' }, 'syslog://192.0.2.2:5514');
  await addDrain(admin, { global: true }, 'https://u:p@10.9.8.7/logs');
  await addDrain(dev, { app: 'blog' }, 'syslog://203.0.113.9:514');
  assert.deepEqual(allowed.at(-1)!.sort((a, b) => a.address.localeCompare(b.address)), [{ address: '10.9.8.7', port: 443 }, { address: '192.0.2.2', port: 5514 }]);
  // A tenant's drain that points inside (stored as an admin would have, the creator no admin now) gets no way in.
  store.drains.add({ id: A, app: 'blog', url: 'syslog://192.0.2.2:6000', headers: {}, createdBy: 'bob' });
  await addDrain(admin, { app: 'blog' }, 'syslog://203.0.113.10:514');
  assert.ok(!allowed.at(-1)!.some((a) => a.port === 6000), JSON.stringify(allowed.at(-1)));

  const net = { podCidrs: ['10.42.0.0/16'], serviceCidrs: ['10.43.0.0/16'], nodeAddresses: ['192.0.2.2/32'], ingress: { kind: 'node' as const } } as unknown as Parameters<typeof collectorEgressPolicy>[0];
  const p = collectorEgressPolicy(net, [{ address: '192.0.2.2', port: 5514 }, { address: '192.0.2.2', port: 514 }, { address: 'fd00::5', port: 443 }]);
  assert.deepEqual(p.spec!.policyTypes, ['Egress']);
  const egress = p.spec!.egress!;
  assert.deepEqual(egress[0]!.ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
  assert.deepEqual(egress[1]!.to![0]!.ipBlock!.except, ['10.42.0.0/16', '10.43.0.0/16', '192.0.2.2/32', '169.254.0.0/16', '100.100.100.200/32', '168.63.129.16/32']);
  assert.deepEqual(egress.slice(2).map((e) => [e.to![0]!.ipBlock!.cidr, e.ports!.map((x) => x.port)]), [['192.0.2.2/32', [514, 5514]], ['fd00::5/128', [443]]]);
});
