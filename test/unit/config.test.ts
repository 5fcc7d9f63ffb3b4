import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';

test('defaults follow the public contract', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.equal(c.sshPort, 2222);
  assert.equal(c.httpPort, 8080);
  assert.match(c.dataDir, /\/data$/);
  assert.equal(c.builderImage, 'heroku/builder:24');
  assert.equal(c.registry, '127.0.0.1:5000');
  assert.ok(Object.isFrozen(c));
});

test('bad values are refused with one sentence', () => {
  assert.throws(() => loadConfig({ SLIPWAY_SSH_PORT: 'abc' }), /SLIPWAY_SSH_PORT must be a port number/);
  assert.throws(() => loadConfig({ SLIPWAY_HTTP_PORT: '70000' }), /SLIPWAY_HTTP_PORT/);
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'bad domain' }), /SLIPWAY_BASE_DOMAIN/);
  assert.throws(() => loadConfig({ SLIPWAY_MAX_PUSH_MB: '-1' }), /SLIPWAY_MAX_PUSH_MB/);
});

test('the default base domain is the host address under sslip.io', () => {
  assert.match(loadConfig({}).baseDomain, /^\d+\.\d+\.\d+\.\d+\.sslip\.io$/);
});

test('garbage collection settings: defaults, and one sentence for a bad value', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.equal(c.keepReleases, 10);
  assert.equal(c.gcIntervalMs, 6 * 3600 * 1000);
  assert.equal(c.registryGcConfig, undefined);
  assert.equal(c.registryBinary, 'docker-registry');
  assert.equal(loadConfig({ SLIPWAY_KEEP_RELEASES: '3', SLIPWAY_GC_INTERVAL_S: '0' }).keepReleases, 3);
  assert.equal(loadConfig({ SLIPWAY_GC_INTERVAL_S: '0' }).gcIntervalMs, 0);
  assert.throws(() => loadConfig({ SLIPWAY_KEEP_RELEASES: '0' }), { message: 'SLIPWAY_KEEP_RELEASES must be a whole number of at least 1, got "0".' });
  assert.throws(() => loadConfig({ SLIPWAY_KEEP_RELEASES: 'ten' }), /SLIPWAY_KEEP_RELEASES must be a whole number/);
  assert.throws(() => loadConfig({ SLIPWAY_GC_INTERVAL_S: '1.5' }), { message: 'SLIPWAY_GC_INTERVAL_S must be a whole number of seconds (0 turns it off), got "1.5".' });
});

test("cluster network settings: k3s's ranges, this machine's addresses, Traefik's pods in kube-system by default", async () => {
  const { networkInterfaces } = await import('node:os');
  const n = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' }).network;
  assert.deepEqual(n.podCidrs, ['10.42.0.0/16']);
  assert.deepEqual(n.serviceCidrs, ['10.43.0.0/16']);
  assert.deepEqual(n.ingress, { kind: 'pods', namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'traefik' } });
  const own = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address.replace(/%.*$/, ''));
  for (const a of own) assert.ok(n.nodeAddresses.includes(`${a}/${a.includes(':') ? 128 : 32}`), `${a} is a node address`);
  assert.ok(!n.nodeAddresses.includes('127.0.0.1/32'), 'loopback is not reachable from pods anyway');
  assert.ok(Object.isFrozen(n) && Object.isFrozen(n.nodeAddresses));
});

test('cluster network settings are parsed: lists, bare addresses, the node ingress, label selectors', () => {
  const n = loadConfig({
    SLIPWAY_POD_CIDR: '10.42.0.0/16, fd42::/56', SLIPWAY_SERVICE_CIDR: '10.96.0.0/12', SLIPWAY_NODE_ADDRESSES: '192.0.2.10,192.0.2.10,2001:DB8::1,198.51.100.0/24',
    SLIPWAY_INGRESS_FROM: 'ingress-nginx/app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller',
  }).network;
  assert.deepEqual(n.podCidrs, ['10.42.0.0/16', 'fd42::/56']);
  assert.deepEqual(n.serviceCidrs, ['10.96.0.0/12']);
  assert.deepEqual(n.nodeAddresses, ['192.0.2.10/32', '2001:db8::1/128', '198.51.100.0/24']);
  assert.deepEqual(n.ingress, { kind: 'pods', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } });
  assert.deepEqual(loadConfig({ SLIPWAY_INGRESS_FROM: 'node' }).network.ingress, { kind: 'node' });
});

test('bad cluster network settings are refused with one sentence naming the setting', () => {
  assert.throws(() => loadConfig({ SLIPWAY_POD_CIDR: '10.42.0.0/33' }), /^UserError: SLIPWAY_POD_CIDR must be a comma-separated list of addresses or CIDRs: "10\.42\.0\.0\/33" is not an address or a CIDR/);
  assert.throws(() => loadConfig({ SLIPWAY_SERVICE_CIDR: 'ten.43.0.0/16' }), /SLIPWAY_SERVICE_CIDR must be/);
  assert.throws(() => loadConfig({ SLIPWAY_NODE_ADDRESSES: '192.0.2.1/24' }), /SLIPWAY_NODE_ADDRESSES must be .*: 192\.0\.2\.1\/24 has bits set past its \/24 prefix/);
  assert.throws(() => loadConfig({ SLIPWAY_POD_CIDR: 'fd42::1/64' }), /SLIPWAY_POD_CIDR must be .*: fd42::1\/64 has bits set/);
  assert.throws(() => loadConfig({ SLIPWAY_POD_CIDR: '10.42.0.0/16/1' }), /SLIPWAY_POD_CIDR must be/);
  for (const bad of ['traefik', 'kube-system/', 'Kube_System/a=b', 'kube-system/a=b c', 'kube-system/=b']) {
    assert.throws(() => loadConfig({ SLIPWAY_INGRESS_FROM: bad }), /SLIPWAY_INGRESS_FROM must be "node" or NAMESPACE\/KEY=VALUE/, bad);
  }
});

test('HTTP caps per address and per key: defaults from the total, and no per-address cap above the one it sits in', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.deepEqual([c.httpMaxConnections, c.httpMaxConnectionsPerSource, c.maxStreamsPerSource, c.maxStreamsPerKey], [256, 64, 32, 20]);
  const small = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_HTTP_MAX_CONNECTIONS: '10' });
  assert.deepEqual([small.httpMaxConnectionsPerSource, small.maxStreamsPerSource], [3, 1]);
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_HTTP_MAX_CONNECTIONS: '10', SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE: '11' }), /^UserError: SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE \(11\) must not be above SLIPWAY_HTTP_MAX_CONNECTIONS \(10\)\.$/);
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_MAX_STREAMS_PER_SOURCE: '65' }), /SLIPWAY_MAX_STREAMS_PER_SOURCE \(65\) must not be above/);
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_MAX_STREAMS_PER_KEY: '0' }), /SLIPWAY_MAX_STREAMS_PER_KEY must be a whole number/);
});
