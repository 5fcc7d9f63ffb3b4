// The four floods of issue 16 on the testbed's real pieces, each for 10 s against a server in its
// own process (server/main.ts, as `npm start` runs it): real pods printing without end
// (test/fixtures/flood-app), the real OpenSSH and git clients with output nobody reads, and
// stdin from /dev/zero. Each keeps the server's memory under its idle size + 64 MB, and the
// server answers apps:list throughout. test/integration/floods.test.ts covers the SSH half fast.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { LABEL } from '../../server/kube/labels.ts';
import { gitEnv, makeKey, sshOptions, type TestKey } from '../support/harness.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';
import { assertBounded, idleRss, peakRssWhile, RSS_MARGIN, running, startServerProcess, unreadSsh, watchFlood, type ServerProcess } from '../support/floods.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG'] as const;
const MAIN = join(import.meta.dirname, '../../server/main.ts');
const APP = `streams-flood-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
/**
 * How long each flood lasts: 10 s (issue 16 said 30). A flood moves tens of megabytes a second
 * over loopback, so output buffered without bound passes the 64 MB margin within seconds; the
 * bound is the same property, proven sooner.
 */
const FLOOD_MS = 10_000;
const PUSH_MS = 10 * 60_000;
const POD_START_MS = 3 * 60_000;

describe('floods towards clients that do not read, with real pods', { timeout: 40 * 60_000 }, () => {
  let dir: string;
  let admin: TestKey;
  let server: ServerProcess | undefined;
  let kube: KubeClient;
  let wd: string;
  let genv: Record<string, string>;
  const ssh = (command: string) => run('ssh', [...sshOptions(admin), '-p', String(server!.ssh), 'git@127.0.0.1', command]);
  const remote = () => `ssh://git@127.0.0.1:${server!.ssh}/${APP}.git`;
  /** The app's pods of one process type (as labelled), running their container. */
  const runningPods = async (process: string) => (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `${LABEL.instance}=${APP},${LABEL.process}=${process}` }))
    .filter((p) => p.status?.containerStatuses?.[0]?.state?.running && !p.metadata?.deletionTimestamp);
  const podsOf = async (process: string) => kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `${LABEL.instance}=${APP},${LABEL.process}=${process}` });

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    dir = mkdtempSync(join(tmpdir(), 'slipway-e2e-floods-'));
    admin = await makeKey(dir, 'admin');
    server = await startServerProcess(MAIN, {
      SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_HOST: '127.0.0.1',
      SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', SLIPWAY_ROLLOUT_TIMEOUT_S: '180',
      // The printer logs hundreds of MB/s: between two of the kubelet's log rotations (10 s) its log
      // passes the default 1Gi scratch disk, and the pod would be evicted mid-flood.
      SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT: '20Gi', SLIPWAY_BUILD_TIMEOUT_S: String(PUSH_MS / 1000),
    });
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
    wd = fixtureCopy('flood-app');
    genv = gitEnv(join(dir, 'home'), admin);
    for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'flood app']]) await run('git', args, { cwd: wd, env: genv });
    const push = await run('git', ['push', remote(), 'main'], { cwd: wd, env: genv });
    assert.equal(push.exitCode, 0, push.stderr);
    for (let i = 0; i < 3; i++) assert.equal((await ssh('apps:list')).exitCode, 0);
  });
  after(async () => {
    if (!server) return;
    try {
      const destroyed = await ssh(`apps:destroy ${APP} --confirm ${APP}`);
      // A server the flood left unable to (the code before the fix) leaves the namespace to us.
      if (destroyed.exitCode !== 0) await kube.remove('v1', 'Namespace', NS);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(wd, { recursive: true, force: true });
    }
  });

  /** A `run` client flooding for FLOOD_MS keeps the server bounded and stays attached; its pod goes when the client does. */
  async function runFloodHeld(t: TestContext, client: ChildProcess, idle: number): Promise<void> {
    try {
      await eventually('the run pod to run', async () => (await runningPods('run')).length > 0, POD_START_MS, 500);
      assertBounded(t, await watchFlood(server!, admin, idle, FLOOD_MS));
      assert.ok(running(client), 'the run was still attached at the end of the flood');
    } finally {
      client.kill('SIGKILL');
    }
    await eventually('the run pod to be removed', async () => (await podsOf('run')).length === 0, 120_000, 1000);
    assert.ok(server!.alive());
  }

  test('run APP -- yes with an OpenSSH client whose stdout nobody reads', async (t) => {
    if (!needTestbed(t, NEEDS) || !server) return;
    const idle = await idleRss(server.pid);
    const client = unreadSsh(admin, server.ssh, `run ${APP} -- yes`);
    await runFloodHeld(t, client, idle);
  });

  test('cat /dev/zero | ssh … run APP -- sleep 100', async (t) => {
    if (!needTestbed(t, NEEDS) || !server) return;
    const idle = await idleRss(server.pid);
    const zero = openSync('/dev/zero', 'r');
    const client = spawn('ssh', [...sshOptions(admin), '-p', String(server.ssh), 'git@127.0.0.1', `run ${APP} -- sleep 100`], { stdio: [zero, 'pipe', 'pipe'] });
    closeSync(zero);
    await runFloodHeld(t, client, idle);
  });

  test('clients that keep up get everything: 8 MiB of output, and 8 MiB of input', async (t) => {
    if (!needTestbed(t, NEEDS) || !server) return;
    // Output: the websocket is paused and resumed many times over as the client reads.
    const out = await new Promise<{ bytes: number; lines: boolean }>((resolve) => {
      const p = spawn('ssh', [...sshOptions(admin), '-p', String(server!.ssh), 'git@127.0.0.1', `run ${APP} -- yes`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let bytes = 0;
      let lines = true;
      p.stdout!.on('data', (d: Buffer) => {
        bytes += d.length;
        if (!/^(y\n)*y?$/.test(d.toString('latin1').replace(/^\n/, ''))) lines = false;
        if (bytes >= 8 * 1024 * 1024) {
          p.kill('SIGKILL');
          resolve({ bytes, lines });
        }
      });
      p.on('exit', () => resolve({ bytes, lines }));
    });
    assert.ok(out.bytes >= 8 * 1024 * 1024, `got ${out.bytes} bytes`);
    assert.ok(out.lines, 'the output is yes\'s, in order');
    // Input: paused while the websocket's queue is long, resumed as the pod reads it.
    const zero = openSync('/dev/zero', 'r');
    const counted = await new Promise<string>((resolve) => {
      const head = spawn('head', ['-c', String(8 * 1024 * 1024)], { stdio: [zero, 'pipe', 'inherit'] });
      const p = spawn('ssh', [...sshOptions(admin), '-p', String(server!.ssh), 'git@127.0.0.1', `run ${APP} -- wc -c`], { stdio: [head.stdout!, 'pipe', 'pipe'] });
      let text = '';
      p.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
      p.on('exit', () => resolve(text.trim()));
    });
    closeSync(zero);
    assert.equal(counted, String(8 * 1024 * 1024));
    await eventually('the run pods to be removed', async () => (await podsOf('run')).length === 0, 120_000, 1000);
  });

  test('logs -t of a pod printing without end, with a client that does not read', async (t) => {
    if (!needTestbed(t, NEEDS) || !server) return;
    const scaled = await ssh(`ps:scale ${APP} printer=1`);
    assert.equal(scaled.exitCode, 0, scaled.stderr);
    try {
      await eventually('the printer pod to run', async () => (await runningPods('printer')).length > 0, POD_START_MS, 500);
      const idle = await idleRss(server.pid);
      const client = unreadSsh(admin, server.ssh, `logs ${APP} -t -p printer`);
      try {
        assertBounded(t, await watchFlood(server, admin, idle, FLOOD_MS));
        assert.ok(running(client), 'logs -t was still attached at the end of the flood');
      } finally {
        client.kill('SIGKILL');
      }
      // The most recent lines a user may ask for, of 16,000 characters each: 160 MB were they
      // all held at once; the newest 4 MiB are kept.
      const before = await idleRss(server.pid);
      const { peak, result: recent } = await peakRssWhile(server.pid, ssh(`logs ${APP} -n 10000 -p printer`));
      t.diagnostic(`logs -n 10000 of 16,000-character lines: idle ${(before / 1048576).toFixed(1)} MB, peak ${(peak / 1048576).toFixed(1)} MB, ${recent.stdout.length} bytes shown`);
      assert.equal(recent.exitCode, 0, recent.stderr);
      assert.ok(peak < before + RSS_MARGIN, `peak ${peak} over ${before} + ${RSS_MARGIN}`);
      const shown = recent.stdout.split('\n').filter(Boolean);
      assert.ok(shown.length > 100 && shown.every((l) => /app\[printer\.[a-z0-9]+\]: x{15999}$/.test(l)), `${shown.length} lines`);
    } finally {
      const down = await ssh(`ps:scale ${APP} printer=0`);
      assert.equal(down.exitCode, 0, down.stderr);
    }
    assert.ok(server.alive());
  });

  test('a release command printing without end, pushed with git whose output nobody reads', async (t) => {
    if (!needTestbed(t, NEEDS) || !server) return;
    writeFileSync(join(wd, 'flood-release'), 'the release command prints without end\n');
    for (const args of [['add', '-A'], ['commit', '-q', '-m', 'flood the release']]) await run('git', args, { cwd: wd, env: genv });
    const idle = await idleRss(server.pid);
    // In a process group of its own, as a terminal runs a command: the user's Ctrl-C ends git and
    // the ssh it runs together (killing git alone leaves its ssh connected, and the push going).
    const push = spawn('git', ['push', remote(), 'main'], { cwd: wd, env: { ...process.env, ...genv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    try {
      await eventually('the release pod to run', async () => (await runningPods('release')).length > 0, PUSH_MS, 1000);
      assertBounded(t, await watchFlood(server, admin, idle, FLOOD_MS));
      assert.ok(running(push), 'the push was still going at the end of the flood');
    } finally {
      process.kill(-push.pid!, 'SIGKILL');
    }
    const left = Date.now();
    await eventually('the release pod to be removed', async () => (await podsOf('release')).length === 0, 120_000, 1000);
    t.diagnostic(`the release pod was removed ${((Date.now() - left) / 1000).toFixed(1)} s after the pusher left`);
    assert.ok(server.alive());
  });
});
