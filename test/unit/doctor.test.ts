// doctor's output with fake checks at its check interface: one line each, what to do on a failure,
// a failing check (or one that throws) makes the command fail with a count; and the registry pull
// address swap the deployer applies for nodes; the drains' events check of the server's machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doctorLines } from '../../server/commands/doctor.ts';
import { doctorChecks, runChecks } from '../../server/ops/admin/doctor.ts';
import { hostExposure, plainHttpCheck } from '../../server/ops/admin/plain-http.ts';
import { dispatch } from '../../server/commands/registry.ts';
import type { DoctorCheck } from '../../server/health.ts';
import { makeOutput } from '../../server/output/output.ts';
import { loadConfig } from '../../server/config.ts';
import { UserError } from '../../server/errors.ts';
import { pullImage } from '../../server/deploy/kube/context.ts';
import type { CommandContext } from '../../server/commands/types.ts';
import type { KubeClient } from '../../server/kube/client.ts';
import { eventsNodeCheck } from '../../server/ops/drains/events-node.ts';

const fakes: DoctorCheck[] = [
  { name: 'docker', run: async () => ({ ok: true, detail: 'Docker 26.1.5 at unix:///var/run/docker.sock' }) },
  { name: 'registry', run: async () => ({ ok: false, detail: 'push to 127.0.0.1:5000: 127.0.0.1:5000 is not reachable', fix: 'systemctl start docker-registry' }) },
  { name: 'ssh crypto', run: async () => { throw new Error('binding exploded'); }, fix: 'rebuild it' },
];

test('one line per check, aligned, with what to do when it failed', async () => {
  const lines = doctorLines(await runChecks(fakes, new AbortController().signal));
  assert.deepEqual(lines, [
    'ok    docker      Docker 26.1.5 at unix:///var/run/docker.sock',
    'FAIL  registry    push to 127.0.0.1:5000: 127.0.0.1:5000 is not reachable → systemctl start docker-registry',
    'FAIL  ssh crypto  binding exploded → rebuild it',
  ]);
});

async function doctor(checks: DoctorCheck[], json = false) {
  const out: string[] = [];
  const ctx = {
    identity: { name: 'local', admin: true, via: 'local' },
    out: makeOutput((s) => out.push(s), { color: false }),
    services: { config: loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent' }), doctorChecks: () => checks },
    stdin: async () => '',
    signal: new AbortController().signal,
  } as unknown as CommandContext;
  let error: unknown;
  try {
    await dispatch(ctx, json ? ['doctor', '--json'] : ['doctor']);
  } catch (err) {
    error = err;
  }
  return { text: out.join(''), error };
}

test('doctor fails with the number of failed checks; passes when all pass', async () => {
  const bad = await doctor(fakes);
  assert.ok(bad.error instanceof UserError);
  assert.equal((bad.error as Error).message, '2 of 3 checks failed.');
  assert.equal(bad.text.split('\n').length, 4);
  const good = await doctor([fakes[0]!]);
  assert.equal(good.error, undefined);
  assert.equal(good.text, 'ok    docker  Docker 26.1.5 at unix:///var/run/docker.sock\n');
  const json = await doctor([fakes[0]!], true);
  assert.deepEqual(JSON.parse(json.text), [{ name: 'docker', ok: true, detail: 'Docker 26.1.5 at unix:///var/run/docker.sock' }]);
});

test('nodes pull from SLIPWAY_REGISTRY_PULL what was pushed to SLIPWAY_REGISTRY', () => {
  const pullFrom = { from: '127.0.0.1:5000', to: '10.0.0.5:5000' };
  assert.equal(pullImage('127.0.0.1:5000/slipway/web@sha256:ab', pullFrom), '10.0.0.5:5000/slipway/web@sha256:ab');
  assert.equal(pullImage('127.0.0.1:50001/x@sha256:ab', pullFrom), '127.0.0.1:50001/x@sha256:ab');
  assert.equal(pullImage('127.0.0.1:5000/slipway/web@sha256:ab', undefined), '127.0.0.1:5000/slipway/web@sha256:ab');
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1' }).registryPull, 'r:1');
  assert.equal(loadConfig({ SLIPWAY_REGISTRY: 'r:1', SLIPWAY_REGISTRY_PULL: 'n:1' }).registryPull, 'n:1');
});

/** The `https` check for a config, names resolved by `names` (a name missing from it does not resolve). */
async function httpsCheck(env: Record<string, string>, names: Record<string, string[]> = {}) {
  const resolve = async (host: string) => {
    const found = names[host];
    if (!found) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return found;
  };
  return plainHttpCheck(loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_HTTP_PORT: '8080', ...env }), resolve).run(new AbortController().signal);
}

test('a host is public unless it is a loopback, private or link-local address, a local name, or a name that resolves only to those', async () => {
  const names: Record<string, string[]> = { 'paas.corp.example.com': ['10.1.2.3', 'fd00::3'], 'split.example.com': ['10.1.2.3', '198.51.100.4'], 'slipway.example.com': ['198.51.100.4'] };
  const resolve = async (host: string) => names[host] ?? Promise.reject(new Error('ENOTFOUND'));
  const cases: [string, boolean][] = [
    ['203.0.113.7', true], ['8.8.8.8', true], ['[2606:4700::1111]', true], ['slipway.203.0.113.7.sslip.io', true], ['a-198-51-100-4.nip.io', true],
    ['slipway.example.com', true], ['split.example.com', true], ['unknown.example.com', true],
    ['127.0.0.1', false], ['10.0.0.5', false], ['172.20.0.1', false], ['192.168.1.5', false], ['100.64.1.1', false], ['169.254.169.254', false],
    ['[::1]', false], ['[fd00::5]', false], ['[::ffff:10.0.0.5]', false],
    ['localhost', false], ['dash.localhost', false], ['paas.local', false], ['slipway.internal', false], ['slipway.slipway.test', false], ['myhost', false],
    ['slipway.10.0.0.5.sslip.io', false], ['slipway-192-168-1-5.nip.io', false], ['paas.corp.example.com', false], ['PAAS.Local.', false],
  ];
  for (const [host, open] of cases) assert.equal((await hostExposure(host, resolve)).public, open, host);
  assert.equal((await hostExposure('paas.corp.example.com', resolve)).why, 'paas.corp.example.com resolves here to private addresses only (10.1.2.3, fd00::3)');
  assert.equal((await hostExposure('unknown.example.com', resolve)).why, 'unknown.example.com is a DNS name that does not resolve here, so it cannot be shown to be private');
});

test('doctor fails when the dashboard and API are plain http on a public address or name, with what to set; passes over https or on a private network', async () => {
  const fix = 'turn HTTPS on: re-run install.sh with --acme-email EMAIL (the dashboard moves to https://slipway.DOMAIN and SLIPWAY_DASHBOARD_URL follows), or serve port 8080 behind HTTPS of your own and set SLIPWAY_DASHBOARD_URL to its https:// address';
  assert.deepEqual(await httpsCheck({ SLIPWAY_HOST: '203.0.113.7' }), {
    ok: false,
    detail: 'the dashboard and API are served over plain HTTP at http://203.0.113.7:8080, and 203.0.113.7 is a public address: access tokens, session cookies, login links and webhook secrets cross the internet in clear',
    fix,
  });
  assert.deepEqual(await httpsCheck({ SLIPWAY_DASHBOARD_URL: 'http://slipway.example.com' }, { 'slipway.example.com': ['198.51.100.4'] }), {
    ok: false,
    detail: 'the dashboard and API are served over plain HTTP at http://slipway.example.com, and slipway.example.com is a public DNS name (198.51.100.4): access tokens, session cookies, login links and webhook secrets cross the internet in clear',
    fix,
  });
  assert.equal((await httpsCheck({ SLIPWAY_DASHBOARD_URL: 'http://slipway.203.0.113.7.sslip.io' })).ok, false);
  assert.deepEqual(await httpsCheck({ SLIPWAY_HOST: '203.0.113.7', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com' }), { ok: true, detail: 'the dashboard and API are served at https://slipway.example.com' });
  assert.deepEqual(await httpsCheck({ SLIPWAY_HOST: '127.0.0.1' }), {
    ok: true,
    detail: 'the dashboard and API are served over plain HTTP at http://127.0.0.1:8080, and 127.0.0.1 is a loopback, private or link-local address: keep it to networks you trust, and turn HTTPS on before the internet reaches it',
  });
  for (const url of ['http://slipway.10.0.0.5.sslip.io', 'http://slipway.slipway.test', 'http://paas.local:8080', 'http://[fd00::5]:8080']) {
    assert.equal((await httpsCheck({ SLIPWAY_DASHBOARD_URL: url })).ok, true, url);
  }
});

test("doctor's checks include https, after the server's own and before the rounds", () => {
  const names = doctorChecks(loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent' }), {}).map((c) => c.name);
  assert.deepEqual(names.slice(-2), ['ssh crypto', 'https']);
});

test("with drains configured, doctor says when the server's machine is no node of its cluster: its events reach no drain", async () => {
  const node = (name: string, ...addresses: string[]) => ({ metadata: { name }, status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) } });
  const kube = { list: async () => [node('k3s-1', '10.0.0.5'), node('k3s-2', '10.0.0.6')] } as unknown as KubeClient;
  const config = loadConfig({ SLIPWAY_DATA_DIR: '/var/lib/slipway', SLIPWAY_COLLECTOR_IMAGE: 'registry.example/collector:1', KUBECONFIG: '/etc/rancher/k3s/k3s.yaml' });
  assert.ok(doctorChecks(config, { kube }).some((c) => c.name === 'drain events'));
  assert.ok(!doctorChecks(loadConfig({ SLIPWAY_DATA_DIR: '/var/lib/slipway', KUBECONFIG: '/etc/rancher/k3s/k3s.yaml' }), { kube }).some((c) => c.name === 'drain events'), 'not without drains');
  const on = await eventsNodeCheck(config, kube, () => new Set(['127.0.0.1', '10.0.0.6'])).run(new AbortController().signal);
  assert.deepEqual(on, { ok: true, detail: "the collector on k3s-2 (this machine) reads Slipway's events from /var/lib/slipway/drain-events" });
  const off = await eventsNodeCheck(config, kube, () => new Set(['127.0.0.1', '192.168.1.9'])).run(new AbortController().signal);
  assert.equal(off.ok, false);
  assert.match(off.detail, /^this machine is not a node of the cluster \(its nodes: k3s-1, k3s-2\), so no collector reads Slipway's events in \/var\/lib\/slipway\/drain-events: drains get the apps' lines but no app\[slipway\] line/);
  assert.match(off.fix!, /run the server on a node of its cluster/);
});
