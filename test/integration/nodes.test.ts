// The node commands over the real transports (SSH, the HTTP API) with a fake at Slipway's own
// ClusterNodes interface, and the installer the HTTP port serves for nodes:join-command's line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKey, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
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
  async nodes(): Promise<NodeSummary[]> {
    return [ONLY];
  }
  async drain(node: string): Promise<DrainResult> {
    this.drained.push(node);
    return { node, evicted: [], skipped: [], failed: [] };
  }
  async uncordon(): Promise<void> {}
}

class NodesDeployer extends FakeDeployer {
  readonly cluster = new OneNode();
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
    const tokenFile = join(dir, 'node-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    s = await startTestServer({ SLIPWAY_K3S_TOKEN_FILE: tokenFile, SLIPWAY_HOST: 'paas.example.com', SLIPWAY_DASHBOARD_URL: 'https://slipway.example.com' }, { deployer });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
  });
  let tokenDir = '';
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
    assert.deepEqual(deployer.cluster.drained, []);
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
});
