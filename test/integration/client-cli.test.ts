// The client CLI as a user runs it: a real process in a real git repository, logged in with the
// key in a real ssh-agent through the real OpenSSH client, against the real server (fake builder
// and deployer). In a repository with one Slipway remote, commands need no flags; several give
// one sentence; --remote chooses; logout revokes the token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { deployedApp, freePort, holdRollouts, makeKey, newApp, type TestServer, startTestServer, useControls } from '../support/harness.ts';
import { api, makeToken, sshJson } from '../support/api-client.ts';
import { clientUser, type ClientUser } from '../support/client-run.ts';
import { eventually } from '../support/eventually.ts';
import { run } from '../../server/exec.ts';

let s: TestServer;
let user: ClientUser;
let app: string;
let wd: string;

before(async () => {
  s = await startTestServer();
  const dev = await makeKey(s.dir, 'dev');
  const added = await s.ssh(s.admin, 'keys:add dev', dev.pub);
  assert.equal(added.exitCode, 0, added.stderr);
  ({ app, wd } = await deployedApp(s, 'cli'));
  assert.equal((await s.ssh(s.admin, `access:grant ${app} dev`)).exitCode, 0);
  // The user's repository: the app's SSH remote, and its HTTP remote (the same app: one app wins).
  await s.git(['remote', 'add', 'paas', s.sshRemote(app)], { cwd: wd });
  await s.git(['remote', 'add', 'paas-http', s.httpRemote(app)], { cwd: wd });
  // A remote that is no Slipway remote of a known host counts for nothing.
  await s.git(['remote', 'add', 'origin', 'git@github.com:someone/elsewhere.git'], { cwd: wd });
  user = await clientUser(dev);
});

after(async () => {
  await user?.close();
  await s?.close();
});

/** The stored login file of the test server's host. */
function loginFile(): string {
  return join(user.configDir, 'slipway', 'hosts', '127.0.0.1.json');
}

test('before login, a command says to log in', async () => {
  const r = await user.cli(wd, ['releases']);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /slipway login HOST/);
});

test('login in the repository mints a token over SSH with the agent\'s key and stores it 0600', async () => {
  const r = await user.cli(wd, ['login']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^Logged in to 127\.0\.0\.1 as dev \(scope deploy\); token cli-[a-z0-9.-]+ is stored in /);
  assert.equal(statSync(loginFile()).mode & 0o777, 0o600);
  assert.equal(statSync(join(user.configDir, 'slipway', 'hosts')).mode & 0o777, 0o700);
  const l = JSON.parse(readFileSync(loginFile(), 'utf8')) as { api: string; sshPort: number; tokenName: string };
  assert.equal(l.api, `http://127.0.0.1:${s.slipway.httpPort}`, 'the API address came from the HTTP remote');
  assert.equal(l.sshPort, s.slipway.sshPort, 'the SSH port came from the SSH remote');
  const tokens = await sshJson(s, s.admin, 'tokens:list --key dev') as { name: string }[];
  assert.ok(tokens.some((t) => t.name === l.tokenName), 'the token is the dev key\'s');
});

test('config:set K=V, releases, rollback and logs work with no flags in the repository', async () => {
  const set = await user.cli(wd, ['config:set', 'GREETING=hello world']);
  assert.equal(set.exitCode, 0, set.stderr);
  assert.ok(set.stdout.trim().split('\n').length > 1, `the job's transcript is followed: ${set.stdout}`);
  assert.deepEqual((await sshJson(s, s.admin, `config ${app}`) as Record<string, string>).GREETING, 'hello world');

  const releases = await user.cli(wd, ['releases']);
  assert.equal(releases.exitCode, 0, releases.stderr);
  assert.match(releases.stdout, /^VERSION\s+STATUS/m);
  assert.match(releases.stdout, /^v2\s/m);

  const json = await user.cli(wd, ['releases', '--json']);
  assert.equal((JSON.parse(json.stdout) as { version: number }[])[0]!.version, 2);

  const back = await user.cli(wd, ['rollback']);
  assert.equal(back.exitCode, 0, back.stderr);
  const after = await sshJson(s, s.admin, `releases ${app}`) as { version: number; description: string }[];
  assert.equal(after[0]!.version, 3);
  assert.match(after[0]!.description, /v1/i, 'v3 rolls back to the one before v2');

  const logs = await user.cli(wd, ['logs']);
  assert.equal(logs.exitCode, 0, logs.stderr);
  assert.match(logs.stdout, new RegExp(`${app} log \\(lines=\\d+, follow=false\\)`));
  const tail = await user.cli(wd, ['logs', '-t']);
  assert.equal(tail.exitCode, 0, tail.stderr);
  assert.match(tail.stdout, /follow=true/);
});

test('a change whose job fails exits 1 with the job\'s sentence; --json prints the ended job', async (t) => {
  useControls(t, s, { deployFailure: 'the fake rollout failed' });
  const r = await user.cli(wd, ['config:set', 'BROKEN=1']);
  assert.equal(r.exitCode, 1, r.stdout);
  assert.match(r.stderr, /^ ! {5}Job \S+ failed: .*the fake rollout failed/m);
  const j = await user.cli(wd, ['config:set', 'BROKEN=2', '--json']);
  assert.equal(j.exitCode, 1);
  assert.equal((JSON.parse(j.stdout) as { status: string }).status, 'failed');
});

test('the API\'s refusal is its one sentence, exit code 1', async () => {
  const r = await user.cli(wd, ['releases:info', 'v99']);
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr, ` !     ${app} has no release v99; see releases ${app}.`);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^ ! {5}\S.*\.$/);
});

test('two Slipway remotes give one sentence listing them; --remote and git config slipway.remote choose', async () => {
  const other = await newApp(s, 'cli2');
  assert.equal((await s.ssh(s.admin, `access:grant ${other} dev`)).exitCode, 0);
  await s.git(['remote', 'add', 'staging', s.sshRemote(other)], { cwd: wd });
  try {
    const r = await user.cli(wd, ['config']);
    assert.equal(r.exitCode, 2);
    assert.equal(r.stderr.trimEnd(), ` !     This repository has remotes of several apps: paas/paas-http (${app} on 127.0.0.1), staging (${other} on 127.0.0.1); choose one with --remote NAME or --app APP.`);

    const chosen = await user.cli(wd, ['config:set', 'WHERE=staging', '--remote', 'staging']);
    assert.equal(chosen.exitCode, 0, chosen.stderr);
    assert.equal((await sshJson(s, s.admin, `config ${other}`) as Record<string, string>).WHERE, 'staging');
    assert.equal((await sshJson(s, s.admin, `config ${app}`) as Record<string, string>).WHERE, undefined);

    await s.git(['config', 'slipway.remote', 'paas'], { cwd: wd });
    const configured = await user.cli(wd, ['apps:info', '--json']);
    assert.equal(configured.exitCode, 0, configured.stderr);
    assert.equal((JSON.parse(configured.stdout) as { name: string }).name, app);

    const byFlag = await user.cli(wd, ['apps:info', '--json', '--app', other]);
    assert.equal((JSON.parse(byFlag.stdout) as { name: string }).name, other, '--app comes before the remotes');
    const byEnv = await user.cli(wd, ['apps:info', '--json', '--app', app], { env: { SLIPWAY_APP: other } });
    assert.equal((JSON.parse(byEnv.stdout) as { name: string }).name, other, 'SLIPWAY_APP comes first');
  } finally {
    await s.git(['config', '--unset', 'slipway.remote'], { cwd: wd });
    await s.git(['remote', 'remove', 'staging'], { cwd: wd });
  }
});

test('apps:create in a repository adds the paas remote; apps:destroy removes it', async () => {
  const fresh = await s.workRepo({ 'index.js': 'console.log("new")\n' });
  const name = `${app}-new`;
  // Only admins create apps: an admin's token, as a CI job would have it.
  const admin = { SLIPWAY_TOKEN: await makeToken(s, s.admin, 'cli-admin'), SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` };
  const cli = (args: string[]) => user.cli(fresh, args, { env: admin });
  const created = await cli(['apps:create', name]);
  assert.equal(created.exitCode, 0, created.stderr);
  assert.match(created.stdout, /Added the git remote paas: git push paas main deploys it\./);
  const url = (await s.git(['remote', 'get-url', 'paas'], { cwd: fresh })).stdout.trim();
  assert.match(url, new RegExp(`^ssh://git@127\\.0\\.0\\.1:\\d+/${name}\\.git$`));
  const refused = await cli(['apps:destroy']);
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, new RegExp(`--confirm ${name}`));
  const destroyed = await cli(['apps:destroy', '--confirm', name]);
  assert.equal(destroyed.exitCode, 0, destroyed.stderr);
  assert.match(destroyed.stdout, /Removed the git remote paas\./);
  assert.equal((await s.git(['remote'], { cwd: fresh })).stdout.trim(), '');
  assert.equal((await s.ssh(s.admin, `apps:info ${name}`)).exitCode, 1);
});

test('run goes through SSH: the exit code is the command\'s, words arrive as they were, a terminal gets a TTY', async () => {
  const failed = await user.cli(wd, ['run', '--', 'exit', '3']);
  assert.equal(failed.exitCode, 3, failed.stderr);
  const ok = await user.cli(wd, ['run', 'echo', "it's a b", '$(id)']);
  assert.equal(ok.exitCode, 0, ok.stderr);
  assert.equal(ok.stdout, "ran echo it's a b $(id)");
  assert.deepEqual(s.deployer.oneOff.runs.at(-1)!.command, ['echo', "it's a b", '$(id)']);
  assert.equal(s.deployer.oneOff.runs.at(-1)!.tty, null, 'no terminal, no TTY');
  // On a terminal (script(1) gives the client one), ssh asks for a TTY and the one-off pod gets it.
  const tty = await run('script', ['-qec', `${process.execPath} ${join(import.meta.dirname, '..', '..', 'client', 'main.ts')} run -a ${app} true`, '/dev/null'], { cwd: wd, env: user.env, extendEnv: false });
  assert.equal(tty.exitCode, 0, tty.stdout);
  assert.notEqual(s.deployer.oneOff.runs.at(-1)!.tty, null, 'a TTY');
});

test('run:detached and dashboard go through SSH too', async () => {
  const detached = await user.cli(wd, ['run:detached', 'sleep', '1']);
  assert.equal(detached.exitCode, 0, detached.stderr);
  assert.match(detached.stdout.trim(), /^\S+$/, 'the pod name');
  assert.deepEqual(s.deployer.oneOff.detached.at(-1)!.command, ['sleep', '1']);
  const link = await user.cli(wd, ['dashboard']);
  assert.equal(link.exitCode, 0, link.stderr);
  assert.match(link.stdout.trim(), /^http:\/\/127\.0\.0\.1:\d+\/login#code=\S+$/);
});

test('on a terminal a change shows a status line while its job runs', async () => {
  const r = await run('script', ['-qec', `${process.execPath} ${join(import.meta.dirname, '..', '..', 'client', 'main.ts')} config:set SHOWN=1`, '/dev/null'], { cwd: wd, env: user.env, extendEnv: false });
  assert.equal(r.exitCode, 0, r.stdout);
  assert.match(r.stdout, /Releasing v\d+/);
  assert.match(r.stdout, /\r\x1b\[K/, 'the status line is cleared before each transcript line');
});

test('Ctrl-C stops following a job, not the job: it says how to follow or cancel it', async (t) => {
  const gate = holdRollouts(t, s);
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'client', 'main.ts'), 'config:set', 'HELD=1'], { cwd: wd, env: user.env });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  // The client follows the job's stream once the job's first line reached it.
  const firstLine = new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('Releasing')) resolve(); }));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await gate.reached;
  await firstLine;
  const job = (await sshJson(s, s.admin, `jobs ${app}`) as { id: string; status: string }[])[0]!;
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.match(stderr, new RegExp(`Stopped following job ${job.id}; it goes on\\. Follow it again with slipway jobs:follow ${job.id}`));
  assert.equal((await sshJson(s, s.admin, `jobs:info ${job.id}`) as { status: string }).status, 'running');
  gate.open();
  const followed = await user.cli(wd, ['jobs:follow', job.id]);
  assert.equal(followed.exitCode, 0, followed.stderr);
});

test('keys:add reads the public key from stdin; keys lists it; keys:remove removes it (an admin\'s token)', async () => {
  const admin = { SLIPWAY_TOKEN: await makeToken(s, s.admin, 'cli-keys'), SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` };
  const other = await makeKey(s.dir, 'laptop');
  const added = await user.cli(wd, ['keys:add', 'laptop'], { env: admin, input: other.pub });
  assert.equal(added.exitCode, 0, added.stderr);
  const keys = await user.cli(wd, ['keys', '--json'], { env: admin });
  assert.ok((JSON.parse(keys.stdout) as { name: string }[]).some((k) => k.name === 'laptop'));
  const listed = await user.cli(wd, ['keys'], { env: admin });
  assert.match(listed.stdout, /^NAME\b/m);
  assert.match(listed.stdout, /^laptop\s/m);
  assert.equal((await user.cli(wd, ['keys:remove', 'laptop'], { env: admin })).exitCode, 0);
  assert.equal((await s.ssh(other, 'apps')).exitCode, 255, 'the removed key no longer logs in');
});

test('events prints what changes on the apps live, one line each', async () => {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'client', 'main.ts'), 'events'], { cwd: wd, env: user.env });
  let stdout = '';
  const seen = new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); if (/^release {2}app=\S+ release=v\d+$/m.test(stdout)) resolve(); }));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    // The stream is open once the server answers it; a change made meanwhile shows up there.
    await eventually('the events stream to show a release', async () => {
      await s.ssh(s.admin, `config:set ${app} EVENT=${Date.now()}`);
      return Promise.race([seen.then(() => true), new Promise<undefined>((f) => setTimeout(() => f(undefined), 1000))]);
    }, 20_000);
    assert.match(stdout, new RegExp(`^job {2}.*app=${app}`, 'm'));
  } finally {
    child.kill('SIGINT');
    await exited;
  }
});

test('npm run -s cli runs the client in a checkout', async () => {
  const r = await user.cli(wd, ['apps', '--json'], { npm: true });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { name: string }[]).some((a) => a.name === app));
});

test('the packed client runs with npx: npm pack of client/, npx of the tarball', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-pack-'));
  try {
    const packed = await run('npm', ['pack', '--pack-destination', dir], { cwd: join(import.meta.dirname, '..', '..', 'client') });
    assert.equal(packed.exitCode, 0, packed.stderr);
    const tgz = join(dir, packed.stdout.trim().split('\n').pop()!);
    const l = JSON.parse(readFileSync(loginFile(), 'utf8')) as { token: string };
    const r = await run('npx', ['--yes', '--cache', join(dir, 'cache'), '--package', tgz, 'slipway', 'apps:info', '--json'], {
      cwd: wd, env: { ...user.env, SLIPWAY_TOKEN: l.token, SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` }, extendEnv: false,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { name: string }).name, app, 'the app came from the remote, the server from SLIPWAY_HOST');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SLIPWAY_TOKEN and SLIPWAY_HOST work without a stored login (CI)', async () => {
  const l = JSON.parse(readFileSync(loginFile(), 'utf8')) as { token: string };
  const r = await user.cli(wd, ['whoami', '--json'], { env: { XDG_CONFIG_HOME: join(user.env.HOME!, 'empty'), SLIPWAY_TOKEN: l.token, SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}`, SLIPWAY_APP: app } });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { name: string }).name, 'dev');
});

test('a server that cannot be reached, or refuses the token, says what to do next', async () => {
  const closed = await freePort();
  const unreachable = await user.cli(wd, ['apps'], { env: { SLIPWAY_TOKEN: 'slw_x', SLIPWAY_HOST: `127.0.0.1:${closed}` } });
  assert.equal(unreachable.exitCode, 1);
  assert.equal(unreachable.stderr.trim(), `!     Could not reach the Slipway server at http://127.0.0.1:${closed} (ECONNREFUSED): check the address, or log in again with slipway login 127.0.0.1.`);
  const refused = await user.cli(wd, ['apps'], { env: { SLIPWAY_TOKEN: 'slw_not_a_token', SLIPWAY_HOST: `http://127.0.0.1:${s.slipway.httpPort}` } });
  assert.equal(refused.exitCode, 1);
  assert.match(refused.stderr, new RegExp(`^ ! {5}The server at http://127\\.0\\.0\\.1:${s.slipway.httpPort} refused the token \\(.+\\): log in again with slipway login 127\\.0\\.0\\.1\\.$`, 'm'));
});

test('logout revokes the token on the server and removes the file; the token is then refused', async () => {
  const l = JSON.parse(readFileSync(loginFile(), 'utf8')) as { token: string; tokenName: string };
  assert.equal((await api(s, 'GET', '/whoami', { token: l.token })).status, 200);
  const r = await user.cli(wd, ['logout']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout.trim(), `Logged out of 127.0.0.1: token ${l.tokenName} revoked.`);
  assert.throws(() => statSync(loginFile()), /ENOENT/);
  assert.equal((await api(s, 'GET', '/whoami', { token: l.token })).status, 401);
  const again = await user.cli(wd, ['releases']);
  assert.equal(again.exitCode, 2);
  assert.match(again.stderr, /slipway login HOST/);
});

test('login HOST takes the SSH port and API address from the repository\'s remotes of that host', async () => {
  const r = await user.cli(wd, ['login', '127.0.0.1']);
  assert.equal(r.exitCode, 0, r.stderr);
  const l = JSON.parse(readFileSync(loginFile(), 'utf8')) as { api: string; sshPort: number };
  assert.deepEqual([l.api, l.sshPort], [`http://127.0.0.1:${s.slipway.httpPort}`, s.slipway.sshPort]);
  const elsewhere = await user.cli(s.dir, ['login', '127.0.0.1', '--ssh-port', '1']);
  assert.equal(elsewhere.exitCode, 1);
  assert.match(elsewhere.stderr, /^ ! {5}Could not log in over SSH to git@127\.0\.0\.1 \(port 1\): .+\.$/m);
  assert.equal((await user.cli(wd, ['logout', '127.0.0.1'])).exitCode, 0);
});
