// A tenant's program printing without end to a client that does not read must not grow the
// server: the real SSH server, the real OpenSSH and git clients, the real pre-receive hook and
// hook socket, with the fake deployer's `run APP -- yes`, release command and `logs -t` printing
// as fast as they are let. The server runs in its own process, so its memory is its own.
// test/e2e/floods.test.ts replays the same floods with real pods.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { run } from '../../server/exec.ts';
import { gitEnv, makeKey, newApp, sshOptions, startTestServer, type TestKey } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';
import { assertBounded, describeFlood, idleRss, RSS_MARGIN, running, startServerProcess, unreadSsh, watchFlood, type ServerProcess } from '../support/floods.ts';

const SERVER = join(import.meta.dirname, '../support/server-process.ts');
/** How long each flood lasts here (the end-to-end test holds each for 30 s). */
const FLOOD_MS = 10_000;

let dir: string;
let admin: TestKey;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-floods-'));
  admin = await makeKey(dir, 'admin');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ssh = (server: ServerProcess, command: string) => run('ssh', [...sshOptions(admin), '-p', String(server.ssh), 'git@127.0.0.1', command]);

/** A server in its own process (FAKE_FLOOD as given) with app `flood`, created and, unless asked not to, pushed once. */
async function serverWithApp(name: string, env: Record<string, string>, opts: { push: boolean }): Promise<{ server: ServerProcess; wd: string; gitenv: Record<string, string> }> {
  const server = await startServerProcess(SERVER, {
    SLIPWAY_DATA_DIR: join(dir, name, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', ...env,
  });
  assert.equal((await ssh(server, 'apps:create flood')).exitCode, 0);
  const wd = join(dir, name, 'work');
  mkdirSync(wd, { recursive: true });
  const gitenv = gitEnv(join(dir, 'home'), admin);
  await run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env: gitenv });
  writeFileSync(join(wd, 'index.js'), 'console.log("hi")\n');
  await run('git', ['add', '-A'], { cwd: wd, env: gitenv });
  await run('git', ['commit', '-q', '-m', 'a'], { cwd: wd, env: gitenv });
  if (opts.push) {
    const push = await run('git', ['push', `ssh://git@127.0.0.1:${server.ssh}/flood.git`, 'main'], { cwd: wd, env: gitenv });
    assert.equal(push.exitCode, 0, push.stderr);
  }
  // Warm up what apps:list uses before the idle size is taken.
  for (let i = 0; i < 3; i++) assert.equal((await ssh(server, 'apps:list')).exitCode, 0);
  return { server, wd, gitenv };
}

describe('floods towards a client that does not read, server in its own process', { timeout: 5 * 60_000 }, () => {
  test('run APP -- yes with a client that does not read: memory stays bounded and apps:list answers', async (t) => {
    const { server } = await serverWithApp('run', {}, { push: true });
    try {
      const idle = await idleRss(server.pid);
      const client = unreadSsh(admin, server.ssh, 'run flood -- yes');
      try {
        const report = await watchFlood(server, admin, idle, FLOOD_MS);
        assertBounded(t, report);
        // Held back, not ended: the flood went on for the whole time.
        assert.ok(running(client), 'the run was still attached at the end of the flood');
      } finally {
        client.kill('SIGKILL');
      }
      assert.ok(server.alive());
      assert.equal((await ssh(server, 'apps:list')).exitCode, 0);
    } finally {
      await server.stop();
    }
  });

  test('a release command printing without end to a pusher that does not read: memory stays bounded and apps:list answers', async (t) => {
    const { server, wd, gitenv } = await serverWithApp('release', { FAKE_FLOOD: 'release' }, { push: false });
    try {
      const idle = await idleRss(server.pid);
      // git's stderr (where the `remote:` lines go) is a pipe nobody reads.
      const push = spawn('git', ['push', `ssh://git@127.0.0.1:${server.ssh}/flood.git`, 'main'], { cwd: wd, env: { ...process.env, ...gitenv }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const report = await watchFlood(server, admin, idle, FLOOD_MS);
        assertBounded(t, report);
        assert.ok(running(push), 'the push was still going at the end of the flood');
      } finally {
        push.kill('SIGKILL');
      }
      assert.ok(server.alive());
      assert.equal((await ssh(server, 'apps:list')).exitCode, 0);
    } finally {
      await server.stop();
    }
  });

  test('input without end from a client that ignores its SSH window, to a command that does not read it: the connection is closed', async (t) => {
    const { server } = await serverWithApp('input', {}, { push: true });
    try {
      const idle = await idleRss(server.pid);
      const attacker = windowIgnoringClient(server.ssh, admin, 'run flood -- sleep');
      let closed = false;
      void attacker.closed.then(() => { closed = true; });
      try {
        const report = await watchFlood(server, admin, idle, FLOOD_MS);
        t.diagnostic(describeFlood(report));
        assert.ok(report.maxRss < idle + RSS_MARGIN, describeFlood(report));
        assert.deepEqual(report.unanswered, [], describeFlood(report));
        assert.ok(closed, 'the server closed the connection');
      } finally {
        attacker.stop();
      }
      assert.match(server.log(), /its client sent more input than its window allows/);
    } finally {
      await server.stop();
    }
  });

  test('logs -t printing without end to a client that does not read: memory stays bounded and apps:list answers', async (t) => {
    const { server } = await serverWithApp('logs', { FAKE_FLOOD: 'logs' }, { push: true });
    try {
      const idle = await idleRss(server.pid);
      const client = unreadSsh(admin, server.ssh, 'logs flood -t');
      try {
        const report = await watchFlood(server, admin, idle, FLOOD_MS);
        assertBounded(t, report);
        assert.ok(running(client), 'logs -t was still attached at the end of the flood');
      } finally {
        client.kill('SIGKILL');
      }
      assert.ok(server.alive());
    } finally {
      await server.stop();
    }
  });
});

/**
 * An SSH client (ssh2's, as an attacker would take it) that runs `command` and sends input
 * without end, ignoring the window the server granted; resolves once its connection is closed.
 */
function windowIgnoringClient(port: number, key: TestKey, command: string): { closed: Promise<void>; stop(): void } {
  const conn = new ssh2.Client();
  let stopped = false;
  const closed = new Promise<void>((resolve) => conn.once('close', () => {
    stopped = true;
    resolve();
  }));
  conn.on('error', () => {});
  conn.on('ready', () => conn.exec(command, (err, stream) => {
    if (err) return conn.end();
    stream.on('data', () => {});
    stream.stderr.on('data', () => {});
    // Not a divisor of the 2 MiB window: ssh2's server drops data only once the window is exactly
    // 0, and a window that goes below 0 lets everything after it in.
    const chunk = Buffer.alloc(33_000);
    const pump = () => {
      if (stopped) return;
      // ssh2's client keeps to the window by this count; a crafted client simply does not.
      (stream as unknown as { outgoing: { window: number } }).outgoing.window = 2 ** 40;
      for (let i = 0; i < 64; i++) stream.write(chunk);
      setImmediate(pump);
    };
    pump();
  }));
  conn.connect({ host: '127.0.0.1', port, username: 'git', privateKey: readFileSync(key.path) });
  return { closed, stop: () => { stopped = true; conn.end(); } };
}

describe('a client that stops reading, in process', () => {
  test('input past what a command reads (keys:add) is refused in one sentence, and the session ends', async () => {
    const s = await startTestServer();
    try {
      const r = await s.ssh(s.admin, 'keys:add big', 'x'.repeat(4 * 1024 * 1024));
      assert.equal(r.exitCode, 1);
      assert.equal(r.stderr.trim(), '!     Standard input is too large.');
      const keys = await s.ssh(s.admin, 'keys:list');
      assert.equal(keys.exitCode, 0, keys.stderr);
      assert.doesNotMatch(keys.stdout, /\bbig\b/);
      assert.match(keys.stdout, /\badmin\b/);
    } finally {
      await s.close();
    }
  });

  test('its session is closed after SLIPWAY_STALL_TIMEOUT_S, and the command stopped; a client that reads gets everything', async () => {
    const s = await startTestServer({ SLIPWAY_STALL_TIMEOUT_S: '2' });
    try {
      const app = await newApp(s, 'stall');
      const wd = await s.workRepo({ 'index.js': '1\n' });
      assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);

      // A client that reads: the output flows (1 MiB of `yes`, then it hangs up).
      const reader = spawn('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `run ${app} -- yes`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let got = 0;
      await new Promise<void>((resolve) => {
        reader.stdout!.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= 1024 * 1024) resolve();
        });
      });
      reader.kill('SIGKILL');
      assert.ok(got >= 1024 * 1024);

      // A client that stops reading.
      const before = s.deployer.oneOff.runs.length;
      const stalled = unreadSsh(s.admin, s.slipway.sshPort, `run ${app} -- yes`);
      try {
        const entry = await eventually('the run to start', async () => s.deployer.oneOff.runs.slice(before).find((r) => r.command[0] === 'yes'));
        await eventually('the stalled run to be stopped', async () => entry.state === 'aborted', 15_000);
      } finally {
        stalled.kill('SIGKILL');
      }
      assert.equal((await s.ssh(s.admin, 'apps:list')).exitCode, 0);
    } finally {
      await s.close();
    }
  });
});
