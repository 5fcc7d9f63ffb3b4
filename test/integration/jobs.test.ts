// Jobs over the real SSH server with real OpenSSH clients and the fake deployer: every change
// that rolls out is a job with a saved transcript, which another connection can follow and
// cancel, and which another tenant can neither see nor stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, remoteLines, sshOptions, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { run } from '../../server/exec.ts';
import { eventually } from '../support/eventually.ts';

interface JobJson { id: string; kind: string; app: string; by: string; status: string; createdAt: string; startedAt: string | null; finishedAt: string | null; release: number | null; error: string | null }

describe('jobs over SSH', () => {
  let s: TestServer;
  let dev: TestKey;
  let eve: TestKey;
  const jobsOf = async (app: string): Promise<JobJson[]> => {
    const r = await s.ssh(s.admin, `jobs ${app} --json`);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as JobJson[];
  };
  /** A new app, pushed once (v1 runs), that `dev` may use. */
  const deployedApp = async (prefix: string) => {
    const app = await newApp(s, prefix);
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: await s.workRepo({ 'index.js': 'hi\n' }) });
    assert.equal(push.exitCode, 0, push.stderr);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    return { app, push };
  };
  /** Holds the next rollouts until the returned function is called; resolves once one is held. */
  const holdRollouts = (t: Parameters<typeof useControls>[0]) => {
    let open!: () => void;
    let held!: () => void;
    const rolling = new Promise<void>((resolve) => { held = resolve; });
    useControls(t, s, { deployGate: new Promise<void>((resolve) => { open = resolve; }), onDeployStart: () => held() });
    return { rolling, open: () => open() };
  };
  /** The job running now for `app` (there is one: its rollout is held). */
  const runningJob = async (app: string) => {
    const [job] = await jobsOf(app);
    assert.equal(job?.status, 'running', JSON.stringify(job));
    return job!;
  };

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    eve = await makeKey(s.dir, 'eve');
    for (const k of [dev, eve]) assert.equal((await s.ssh(s.admin, `keys:add ${k.name}`, k.pub)).exitCode, 0);
  });
  after(() => s.close());

  test('a push is a job: succeeded, its release, its transcript is what the pusher saw, and the pusher sees no job line', async () => {
    const { app, push } = await deployedApp('pushjob');
    const [job, ...older] = await jobsOf(app);
    assert.deepEqual(older, []);
    assert.deepEqual([job!.kind, job!.status, job!.release, job!.by, job!.error], ['push', 'succeeded', 1, 'admin', null]);
    const seen = remoteLines(push.stderr).filter((l) => l.startsWith('-----> ') || l.startsWith('       ') || l.startsWith('====='));
    assert.ok(!seen.some((l) => l.includes(job!.id)), 'the push transcript is as before');
    const output = await s.ssh(s.admin, `jobs:output ${job!.id}`);
    assert.equal(output.exitCode, 0, output.stderr);
    assert.deepEqual(output.stdout.split('\n'), seen);
  });

  test('config:set creates a succeeded job with its transcript; jobs:info --json is exactly the job object', async () => {
    const { app } = await deployedApp('cfgjob');
    const r = await s.ssh(dev, `config:set ${app} GREETING=hi`);
    assert.equal(r.exitCode, 0, r.stderr);
    const id = /^-----> Job ([a-z0-9]{12}) \(config:set\)$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    const info = await s.ssh(dev, `jobs:info ${id} --json`);
    assert.equal(info.exitCode, 0, info.stderr);
    const job = JSON.parse(info.stdout) as JobJson;
    assert.deepEqual(Object.keys(job), ['id', 'kind', 'app', 'by', 'status', 'createdAt', 'startedAt', 'finishedAt', 'release', 'error', 'credential']);
    assert.deepEqual({ ...job, createdAt: '', startedAt: '', finishedAt: '' }, { id, kind: 'config:set', app, by: 'dev', status: 'succeeded', createdAt: '', startedAt: '', finishedAt: '', release: 2, error: null, credential: 'key' });
    assert.ok(job.createdAt <= job.startedAt! && job.startedAt! <= job.finishedAt!, JSON.stringify(job));
    assert.deepEqual((await jobsOf(app)).map((j) => [j.id, j.kind]), [[id, 'config:set'], [(await jobsOf(app))[1]!.id, 'push']], 'newest first');
    // The transcript is what config:set printed between its job line and its own last line.
    const printed = r.stdout.split('\n');
    const transcript = (await s.ssh(dev, `jobs:output ${id}`)).stdout;
    assert.deepEqual(transcript.split('\n'), printed.slice(1, -1));
    assert.ok(transcript.includes('       web: 1/1 ready'), transcript);
    const text = await s.ssh(dev, `jobs:info ${id}`);
    assert.match(text.stdout, new RegExp(`^=== Job ${id}\\nKind: +config:set\\nApp: +${app}\\nBy: +dev\\nStatus: +succeeded\\n`));
    assert.match((await s.ssh(dev, `jobs ${app}`)).stdout, new RegExp(`^${id}  config:set  succeeded  v2 +dev `, 'm'));
  });

  test('jobs:output -t from a second connection follows a running job to its end, and exits 0 as it succeeded', async (t) => {
    const { app } = await deployedApp('follow');
    const hold = holdRollouts(t);
    const setting = s.ssh(s.admin, `config:set ${app} A=1`);
    await hold.rolling;
    const job = await runningJob(app);
    const following = s.ssh(dev, `jobs:output ${job.id} -t`);
    // Following (from its own connection) before the rollout goes on.
    await eventually('the follower to be following', async () => s.slipway.services.sessions.list().some((x) => x.app === app && x.identity.name === 'dev'));
    hold.open();
    const [set, followed] = await Promise.all([setting, following]);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(followed.exitCode, 0, followed.stderr);
    const lines = followed.stdout.split('\n');
    assert.ok(lines.indexOf('       web: 0/1 ready') >= 0 && lines.indexOf('       web: 0/1 ready') < lines.indexOf('       web: 1/1 ready'), followed.stdout);
    assert.deepEqual(lines, set.stdout.split('\n').slice(1, -1), 'the follower saw the whole transcript');
  });

  test('jobs:cancel stops a running job: cancelled, the change taken back, the lock free, a follower exits 1', async (t) => {
    const { app } = await deployedApp('cancel');
    const hold = holdRollouts(t);
    const setting = s.ssh(s.admin, `config:set ${app} B=2`);
    await hold.rolling;
    const job = await runningJob(app);
    const following = s.ssh(s.admin, `jobs:output ${job.id} -t`);
    await eventually('the follower to be following', async () => s.slipway.services.sessions.list().some((x) => x.app === app && x.identity.name === 'admin'));
    const cancel = await s.ssh(dev, `jobs:cancel ${job.id}`);
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    assert.equal(cancel.stdout, `Cancelled job ${job.id} (config:set of ${app}).`);
    const [set, followed] = await Promise.all([setting, following]);
    assert.equal(set.exitCode, 1);
    assert.match(set.stderr, /The job was cancelled by dev/);
    assert.equal(followed.exitCode, 1, 'a follower exits 1 for a job that did not succeed');
    assert.equal(followed.stdout.split('\n').at(-1), ' !     The job was cancelled by dev.');
    const after = JSON.parse((await s.ssh(dev, `jobs:info ${job.id} --json`)).stdout) as JobJson;
    assert.deepEqual([after.status, after.error, after.release], ['cancelled', 'The job was cancelled by dev.', null]);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), {}, 'the change was taken back');
    const again = await s.ssh(dev, `jobs:cancel ${job.id}`);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /has already ended \(cancelled\)/);
    // The lock is free: the next change goes through.
    hold.open();
    const next = await s.ssh(s.admin, `config:set ${app} B=3`);
    assert.equal(next.exitCode, 0, next.stderr);
  });

  test("another tenant can neither see, follow nor cancel a job: the same sentence as an unknown id", async (t) => {
    const { app } = await deployedApp('tenant');
    const hold = holdRollouts(t);
    const setting = s.ssh(s.admin, `config:set ${app} C=3`);
    await hold.rolling;
    const job = await runningJob(app);
    for (const cmd of ['jobs:info', 'jobs:output', 'jobs:cancel']) {
      const theirs = await s.ssh(eve, `${cmd} ${job.id}`);
      const unknown = await s.ssh(eve, `${cmd} zzzzzzzzzzzz`);
      assert.equal(theirs.exitCode, 1, cmd);
      assert.equal(theirs.stdout, '', cmd);
      assert.equal(theirs.stderr, ` !     There is no job "${job.id}", or your key has no access to its app.`, cmd);
      assert.equal(unknown.stderr, ' !     There is no job "zzzzzzzzzzzz", or your key has no access to its app.', cmd);
    }
    assert.equal((await s.ssh(eve, `jobs ${app}`)).exitCode, 1);
    assert.equal((await s.ssh(s.admin, 'jobs:info zzzzzzzzzzzz')).stderr, ' !     There is no job "zzzzzzzzzzzz".');
    assert.equal((await runningJob(app)).id, job.id, 'still running');
    hold.open();
    assert.equal((await setting).exitCode, 0);
  });

  test("a follower whose key loses the app is stopped at once; the job goes on", async (t) => {
    const { app } = await deployedApp('revoked');
    const hold = holdRollouts(t);
    const setting = s.ssh(s.admin, `config:set ${app} D=4`);
    await hold.rolling;
    const job = await runningJob(app);
    const following = s.ssh(dev, `jobs:output ${job.id} -t`);
    await eventually('the follower to be following', async () => s.slipway.services.sessions.list().some((x) => x.app === app && x.identity.name === 'dev'));
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} dev`)).exitCode, 0);
    const followed = await following;
    assert.equal(followed.exitCode, 1);
    assert.match(followed.stderr, new RegExp(`The key dev no longer has access to ${app}`));
    hold.open();
    assert.equal((await setting).exitCode, 0, 'the job itself was started by admin and goes on');
    assert.equal((await jobsOf(app))[0]!.status, 'succeeded');
  });

  test('a job whose starter loses the app is cancelled, saying why', async (t) => {
    const { app } = await deployedApp('starter');
    const hold = holdRollouts(t);
    const setting = s.ssh(dev, `config:set ${app} F=6`);
    await hold.rolling;
    const job = await runningJob(app);
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} dev`)).exitCode, 0);
    const set = await setting;
    assert.equal(set.exitCode, 1);
    assert.match(set.stderr, new RegExp(`The key dev no longer has access to ${app}`));
    const after = JSON.parse((await s.ssh(s.admin, `jobs:info ${job.id} --json`)).stdout) as JobJson;
    assert.equal(after.status, 'cancelled');
    assert.match(after.error ?? '', new RegExp(`The key dev no longer has access to ${app}`));
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), {}, 'the change was taken back');
  });

  test('the SSH client going away cancels its foreground job and frees the lock', async (t) => {
    const { app } = await deployedApp('hangup');
    const hold = holdRollouts(t);
    // The ssh client process dies (Ctrl-C, a dropped laptop): its connection closes.
    const client = new AbortController();
    const setting = run('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `config:set ${app} E=5`], { signal: client.signal });
    await hold.rolling;
    const job = await runningJob(app);
    client.abort();
    assert.equal((await setting).stopped, 'canceled');
    const ended = await eventually('the job to end', async () => {
      const [j] = await jobsOf(app);
      return j?.status !== 'running' && j;
    });
    assert.deepEqual([ended.id, ended.status], [job.id, 'cancelled']);
    hold.open();
    assert.equal((await s.ssh(s.admin, `config:set ${app} E=6`)).exitCode, 0, 'the lock is free');
  });
});
