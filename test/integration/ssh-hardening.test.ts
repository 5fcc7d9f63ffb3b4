// Attacks on the SSH front door, reproduced with raw sockets (a client cannot misbehave enough)
// and the real OpenSSH client (ControlMaster multiplexing, forced signature algorithms).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipe, run, type Piped, type RunResult } from '../../server/exec.ts';
import { makeKey, remoteLines, sshOptions, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { fingerprintOf } from '../../server/auth/keys.ts';
import { configureLog } from '../../server/output/log.ts';

const HELLO = 'SSH-2.0-x\r\n';
const SERVER_PROCESS = join(import.meta.dirname, '../support/server-process.ts');

/** A raw TCP client and what the server did to it. */
interface Probe {
  socket: Socket;
  /** The server sent something (its version line, or why it refused). */
  answered: boolean;
  /** The server closed its side (FIN or RST). */
  ended: boolean;
  closed: boolean;
}

/** Opens `n` raw sockets to the SSH port, each sending `hello` (or nothing); resolves once all are connected. */
async function flood(port: number, n: number, opts: { hello?: string; halfOpen?: boolean } = {}): Promise<Probe[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<Probe>((resolve) => {
    // allowHalfOpen: a peer that never closes its side, which is what an attacker does.
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: opts.halfOpen ?? false });
    const p: Probe = { socket, answered: false, ended: false, closed: false };
    socket.on('data', () => { p.answered = true; });
    socket.on('end', () => { p.ended = true; });
    socket.on('error', () => { p.ended = true; });
    socket.on('close', () => { p.ended = true; p.closed = true; resolve(p); });
    socket.on('connect', () => {
      if (opts.hello) socket.write(opts.hello);
      resolve(p);
    });
  })));
}

/** Waits (bounded) until `cond` holds; returns whether it did. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(25);
  }
  return true;
}

/** Waits (bounded) until the server has decided on every socket: no more of them close for 300 ms. */
async function settled(probes: Probe[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  let last = -1;
  for (let n = probes.filter((p) => p.closed).length; n !== last && Date.now() < end; n = probes.filter((p) => p.closed).length) {
    last = n;
    await sleep(300);
  }
}

const openFds = () => readdirSync('/proc/self/fd').length;

/**
 * The global limits alone, as before per-source accounting: for tests whose flood and admin both
 * come from 127.0.0.1 (the per-source tests below flood from there and log in from 127.0.0.2).
 */
const ONE_SOURCE_UNLIMITED = { SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS: 'none', SLIPWAY_SSH_PER_SOURCE_PENALTIES: 'off' };

/** `ssh … apps:list` as the admin, from the loopback address `from` (another source than 127.0.0.1's flood). */
function sshFrom(s: TestServer, from: string, command = 'apps:list'): Promise<RunResult> {
  return run('ssh', [...sshOptions(s.admin), '-b', from, '-p', String(s.slipway.sshPort), 'git@127.0.0.1', command]);
}

describe('one unauthenticated connection cannot take the process down', () => {
  // The server runs in its own process here, so "the process exited" is what the test sees.
  let dir: string;
  let admin: TestKey;
  let server: ResultPromise;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-rst-'));
    admin = await makeKey(dir, 'admin');
    server = execa(process.execPath, [SERVER_PROCESS], {
      // A hard cap of 100 unauthenticated connections (no random drop): the 101st is turned away.
      // No per-source limit or penalties: all 100 come from 127.0.0.1, and so does the admin after.
      env: { SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', SLIPWAY_SSH_MAX_STARTUPS: '100', ...ONE_SOURCE_UNLIMITED },
      reject: false,
      buffer: false,
    });
    const first = await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next();
    port = (JSON.parse(first.value as string) as { ssh: number }).ssh;
  });
  after(async () => {
    server.kill('SIGTERM');
    await server;
    rmSync(dir, { recursive: true, force: true });
  });

  test('101 connections waiting to authenticate, the one turned away then reset (SO_LINGER 0): the server lives on', async () => {
    let exited = false;
    void server.then(() => { exited = true; });
    const waiting = await flood(port, 100, { hello: HELLO });
    try {
      assert.ok(await until(() => waiting.every((p) => p.answered), 5000), 'the server took all 100');
      const [last] = await flood(port, 1, { hello: HELLO, halfOpen: true });
      // Wait for the server's FIN (it ended the socket), then reset: the error arrives on a
      // connection the server has already given up on.
      assert.ok(await until(() => last!.ended, 5000), 'the 101st was turned away');
      last!.socket.resetAndDestroy();
      await sleep(300);
    } finally {
      for (const p of waiting) p.socket.resetAndDestroy();
    }
    await sleep(300);
    assert.equal(exited, false, 'the server process is still running');
    const r = await run('ssh', [...sshOptions(admin), '-p', String(port), 'git@127.0.0.1', 'apps:list']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /No apps yet/);
  });
});

describe('login grace time (SLIPWAY_SSH_LOGIN_GRACE_S), counted from TCP accept', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ SLIPWAY_SSH_LOGIN_GRACE_S: '2', SLIPWAY_SSH_MAX_STARTUPS: '10:30:100', ...ONE_SOURCE_UNLIMITED }); });
  after(() => s.close());

  test('idle sockets that never close their side are destroyed at the deadline, so an admin gets in', async (t) => {
    const base = openFds();
    const idle = await flood(s.slipway.sshPort, 120, { hello: HELLO, halfOpen: true });
    t.after(() => { for (const p of idle) p.socket.destroy(); });
    assert.ok(await until(() => idle.every((p) => p.ended), 5000), `the server hung up on every idle socket (${idle.filter((p) => !p.ended).length} still open)`);
    // Our 120 half-open ends are still open; the server's ends must be gone (not in FIN-WAIT-2).
    await sleep(200);
    const fds = openFds() - base;
    t.diagnostic(`fds above baseline after the grace time, with our 120 half-open ends still open: ${fds}`);
    assert.ok(fds <= 120 + 10, `the server released its sockets (${fds} fds above baseline)`);
    const r = await s.ssh(s.admin, 'apps:list');
    assert.equal(r.exitCode, 0, r.stderr);
  });

  test('300 sockets that never send a version line are timed out too', async (t) => {
    const base = openFds();
    const silent = await flood(s.slipway.sshPort, 300);
    t.after(() => { for (const p of silent) p.socket.destroy(); });
    await settled(silent, 1500);
    const peak = openFds() - base;
    const kept = silent.filter((p) => !p.closed).length;
    assert.ok(await until(() => silent.every((p) => p.closed), 5000), `${silent.filter((p) => !p.closed).length} silent sockets still open after the grace time`);
    await sleep(200);
    const fds = openFds() - base;
    t.diagnostic(`300 silent sockets: ${kept} kept at first (the rest dropped by MaxStartups), fds above baseline ${peak} at peak, ${fds} after the 2 s grace time; open after it: ${silent.filter((p) => !p.closed).length}`);
    assert.ok(kept <= 100, `MaxStartups 10:30:100 keeps at most 100 unauthenticated (${kept})`);
    assert.ok(fds <= 10, `nothing left open (${fds} fds above baseline)`);
    const r = await s.ssh(s.admin, 'apps:list');
    assert.equal(r.exitCode, 0, r.stderr);
  });
});

describe('MaxStartups random early drop (SLIPWAY_SSH_MAX_STARTUPS) under a flood of silent sockets', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer({ SLIPWAY_SSH_LOGIN_GRACE_S: '30', SLIPWAY_SSH_MAX_STARTUPS: '10:30:100', ...ONE_SOURCE_UNLIMITED }); });
  after(() => s.close());

  test('150 silent sockets held open: at most 100 are kept, and an admin still gets in', async (t) => {
    const silent = await flood(s.slipway.sshPort, 150);
    try {
      // The drops take the server's turn on a loaded machine: waited for (bounded; the grace time is 30 s), then settled.
      await until(() => silent.filter((p) => !p.closed).length <= 100, 15_000);
      await settled(silent, 3000);
      const kept = silent.filter((p) => !p.closed).length;
      assert.ok(kept >= 10 && kept <= 100, `between start (10) and full (100) unauthenticated connections are kept (${kept})`);
      const attempts = 40;
      let ok = 0;
      for (let i = 0; i < attempts; i++) {
        const r = await s.ssh(s.admin, 'apps:list');
        if (r.exitCode === 0) ok++;
        else assert.equal(r.exitCode, 255, r.stderr);
      }
      t.diagnostic(`150 silent sockets: ${kept} kept; a real admin ssh got in ${ok} of ${attempts} times`);
      assert.ok(ok >= 1, 'an admin got in at least once');
    } finally {
      for (const p of silent) p.socket.destroy();
    }
  });
});

describe('per-source startups and penalties (PerSourceMaxStartups, PerSourcePenalties), with the default limits', () => {
  test('50 concurrent git clones over SSH from one address all succeed', async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    assert.equal((await s.ssh(s.admin, 'apps:create burst')).exitCode, 0);
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n', 'README': 'burst\n' });
    const push = await s.git(['push', s.sshRemote('burst'), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      s.git(['clone', '--no-checkout', '--quiet', s.sshRemote('burst'), join(s.dir, `clone-${i}`)])));
    const failed = results.filter((r) => r.exitCode !== 0);
    t.diagnostic(`50 concurrent clones from 127.0.0.1: ${failed.length} failed${failed[0] ? `; first: ${failed[0].stderr.trim()}` : ''}`);
    assert.equal(failed.length, 0, failed[0]?.stderr);
  });

  test('a flood of silent sockets from 127.0.0.1 leaves an admin from 127.0.0.2 a way in, every try; then 127.0.0.1 is penalised', async (t) => {
    const s = await startTestServer({ SLIPWAY_SSH_LOGIN_GRACE_S: '30' });
    t.after(() => s.close());
    const silent = await flood(s.slipway.sshPort, 150);
    try {
      // As above: the server's drops waited for, bounded well inside the 30 s grace time.
      await until(() => silent.filter((p) => !p.closed).length <= 64, 15_000);
      await settled(silent, 3000);
      const kept = silent.filter((p) => !p.closed).length;
      assert.ok(kept <= 64, `one source keeps at most 64 unauthenticated connections (${kept})`);
      const attempts = 30;
      let ok = 0;
      for (let i = 0; i < attempts; i++) {
        const r = await sshFrom(s, '127.0.0.2');
        if (r.exitCode === 0) ok++;
      }
      t.diagnostic(`150 silent sockets from 127.0.0.1: ${kept} kept; the admin from 127.0.0.2 got in ${ok} of ${attempts} times`);
      assert.equal(ok, attempts, 'the admin from another address got in every time');
    } finally {
      for (const p of silent) p.socket.destroy();
    }
    // Each of those connections ended without authenticating (noauth, 1 s each): far past the
    // 15 s minimum, so the flooding address is now refused at accept; the other is not.
    assert.ok(await until(() => silent.every((p) => p.closed), 5000));
    // Bounded: the server may take a moment to see every one of them close.
    let flooder = await s.ssh(s.admin, 'apps:list');
    for (let i = 0; i < 10 && flooder.exitCode === 0; i++) {
      await sleep(200);
      flooder = await s.ssh(s.admin, 'apps:list');
    }
    assert.equal(flooder.exitCode, 255, `the flooding address is refused (${flooder.stdout})`);
    const other = await sshFrom(s, '127.0.0.2');
    assert.equal(other.exitCode, 0, other.stderr);
  });
});

/** An OpenSSH ControlMaster for `key`, in the foreground, and commands multiplexed over it. */
class Master {
  readonly path: string;
  readonly process: Piped;
  private readonly port: number;
  constructor(s: TestServer, key: TestKey) {
    this.port = s.slipway.sshPort;
    this.path = join(s.dir, `cm-${key.name}`);
    this.process = pipe('ssh', [...sshOptions(key), '-p', String(this.port), '-M', '-N', '-o', `ControlPath=${this.path}`, 'git@127.0.0.1']);
    this.process.stdin.end();
  }

  /** Options for a client that can only ride the master: without it, it could not authenticate at all. */
  private muxOptions(): string[] {
    return ['-o', `ControlPath=${this.path}`, '-o', 'ControlMaster=no', '-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-p', String(this.port)];
  }

  /** Resolves once the master is up (bounded). */
  async ready(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await run('ssh', [...this.muxOptions(), '-O', 'check', 'git@127.0.0.1']);
      if (r.exitCode === 0) return;
      await sleep(50);
    }
    throw new Error('the ControlMaster did not come up');
  }

  /** Runs a command over the master's connection. */
  ssh(command: string, input = ''): Promise<RunResult> {
    return run('ssh', [...this.muxOptions(), 'git@127.0.0.1', command], { input });
  }

  /** Starts a command over the master's connection with stdin left open. */
  start(command: string): Piped {
    return pipe('ssh', [...this.muxOptions(), 'git@127.0.0.1', command]);
  }

  /** Whether the master process exited within `ms`. */
  async exited(ms: number): Promise<boolean> {
    return Promise.race([this.process.exited.then(() => true), sleep(ms).then(() => false)]);
  }

  stop(): void {
    this.process.kill();
  }
}

const text = (stream: NodeJS.ReadableStream) => new Promise<string>((resolve) => {
  let out = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => { out += d; });
  stream.on('end', () => resolve(out));
});

describe('rights are checked at every command of an open connection (ControlMaster)', () => {
  let s: TestServer;
  const masters: Master[] = [];
  before(async () => {
    s = await startTestServer();
    assert.equal((await s.ssh(s.admin, 'apps:create other')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'config:set other SECRET=s3cret')).exitCode, 0);
  });
  after(async () => {
    for (const m of masters) m.stop();
    await s.close();
  });
  const master = async (key: TestKey) => {
    const m = new Master(s, key);
    masters.push(m);
    await m.ready();
    return m;
  };

  test('a key removed while its connection stays open can run nothing more on it, and the connection is closed', async () => {
    const admin2 = await makeKey(s.dir, 'admin2');
    assert.equal((await s.ssh(s.admin, 'keys:add admin2 --admin', admin2.pub)).exitCode, 0);
    const m = await master(admin2);
    assert.equal((await m.ssh('config:get other SECRET')).stdout, 's3cret', 'the multiplexed command works before');
    // As the local `slipway` CLI would, from another process: no SSH command ran to notice it.
    s.slipway.services.store.keys.remove('admin2');
    const backdoor = await makeKey(s.dir, 'backdoor');
    const add = await m.ssh('keys:add backdoor --admin', backdoor.pub);
    assert.equal(add.exitCode, 1, add.stderr);
    assert.match(add.stderr, /Your key has been removed from Slipway/);
    assert.ok(await m.exited(5000), 'the removed key\'s connection was closed');
    const keys = JSON.parse((await s.ssh(s.admin, 'keys:list --json')).stdout) as { name: string }[];
    assert.deepEqual(keys.map((k) => k.name), ['admin']);
  });

  test('keys:remove closes the removed key\'s open connections at once', async () => {
    const admin3 = await makeKey(s.dir, 'admin3');
    assert.equal((await s.ssh(s.admin, 'keys:add admin3 --admin', admin3.pub)).exitCode, 0);
    const m = await master(admin3);
    assert.equal((await m.ssh('apps:list')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'keys:remove admin3')).exitCode, 0);
    assert.ok(await m.exited(5000), 'the connection was closed');
    const r = await m.ssh('config:get other SECRET');
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch(r.stdout, /s3cret/);
  });

  test('a demotion and access:revoke apply to the next command on the same connection', async () => {
    const ops = await makeKey(s.dir, 'ops');
    assert.equal((await s.ssh(s.admin, 'keys:add ops --admin', ops.pub)).exitCode, 0);
    const m = await master(ops);
    assert.equal((await m.ssh('config:get other SECRET')).stdout, 's3cret');
    s.slipway.services.store.keys.setAdmin('ops', false);
    assert.equal((await s.ssh(s.admin, 'access:grant other ops')).exitCode, 0);
    const backdoor = await makeKey(s.dir, 'backdoor2');
    const add = await m.ssh('keys:add backdoor2 --admin', backdoor.pub);
    assert.equal(add.exitCode, 1, add.stderr);
    assert.match(add.stderr, /admin/);
    assert.equal((await m.ssh('config:get other SECRET')).stdout, 's3cret', 'a granted deployer still reads its app');
    assert.equal((await s.ssh(s.admin, 'access:revoke other ops')).exitCode, 0);
    const get = await m.ssh('config:get other SECRET');
    assert.equal(get.exitCode, 1, get.stderr);
    assert.match(get.stderr, /does not exist, or your key has no access/);
    assert.equal((await m.exited(200)), false, 'the connection of a key that still exists stays open');
  });

  test('at most 10 sessions at once on one connection (MaxSessions)', async () => {
    const m = await master(s.admin);
    // keys:add waits for the end of stdin, so each of these holds its session open.
    const held = Array.from({ length: 11 }, (_, i) => m.start(`keys:add held${i}`));
    try {
      const done: { code: number; err: string }[] = [];
      const results = held.map(async (p) => {
        const err = text(p.stderr);
        const r = { code: await p.exited, err: await err };
        done.push(r);
        return r;
      });
      assert.ok(await until(() => done.length >= 1, 10_000), 'one session was refused');
      await sleep(300);
      assert.equal(done.length, 1, 'only one');
      assert.equal(done[0]!.code, 255, done[0]!.err);
      assert.match(done[0]!.err, /Session open refused by peer/);
      for (const p of held) p.stdin.end();
      const all = await Promise.all(results);
      assert.equal(all.filter((r) => r.code === 1 && /No public key on standard input/.test(r.err)).length, 10, 'the other ten ran');
      assert.equal((await m.ssh('apps:list')).exitCode, 0, 'closed sessions are counted down');
    } finally {
      for (const p of held) p.kill();
    }
  });
});

/** `p`'s result, or undefined if it has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, sleep(ms).then(() => undefined)]);
}

describe('work already running when its key loses the app is stopped (access:revoke, keys:remove, demotion)', () => {
  let s: TestServer;
  let apps = 0;
  before(async () => { s = await startTestServer(); });
  after(() => s.close());

  /** A new key added as a deployer (or admin) with access to a new app; returns both. */
  async function keyWithApp(name: string, opts: { admin?: boolean } = {}): Promise<{ key: TestKey; app: string }> {
    const key = await makeKey(s.dir, name);
    const app = `held-${++apps}`;
    assert.equal((await s.ssh(s.admin, `keys:add ${name}${opts.admin ? ' --admin' : ''}`, key.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
    if (!opts.admin) assert.equal((await s.ssh(s.admin, `access:grant ${app} ${name}`)).exitCode, 0);
    return { key, app };
  }

  /** Starts `git push` of a new repo to `remote`, its build held by the fake builder; resolves once the build runs. */
  async function pushHeldMidBuild(t: TestContext, remote: string, key: TestKey) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    t.after(() => release());
    let started!: () => void;
    const building = new Promise<void>((resolve) => { started = resolve; });
    let aborted = false;
    useControls(t, s, { buildGate: gate, onBuildStart: () => started(), onBuildAborted: () => { aborted = true; } });
    const wd = await s.workRepo({ 'index.js': 'console.log("held")\n' });
    const push = s.git(['push', remote, 'main'], { cwd: wd, key });
    const early = await Promise.race([building.then(() => undefined), push]);
    assert.equal(early, undefined, `the push ended before its build: ${early?.stderr}`);
    return {
      /** The push's result once it ends; if it does not within `ms`, the build is let go and the test fails. */
      result: async (ms: number) => {
        const r = await within(push, ms);
        if (!r) {
          release();
          await push;
          assert.fail(`the push went on for ${ms / 1000} s after its key lost the app`);
        }
        return r;
      },
      aborted: () => aborted,
    };
  }

  /** What a refused push must show: one sentence, the build aborted, no ref moved, nothing deployed. */
  async function assertStopped(r: RunResult, held: { aborted(): boolean }, keyName: string, app: string): Promise<void> {
    assert.notEqual(r.exitCode, 0, r.stderr);
    const errors = remoteLines(r.stderr).filter((l) => l.startsWith(' !'));
    assert.deepEqual(errors, [` !     The key ${keyName} no longer has access to ${app}: the push was stopped and nothing was deployed.`], r.stderr);
    assert.ok(held.aborted(), 'the build saw its abort signal');
    const refs = await s.git(['ls-remote', s.sshRemote(app)]);
    assert.equal(refs.exitCode, 0, refs.stderr);
    assert.equal(refs.stdout.trim(), '', 'no ref moved');
    assert.equal(s.deployer.rollout.deployed.filter((d) => d.app === app).length, 0, 'nothing was deployed');
  }

  test('access:revoke stops a push of that app over SSH mid-build', async (t) => {
    const { key, app } = await keyWithApp('dev-revoked');
    const held = await pushHeldMidBuild(t, s.sshRemote(app), key);
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} dev-revoked`)).exitCode, 0);
    await assertStopped(await held.result(10_000), held, 'dev-revoked', app);
  });

  test('keys:remove stops a push over HTTP (with the key\'s token) mid-build', async (t) => {
    const { key, app } = await keyWithApp('dev-removed');
    const token = (await s.ssh(key, 'tokens:create ci')).stdout.split('\n')[1]!;
    const held = await pushHeldMidBuild(t, s.httpRemote(app, token), key);
    assert.equal((await s.ssh(s.admin, 'keys:remove dev-removed')).exitCode, 0);
    await assertStopped(await held.result(10_000), held, 'dev-removed', app);
  });

  test('an admin demoted while pushing an app it has no grant for: the push is stopped within the sweep period', async (t) => {
    const { key, app } = await keyWithApp('ops-demoted', { admin: true });
    const held = await pushHeldMidBuild(t, s.sshRemote(app), key);
    // As another process (the local CLI, an operator's SQL) would: no command here notices it.
    s.slipway.services.store.keys.setAdmin('ops-demoted', false);
    await assertStopped(await held.result(15_000), held, 'ops-demoted', app);
  });

  test('a running `logs -t` of a key revoked from the app ends, saying why', async (t) => {
    useControls(t, s, { followLogs: true });
    const { key, app } = await keyWithApp('dev-tail');
    const tail = pipe('ssh', [...sshOptions(key), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `logs ${app} -t`]);
    tail.stdin.end();
    t.after(() => tail.kill());
    const out = text(tail.stdout);
    const err = text(tail.stderr);
    const first = await within(new Promise<boolean>((resolve) => tail.stdout.once('data', () => resolve(true))), 10_000);
    assert.equal(first, true, 'logs -t printed its first line');
    assert.equal(await within(tail.exited, 300), undefined, 'logs -t keeps streaming while the key has access');
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} dev-tail`)).exitCode, 0);
    const code = await within(tail.exited, 10_000);
    assert.equal(code, 1, 'logs -t ended with the error exit code (undefined: still running)');
    assert.match(await out, /log \(lines=100, follow=true\)/);
    assert.equal((await err).trim(), `!     The key dev-tail no longer has access to ${app}.`);
  });

  test('a running `run` of a key revoked from the app is aborted, saying why', async (t) => {
    const { key, app } = await keyWithApp('dev-run');
    const wd = await s.workRepo({ 'index.js': 'console.log("run")\n' });
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    const sleeper = pipe('ssh', [...sshOptions(key), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `run ${app} -- sleep`]);
    t.after(() => sleeper.kill());
    const err = text(sleeper.stderr);
    const started = async () => s.deployer.oneOff.runs.find((r) => r.app === app && r.command[0] === 'sleep');
    assert.ok(await until(() => s.deployer.oneOff.runs.some((r) => r.app === app), 10_000), 'the run started');
    const entry = (await started())!;
    assert.equal(entry.state, 'running');
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} dev-run`)).exitCode, 0);
    const code = await within(sleeper.exited, 10_000);
    assert.equal(code, 1, 'run ended with the error exit code (undefined: still running)');
    assert.equal(entry.state, 'aborted', 'the one-off command was stopped, not left running');
    assert.equal((await err).trim(), `!     The key dev-run no longer has access to ${app}.`);
  });
});

describe('key policy', () => {
  let s: TestServer;
  let rsa: TestKey;
  before(async () => {
    // Failed logins are what these tests do; the authfail penalty is not what they test.
    s = await startTestServer({ SLIPWAY_SSH_PER_SOURCE_PENALTIES: 'off' });
    rsa = { name: 'rsa', path: join(s.dir, 'key-rsa'), pub: '' };
    assert.equal((await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '3072', '-N', '', '-C', 'rsa', '-f', rsa.path])).exitCode, 0);
    rsa.pub = readFileSync(rsa.path + '.pub', 'utf8');
  });
  after(() => s.close());

  test('authorized_keys options are refused, not silently dropped', async () => {
    const k = await makeKey(s.dir, 'restricted');
    for (const line of [`from="10.0.0.1" ${k.pub}`, `command="echo hi",no-pty ${k.pub}`, `expiry-time="20200101" ${k.pub}`]) {
      const r = await s.ssh(s.admin, 'keys:add restricted', line);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /Key options \(from=, command=, no-pty, expiry-time=…\) are not supported/);
    }
    assert.equal((await s.ssh(k, 'apps:list')).exitCode, 255, 'the key was not added');
  });

  test('RSA keys under 2048 bits are refused', async () => {
    const small = join(s.dir, 'key-rsa1024');
    assert.equal((await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', small])).exitCode, 0);
    const r = await s.ssh(s.admin, 'keys:add small', readFileSync(small + '.pub', 'utf8'));
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /That RSA key has 1024 bits; use at least 2048 bits/);
  });

  test('an RSA key under 2048 bits stored before the policy is refused at login, and the log says why', async (t) => {
    const small = join(s.dir, 'key-oldrsa');
    assert.equal((await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-C', 'oldrsa', '-f', small])).exitCode, 0);
    // As a database from before the policy has it: keys:add would refuse this key now.
    const b64 = readFileSync(small + '.pub', 'utf8').split(' ')[1]!;
    assert.equal(s.slipway.services.store.keys.add({ name: 'oldrsa', fingerprint: fingerprintOf(Buffer.from(b64, 'base64')), type: 'ssh-rsa', publicKey: b64, admin: true }), 'ok');
    const logged: string[] = [];
    configureLog({ level: 'warn', sink: (line) => logged.push(line) });
    t.after(() => configureLog({ level: process.env.SLIPWAY_TEST_LOG ? 'debug' : 'error', sink: (line) => process.stderr.write(line + '\n') }));
    const r = await run('ssh', [...sshOptions({ name: 'oldrsa', path: small, pub: '' }), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', 'apps:list']);
    assert.equal(r.exitCode, 255, r.stdout);
    assert.match(r.stderr, /Permission denied/);
    assert.ok(logged.some((l) => /ssh key refused at login by the key policy/.test(l) && /"key":"oldrsa"/.test(l) && /That RSA key has 1024 bits/.test(l)), logged.join('\n'));
  });

  // rsa-sha2-256, not -512: ssh2 1.17's server-sig-algs lacks a comma before rsa-sha2-512, so
  // OpenSSH finds no mutual algorithm for -512 alone; rsa-sha2-256 is what clients use with it.
  test('an RSA key signs in with rsa-sha2-256 and rsa-sha2-512 but not with SHA-1 ssh-rsa', async () => {
    assert.equal((await s.ssh(s.admin, 'keys:add rsa', rsa.pub)).exitCode, 0);
    const ssh = (algos: string) => run('ssh', [...sshOptions(rsa), '-o', `PubkeyAcceptedAlgorithms=${algos}`, '-p', String(s.slipway.sshPort), 'git@127.0.0.1', 'apps:list']);
    const sha1 = await ssh('ssh-rsa');
    assert.equal(sha1.exitCode, 255, sha1.stdout);
    assert.match(sha1.stderr, /Permission denied/);
    const sha2 = await ssh('rsa-sha2-256');
    assert.equal(sha2.exitCode, 0, sha2.stderr);
    // OpenSSH offers rsa-sha2-512 only if server-sig-algs lists it (the ssh2 patch mends that list).
    const sha512 = await ssh('rsa-sha2-512');
    assert.equal(sha512.exitCode, 0, sha512.stderr);
  });
});
