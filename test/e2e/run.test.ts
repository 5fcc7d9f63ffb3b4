// `run` on the testbed's real pieces: a pushed app (test/fixtures/day2-app), one-off pods of its
// release over the exec API, exit codes, stdin, a real PTY (`script` gives ssh a terminal), and
// the pods gone after the client leaves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { LABEL } from '../../server/kube/labels.ts';
import { sshOptions, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG'] as const;
const APP = `run-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;

/** Runs a program, feeding `input`, and gives its exit code and output. */
function runProgram(cmd: string, args: string[], input = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('exit', (code) => resolve({ code, out, err }));
    p.stdin.end(input);
  });
}

describe('run: one-off pods on a real cluster', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  const sshArgs = (...extra: string[]) => [...sshOptions(s!.admin), ...extra, '-p', String(s!.slipway.sshPort), 'git@127.0.0.1'];
  const runPods = async () => kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `${LABEL.instance}=${APP},${LABEL.process}=run` });

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await s.ssh(s.admin, `apps:create ${APP}`)).exitCode, 0);
    const wd = fixtureCopy('day2-app');
    await s.commitAll(wd, 'run app');
    const push = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
  });
  after(async () => {
    if (!s) return;
    await s.ssh(s.admin, `apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('the command prints through the launcher and its exit code is the exit code', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await runProgram('ssh', [...sshArgs(), `run ${APP} -- sh -c 'echo hi; echo err >&2; exit 3'`]);
    assert.equal(r.code, 3, r.err);
    assert.equal(r.out, 'hi\n');
    assert.equal(r.err, 'err\n');
    const env = await runProgram('ssh', [...sshArgs(), `run ${APP} printenv SLIPWAY_APP SLIPWAY_PROCESS`]);
    assert.equal(env.out, `${APP}\nrun\n`, env.err);
    // The buildpack environment: node is on PATH only through the launcher.
    const node = await runProgram('ssh', [...sshArgs(), `run ${APP} -- node -e 'console.log(1 + 1)'`]);
    assert.equal(node.out, '2\n', node.err);
  });

  test('stdin is piped through, its end included', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await runProgram('ssh', [...sshArgs(), `run ${APP} -- cat`], 'data\nmore data\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'data\nmore data\n');
  });

  test('with a terminal the command gets a PTY of the client\'s size', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // The API server's exec sends the terminal size on its own channel once the process runs (as
    // for kubectl exec -t), so a command that asks at its very first instruction can still see
    // 0 0; what must hold is that the client's size reaches the PTY, so ask a moment later.
    const inner = ['stty', 'cols', '101', 'rows', '33;', 'exec', 'ssh', ...sshArgs('-tt'), `"run ${APP} -- sh -c 'tty; sleep 1; stty size'"`].join(' ');
    const r = await runProgram('script', ['-qec', inner, '/dev/null']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /\/dev\/pts\/\d+\r?\n/);
    assert.match(r.out, /33 101/);
  });

  test('a client that leaves takes its pod with it; the round trip of `run APP -- true`', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const p = spawn('ssh', [...sshArgs(), `run ${APP} -- sleep 300`], { stdio: ['pipe', 'pipe', 'pipe'] });
    await eventually('a running run pod', async () => (await runPods()).find((x) => x.status?.phase === 'Running'), 60_000);
    p.kill('SIGKILL');
    await eventually('the run pods to be gone', async () => (await runPods()).length === 0, 60_000, 500);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await runProgram('ssh', [...sshArgs(), `run ${APP} -- true`]);
      times.push(Date.now() - started);
      assert.equal(r.code, 0, r.err);
    }
    t.diagnostic(`run APP -- true round trips: ${times.join(', ')} ms`);
  });
  test('run:detached starts the command in the background; logs -p POD shows its output; the pod ends by itself', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await s.ssh(s.admin, `run:detached ${APP} -- sh -c 'echo detached says hi; exit 3'`);
    assert.equal(r.exitCode, 0, r.stderr);
    const pod = /\b(run-[a-z0-9]{5})\b/.exec(r.stdout)?.[1];
    assert.ok(pod, r.stdout);
    const ended = await eventually('the detached pod to finish', async () => {
      const p = (await runPods()).find((x) => x.metadata?.name === pod);
      return p?.status?.phase === 'Failed' || p?.status?.phase === 'Succeeded' ? p : undefined;
    }, 120_000, 500);
    assert.equal(ended.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    const logs = await s.ssh(s.admin, `logs ${APP} -p ${pod}`);
    assert.equal(logs.exitCode, 0, logs.stderr);
    assert.match(logs.stdout, /app\[run[^\]]*\]: detached says hi/);
  });
});
