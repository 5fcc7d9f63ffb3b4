// `run` and `run:detached` over the real SSH server and the real OpenSSH client, with the fake
// deployer at the Deployer interface: argument parsing, exit codes, stdin, the PTY, a disconnect.
// test/e2e/run.test.ts runs them on a real cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { newApp, sshOptions, startTestServer, type TestServer } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';

describe('run over SSH', () => {
  let s: TestServer;
  let app: string;
  before(async () => {
    s = await startTestServer();
    app = await newApp(s, 'run');
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
  });
  after(() => s.close());

  test('the one-off command exit code is the exit code, with and without --', async () => {
    const r = await s.ssh(s.admin, `run ${app} -- exit 3`);
    assert.equal(r.exitCode, 3, r.stderr);
    const ok = await s.ssh(s.admin, `run ${app} echo -n 'a b'`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal(ok.stdout, 'ran echo -n a b');
    const last = s.deployer.oneOff.runs.at(-1)!;
    assert.deepEqual(last.command, ['echo', '-n', 'a b']);
    assert.equal(last.timeoutSeconds, 3600);
    assert.equal(last.tty, null);
  });

  test('--timeout before the command is ours; after it, the command\'s', async () => {
    assert.equal((await s.ssh(s.admin, `run ${app} --timeout 10m -- echo --timeout 5`)).exitCode, 0);
    assert.equal(s.deployer.oneOff.runs.at(-1)!.timeoutSeconds, 600);
    assert.deepEqual(s.deployer.oneOff.runs.at(-1)!.command, ['echo', '--timeout', '5']);
    const bad = await s.ssh(s.admin, `run ${app} --timeout forever -- true`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not a timeout/);
    const none = await s.ssh(s.admin, `run ${app}`);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /usage: run APP/);
  });

  test('stdin reaches the command, and its end too', async () => {
    const r = await s.ssh(s.admin, `run ${app} -- cat`, 'line one\nline two');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'line one\nline two');
  });

  test('an app without a release, or another user\'s app, runs nothing', async () => {
    const fresh = await newApp(s, 'norel');
    const r = await s.ssh(s.admin, `run ${fresh} -- true`);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /has no release yet/);
  });

  test('with ssh -t the command gets a terminal and its window changes', async () => {
    const piped = await s.ssh(s.admin, `run ${app} -- tty`);
    assert.equal(piped.stdout, 'ran tty');
    const tt = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('ssh', [...sshOptions(s.admin), '-tt', '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `run ${app} -- tty`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(tt.code, 0);
    assert.match(tt.out, /ran tty on a \d+x\d+ terminal/);
    assert.notEqual(s.deployer.oneOff.runs.at(-1)!.tty, null);
  });

  test('a client that goes away aborts the run', async () => {
    const p = spawn('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `run ${app} -- sleep`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const entry = await eventually('the run to start', async () => s.deployer.oneOff.runs.find((r) => r.command[0] === 'sleep'));
    assert.equal(entry.state, 'running');
    p.kill('SIGKILL');
    await eventually('the run to be aborted', async () => entry.state === 'aborted');
  });

  test('run:detached prints the pod name for logs -p', async () => {
    const r = await s.ssh(s.admin, `run:detached ${app} -- node worker.js --once`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'run-fake1');
    assert.deepEqual(s.deployer.oneOff.detached.at(-1), { app, command: ['node', 'worker.js', '--once'], timeoutSeconds: 3600 });
    const logs = await s.ssh(s.admin, `logs ${app} -p run-bbbbb`);
    assert.equal(logs.exitCode, 0, logs.stderr);
    const logsRun = await s.ssh(s.admin, `logs ${app} -p run`);
    assert.equal(logsRun.exitCode, 0, logsRun.stderr);
  });
});
