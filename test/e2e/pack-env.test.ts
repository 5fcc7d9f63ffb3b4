// An app's config never steers the server's `pack` (issue 16, item 6). Config vars used to be
// merged into pack's own environment, so `config:set DOCKER_HOST=tcp://…` made pack talk to an
// engine the tenant runs (an SSRF; a fake engine could hand back any digest), and DOCKER_CONFIG
// picked pack's registry credentials. Here an app sets both, DOCKER_HOST to a listener this test
// opens that records every connection, and pushes with the real pack and the offline builder to
// the testbed's (closed) registry: the listener sees nothing, the build succeeds with the
// server's credential, and the app's build step still gets both variables (through pack's env
// file). The build step also looks at every process environment it can read for the registry
// credential pack hands the lifecycle (CNB_REGISTRY_AUTH): it must find none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { PackBuilder } from '../../server/build/pack.ts';
import { remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { destroyApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, registryAuthEnv, testbedEnv, testbedPack } from '../support/testbed.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK'] as const;
const APP = `registry-packenv-${randomBytes(3).toString('hex')}`;
const PUSH_MS = 10 * 60_000;

describe("an app's config vars never reach pack's own environment", { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let engine: Server;
  let builder: PackBuilder | undefined;
  const connections: string[] = [];

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    // A "Docker engine" of the tenant's: it records who connects and hangs up (so a pack that
    // did connect fails at once rather than waiting for an answer).
    engine = createServer((socket) => {
      connections.push(`${socket.remoteAddress}:${socket.remotePort}`);
      socket.on('error', () => { /* the client may see the reset first */ });
      socket.destroy();
    });
    await new Promise<void>((done) => engine.listen(0, '127.0.0.1', done));
    builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, PUSH_MS));
    s = await startTestServer({ SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, ...registryAuthEnv() }, { builder });
    assert.equal((await s.ssh(s.admin, `apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!tb) return;
    await new Promise<void>((done) => engine.close(() => done()));
    await destroyApps(s, builder, { APP });
  });

  test('DOCKER_HOST and DOCKER_CONFIG set on the app: pack ignores them, the build step gets them', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const { port } = engine.address() as { port: number };
    const dockerHost = `tcp://127.0.0.1:${port}`;
    const set = await s.ssh(s.admin, `config:set ${APP} DOCKER_HOST=${dockerHost} DOCKER_CONFIG=/tmp/x --no-restart`);
    assert.equal(set.exitCode, 0, set.stderr);

    const wd = fixtureCopy('build-env-app');
    await s.commitAll(wd, 'build env app');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    t.diagnostic(lines.filter((l) => l.includes('build env:')).map((l) => l.trim()).join(' | '));
    assert.deepEqual(connections, [], `pack connected to the app's DOCKER_HOST ${dockerHost}:\n${lines.join('\n')}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes(`       build env: DOCKER_HOST=${dockerHost} DOCKER_CONFIG=/tmp/x`), lines.join('\n'));
    assert.ok(lines.some((l) => /^ {7}build env: registry credential visible: no \(\d+ process environments readable\)$/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('=====> Application deployed:'), lines.join('\n'));
  });
});
