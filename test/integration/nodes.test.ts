// The node commands over the real transports (SSH, the HTTP API) with a fake at Slipway's own
// ClusterNodes interface, and the installer the HTTP port serves for nodes:join-command's line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKey, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';
import { FakeDeployer } from '../support/fakes.ts';
import type { ClusterNodes, DrainResult } from '../../server/deploy/deployer.ts';
import type { NodeSummary } from '../../server/deploy/nodes.ts';

const ONLY: NodeSummary = {
  name: 'node-1', roles: ['control-plane', 'master'], ready: true, schedulable: true, builds: false,
  allocatable: { cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }, requested: { cpuMillicores: 550, memoryBytes: 300 * 2 ** 20 }, appPods: 2, buildPods: 0,
};

/** One node, which a drain must not empty without --force. */
class OneNode implements ClusterNodes {
  drained: string[] = [];
  forced: boolean[] = [];
  uncordoned: string[] = [];
  async nodes(): Promise<NodeSummary[]> {
    return [ONLY];
  }
  async drain(node: string, opts: { force: boolean }): Promise<DrainResult> {
    this.drained.push(node);
    this.forced.push(opts.force);
    return { node, evicted: ['app-web/web-1'], skipped: [{ pod: 'kube-system/svclb-1', reason: 'DaemonSet' }], failed: [] };
  }
  async uncordon(node: string): Promise<void> {
    this.uncordoned.push(node);
  }
}

class NodesDeployer extends FakeDeployer {
  override readonly nodes = new OneNode();
}

describe('nodes over SSH and the API', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let deployer: NodesDeployer;
  const token = `K10${'0a'.repeat(32)}::server:${'f3'.repeat(16)}`;

  before(async () => {
    deployer = new NodesDeployer({});
    const dir = mkdtempSync(join(tmpdir(), 'slipway-node-token-'));
    tokenDir = dir;
    tokenFile = join(dir, 'node-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    s = await startTestServer({ SLIPWAY_K3S_TOKEN_FILE: tokenFile, SLIPWAY_HOST: 'paas.example.com', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com' }, { deployer });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
  });
  let tokenDir = '';
  let tokenFile = '';
  after(async () => {
    await s.close();
    rmSync(tokenDir, { recursive: true, force: true });
  });

  test('GET /install.sh serves the installer of the running code, without a token', async () => {
    const r = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/install.sh`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/x-shellscript/);
    assert.equal(await r.text(), readFileSync(join(import.meta.dirname, '..', '..', 'install.sh'), 'utf8'));
  });

  test('nodes:join-command prints the line over SSH; a deployer key may not see it', async () => {
    const r = await s.ssh(s.admin, 'nodes:join-command');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trimEnd(), `curl -fsSL https://slipway.example.com/install.sh | sudo bash -s -- --join https://paas.example.com:6443 --token ${token}`);
    const denied = await s.ssh(dev, 'nodes:join-command');
    assert.equal(denied.exitCode, 1);
    assert.doesNotMatch(denied.stdout + denied.stderr, new RegExp(token));
  });

  test('nodes lists the node; draining the only node is refused without --force and drains nothing', async () => {
    const list = await s.ssh(s.admin, 'nodes');
    assert.equal(list.exitCode, 0, list.stderr);
    assert.match(list.stdout, /^node-1 +control-plane,master +Ready +550m\/2 \(28%\) +300Mi\/4Gi \(7%\) +2 +0$/m);
    const refused = await s.ssh(s.admin, 'nodes:drain node-1');
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /node-1 is the only node new pods can be scheduled on, so nothing evicted from it could run anywhere else; add a node first \(nodes:join-command\), or give --force to drain it anyway\./);
    assert.deepEqual(deployer.nodes.drained, []);
    const unknown = await s.ssh(s.admin, 'nodes:uncordon node-9');
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /There is no node node-9 in the cluster \(it has node-1\); nothing was changed\./);
  });

  test('GET /api/v1/nodes answers admins what nodes --json prints; others get 403', async () => {
    const admin = await makeToken(s, s.admin, 'nodes-admin');
    const read = await makeToken(s, s.admin, 'nodes-read', 'read');
    const r = await api(s, 'GET', '/nodes', { token: admin });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [ONLY]);
    assert.equal((await api(s, 'GET', '/nodes', { token: read })).status, 403);
    const devToken = await makeToken(s, dev, 'nodes-dev');
    assert.equal((await api(s, 'GET', '/nodes', { token: devToken })).status, 403);
  });

  test('POST /api/v1/nodes/NODE/drain drains as nodes:drain --json answers; only admins, only a node that exists', async () => {
    const admin = await makeToken(s, s.admin, 'drain-admin');
    const deploy = await makeToken(s, s.admin, 'drain-deploy', 'deploy');
    const devToken = await makeToken(s, dev, 'drain-dev');
    for (const t of [deploy, devToken]) {
      const denied = await api(s, 'POST', '/nodes/node-1/drain', { token: t, body: { force: true } });
      assert.equal(denied.status, 403, denied.text);
      assert.equal(apiError(denied).code, 'forbidden');
    }
    assert.deepEqual(deployer.nodes.drained, []);
    // No body is no force: the only node is not drained.
    const refused = await api(s, 'POST', '/nodes/node-1/drain', { token: admin });
    assert.equal(refused.status, 422, refused.text);
    assert.match(apiError(refused).message, /^node-1 is the only node new pods can be scheduled on, .* or give --force to drain it anyway\.$/);
    assert.deepEqual(deployer.nodes.drained, []);
    const unknown = await api(s, 'POST', '/nodes/node-9/drain', { token: admin, body: { force: true } });
    assert.equal(unknown.status, 422, unknown.text);
    assert.deepEqual(apiError(unknown), { message: 'There is no node node-9 in the cluster (it has node-1); nothing was changed.', code: 'invalid' });
    for (const bad of ['Node_1', `${'a'.repeat(254)}`, '-node']) {
      const r = await api(s, 'POST', `/nodes/${bad}/drain`, { token: admin, body: { force: true } });
      assert.equal(r.status, 422, `${bad}: ${r.text}`);
      assert.match(apiError(r).message, /^Invalid params\.node: [^\n]+\.$/);
    }
    const extra = await api(s, 'POST', '/nodes/node-1/drain', { token: admin, body: { force: true, now: true } });
    assert.equal(extra.status, 422, extra.text);
    assert.deepEqual(deployer.nodes.drained, []);
    const r = await api(s, 'POST', '/nodes/node-1/drain', { token: admin, body: { force: true } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { node: 'node-1', evicted: ['app-web/web-1'], skipped: [{ pod: 'kube-system/svclb-1', reason: 'DaemonSet' }], failed: [] });
    assert.deepEqual(deployer.nodes.drained, ['node-1']);
    assert.deepEqual(deployer.nodes.forced, [true]);
  });

  test('POST /api/v1/nodes/NODE/uncordon uncordons as nodes:uncordon --json answers; only admins', async () => {
    const admin = await makeToken(s, s.admin, 'uncordon-admin');
    const devToken = await makeToken(s, dev, 'uncordon-dev');
    assert.equal((await api(s, 'POST', '/nodes/node-1/uncordon', { token: devToken })).status, 403);
    assert.equal((await api(s, 'POST', '/nodes/node_1/uncordon', { token: admin })).status, 422);
    const unknown = await api(s, 'POST', '/nodes/node-9/uncordon', { token: admin });
    assert.equal(unknown.status, 422);
    assert.match(apiError(unknown).message, /^There is no node node-9 in the cluster/);
    assert.deepEqual(deployer.nodes.uncordoned, []);
    const r = await api(s, 'POST', '/nodes/node-1/uncordon', { token: admin });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { node: 'node-1', wasCordoned: false });
    assert.deepEqual(deployer.nodes.uncordoned, ['node-1']);
  });

  test('GET /api/v1/nodes/join-command answers admins the line and its parts; without the token file it is one sentence', async () => {
    const admin = await makeToken(s, s.admin, 'join-admin');
    const devToken = await makeToken(s, dev, 'join-dev');
    const denied = await api(s, 'GET', '/nodes/join-command', { token: devToken });
    assert.equal(denied.status, 403);
    assert.doesNotMatch(denied.text, new RegExp(token));
    const r = await api(s, 'GET', '/nodes/join-command', { token: admin });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      command: `curl -fsSL https://slipway.example.com/install.sh | sudo bash -s -- --join https://paas.example.com:6443 --token ${token}`,
      installer: 'https://slipway.example.com/install.sh',
      installerSha256: createHash('sha256').update(readFileSync(join(import.meta.dirname, '..', '..', 'install.sh'))).digest('hex'),
      server: 'https://paas.example.com:6443',
      builds: 'pack',
    });
    rmSync(tokenFile);
    try {
      const missing = await api(s, 'GET', '/nodes/join-command', { token: admin });
      assert.equal(missing.status, 422, missing.text);
      assert.deepEqual(apiError(missing), { message: `This server is not a k3s server (there is no ${tokenFile}, SLIPWAY_K3S_TOKEN_FILE): join nodes to its cluster with that cluster's own tools.`, code: 'invalid' });
    } finally {
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    }
  });
});
