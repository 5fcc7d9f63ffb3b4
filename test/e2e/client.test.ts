// The client CLI on the testbed (issue 41): from a fresh clone of an app, `npx` the packed client
// (npm pack of client/), log in with the key in a real ssh-agent, `apps:create` (which adds the
// `paas` remote), `git push paas main` through the real pack and Kubernetes, then `open` prints the
// URL that answers, and `config:set` through the client rolls out a release the URL then shows;
// then `slipway mcp` of the same package, with the stored login, reads the app's real logs and scales it.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PackBuilder } from '../../server/build/pack.ts';
import { run } from '../../server/exec.ts';
import { remoteLines, sshOptions, type TestServer } from '../support/harness.ts';
import { destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { clientUser, type ClientUser } from '../support/client-run.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APPS = { web: `cli-${randomBytes(3).toString('hex')}` } as const;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 90_000;
const ROOT = resolve(import.meta.dirname, '..', '..');

describe('the packed client from a fresh clone: login, apps:create, git push paas main, open', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let user: ClientUser | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'slipway-client-e2e-'));
  let tgz = '';

  before(async () => {
    // No app yet: the client creates it (APPS names it for the clean-up).
    ({ tb, server: s, builder } = await startWithApps(NEEDS, {}, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (!s) return;
    user = await clientUser(s.admin);
    const packed = await run('npm', ['pack', '--pack-destination', tmp], { cwd: join(ROOT, 'client') });
    assert.equal(packed.exitCode, 0, packed.stderr);
    tgz = join(tmp, packed.stdout.trim().split('\n').pop()!);
  });
  after(async () => {
    await user?.close();
    await destroyApps(s, builder, APPS);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** `npx --package slipway-cli.tgz slipway ARGS` in `cwd`, as a user without a checkout runs it. */
  const npx = (cwd: string, args: string[]) => run('npx', ['--yes', '--cache', join(tmp, 'npm-cache'), '--package', tgz, 'slipway', ...args], { cwd, env: user!.env, extendEnv: false });

  test('from a fresh clone, npx slipway logs in, creates the app, the push deploys it, open prints the URL that answers, config:set rolls out', { timeout: PUSH_MS + 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !user) return;
    const origin = fixtureCopy('node-app');
    await s.commitAll(origin, 'node app');
    const clone = join(tmp, 'clone');
    assert.equal((await s.git(['clone', '-q', origin, clone])).exitCode, 0);

    const login = await npx(clone, ['login', `ssh://git@127.0.0.1:${s.slipway.sshPort}`, '--api', `http://127.0.0.1:${s.slipway.httpPort}`]);
    assert.equal(login.exitCode, 0, login.stderr);
    assert.match(login.stdout, /^Logged in to 127\.0\.0\.1 as admin \(scope admin\)/);

    const created = await npx(clone, ['apps:create', APPS.web]);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.match(created.stdout, /Added the git remote paas/);
    // The harness's server listens on a port it was given as 0, so the remote it prints names port 0;
    // a real server prints its own port. Point the remote at the port it listens on.
    await s.git(['remote', 'set-url', 'paas', s.sshRemote(APPS.web)], { cwd: clone });

    const started = Date.now();
    const push = await run('git', ['push', 'paas', 'main'], { cwd: clone, env: { ...user.env, GIT_SSH_COMMAND: ['ssh', ...sshOptions(s.admin)].join(' ') }, extendEnv: false });
    assert.equal(push.exitCode, 0, remoteLines(push.stderr).join('\n'));
    assert.ok(remoteLines(push.stderr).includes('=====> Application deployed:'));
    t.diagnostic(`push to deployed: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const open = await npx(clone, ['open']);
    assert.equal(open.exitCode, 0, open.stderr);
    const url = new URL(open.stdout.trim());
    assert.equal(url.host, `${APPS.web}.${BASE_DOMAIN}`);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, url.host, (b) => b === 'hello from slipway\n', ROUTE_MS);

    const set = await npx(clone, ['config:set', 'GREETING=from the client']);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /Releasing v2/);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, url.host, (b) => b === 'hello from slipway from the client\n', ROUTE_MS);

    const releases = await npx(clone, ['releases', '--json']);
    assert.deepEqual((JSON.parse(releases.stdout) as { version: number }[]).map((r) => r.version), [2, 1]);
  });

  test('npx slipway mcp with the stored login: an MCP client reads the app\'s real logs and releases, and scales it', { timeout: 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !user) return;
    const started = Date.now();
    const transport = new StdioClientTransport({ command: 'npx', args: ['--yes', '--cache', join(tmp, 'npm-cache'), '--package', tgz, 'slipway', 'mcp'], cwd: tmp, env: user.env, stderr: 'pipe' });
    const mcp = new Client({ name: 'slipway-e2e', version: '1.0.0' });
    await mcp.connect(transport);
    const text = async (name: string, args: Record<string, unknown>) => {
      const r = await mcp.callTool({ name, arguments: args });
      const out = (r.content as { text?: string }[]).map((c) => c.text ?? '').join('\n');
      assert.notEqual(r.isError, true, `${name}: ${out}`);
      return out;
    };
    try {
      const names = (await mcp.listTools()).tools.map((x) => x.name);
      assert.ok(names.includes('apps_destroy') && names.includes('ps_scale'), 'the stored login is the admin key\'s: every tool');
      assert.match(await text('logs', { app: APPS.web, tail: 50 }), /listening on \d+/, 'the app\'s own log line, from its pod');
      assert.deepEqual((JSON.parse(await text('releases', { app: APPS.web })) as { version: number }[]).map((r) => r.version), [2, 1]);
      const scaled = await text('ps_scale', { app: APPS.web, formation: { web: 2 } });
      assert.match(scaled, /"status": "succeeded"/);
      const ps = JSON.parse(await text('ps', { app: APPS.web })) as { type: string; desired: number; ready?: number }[];
      assert.equal(ps.find((p) => p.type === 'web')?.desired, 2);
    } finally {
      await mcp.close();
    }
    t.diagnostic(`mcp: start, 3 reads and a scale: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
