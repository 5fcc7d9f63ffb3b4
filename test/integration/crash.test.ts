import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { run } from '../../server/exec.ts';
import { gitEnv, makeKey, remoteLines, sshOptions, type TestKey } from '../support/harness.ts';

const SERVER = join(import.meta.dirname, '../support/server-process.ts');

let dir: string;
let admin: TestKey;

/** Starts the server in its own process; resolves once it prints its ports. */
async function startServer(dataDir: string, env: Record<string, string> = {}): Promise<{ child: ResultPromise; ssh: number; builds: AsyncIterator<string> }> {
  const child = execa(process.execPath, [SERVER], {
    env: { SLIPWAY_DATA_DIR: dataDir, SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', ...env },
    reject: false,
    // Only our readline reads stdout: execa's own buffering would compete for the ready line.
    buffer: false,
    // Its own process group, so a test can kill it with everything it started.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`the server exited before it was ready: ${stderr}`);
  const ports = JSON.parse(first.value as string) as { ssh: number };
  return { child, ssh: ports.ssh, builds: lines };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-crash-'));
  admin = await makeKey(dir, 'admin');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A server in its own process (data in `dir/NAME`) whose builds hold, with a push of one commit to `myapp` waiting on its build. */
async function heldPush(name: string) {
  const data = join(dir, name, 'data');
  const held = await startServer(data, { FAKE_BUILD_HOLD: '1' });
  assert.equal((await ssh(held.ssh, 'apps:create myapp')).exitCode, 0);
  const wd = join(dir, name, 'work');
  mkdirSync(wd, { recursive: true });
  const env = gitEnv(join(dir, 'home'), admin);
  await run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env });
  writeFileSync(join(wd, 'a.txt'), 'a');
  await run('git', ['add', '-A'], { cwd: wd, env });
  await run('git', ['commit', '-q', '-m', 'a'], { cwd: wd, env });
  const push = run('git', ['push', remote(held.ssh), 'main'], { cwd: wd, env });
  assert.equal((await held.builds.next()).value, 'build-started');
  return { held, push, wd, env, data };
}

const ssh = (port: number, cmd: string) => run('ssh', [...sshOptions(admin), '-p', String(port), 'git@127.0.0.1', cmd]);
const remote = (port: number) => `ssh://git@127.0.0.1:${port}/myapp.git`;

test('kill -9 of the server mid-push: the push fails, its unpacked tree is removed at restart, and the next push goes through', async () => {
  const { held, push, wd, env, data } = await heldPush('tree');
  held.child.kill('SIGKILL');
  const failed = await push;
  assert.notEqual(failed.exitCode, 0);
  await held.child;
  const trees = () => readdirSync(join(data, 'tmp')).filter((n) => n.startsWith('push-'));
  assert.equal(trees().length, 1, 'the killed push left its tree');

  const fresh = await startServer(data);
  try {
    assert.deepEqual(trees(), []);
    const ok = await run('git', ['push', remote(fresh.ssh), 'main'], { cwd: wd, env });
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.ok(remoteLines(ok.stderr).includes('=====> Application deployed:'));
    const releases = JSON.parse((await ssh(fresh.ssh, 'releases myapp --json')).stdout) as { version: number; status: string }[];
    assert.deepEqual(releases.map((r) => [r.version, r.status]), [[1, 'succeeded']]);
  } finally {
    fresh.child.kill('SIGTERM');
    await fresh.child;
  }
});

test('kill -9 mid-push: the partial quarantine in the repo is swept at the next start', async () => {
  const { held, push, data } = await heldPush('quarantine');
  // The whole process group, as a power cut or an OOM kill of the service does: receive-pack
  // dies with the server, before it can remove the quarantine holding the pushed pack.
  process.kill(-held.child.pid!, 'SIGKILL');
  await push;
  await held.child;
  const objects = join(data, 'repos/myapp.git/objects');
  const incoming = () => readdirSync(objects).filter((n) => n.startsWith('tmp_objdir-incoming-'));
  assert.equal(incoming().length, 1, 'the killed push left its quarantine');
  const fresh = await startServer(data);
  try {
    assert.deepEqual(incoming(), []);
  } finally {
    fresh.child.kill('SIGTERM');
    await fresh.child;
  }
});

test('kill -9 mid-push: the push job is interrupted at the next start, with what its transcript said kept', async () => {
  const { held, push, data } = await heldPush('job');
  const running = JSON.parse((await ssh(held.ssh, 'jobs myapp --json')).stdout) as { id: string; kind: string; status: string }[];
  assert.deepEqual(running.map((j) => [j.kind, j.status]), [['push', 'running']]);
  process.kill(-held.child.pid!, 'SIGKILL');
  await push;
  await held.child;
  const fresh = await startServer(data);
  try {
    const jobs = JSON.parse((await ssh(fresh.ssh, 'jobs myapp --json')).stdout) as { id: string; status: string; error: string | null; finishedAt: string | null }[];
    assert.deepEqual(jobs.map((j) => [j.id, j.status, j.error]), [[running[0]!.id, 'interrupted', 'The server stopped while this job ran; it did not finish.']]);
    assert.ok(jobs[0]!.finishedAt);
    const output = await ssh(fresh.ssh, `jobs:output ${running[0]!.id}`);
    assert.equal(output.exitCode, 0, output.stderr);
    const lines = output.stdout.split('\n');
    assert.match(lines[0]!, /^-----> Deploying myapp \([0-9a-f]{7}\) from main$/);
    assert.ok(lines.includes('       fake build: detected a fake app'), output.stdout);
    assert.equal(lines.at(-1), ' !     The server stopped while this job ran; it did not finish.');
    const follow = await ssh(fresh.ssh, `jobs:output ${running[0]!.id} -t`);
    assert.equal(follow.exitCode, 1, 'following an interrupted job ends at once, and not as a success');
  } finally {
    fresh.child.kill('SIGTERM');
    await fresh.child;
  }
});

test('kill -9 while addons:create starts the database: its job is interrupted, the half-made database is removed at the next start, and the app is as before', async () => {
  const data = join(dir, 'addon', 'data');
  const env = { SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17' };
  const held = await startServer(data, { ...env, FAKE_DATA_HOLD: '1' });
  assert.equal((await ssh(held.ssh, 'apps:create myapp')).exitCode, 0);
  const create = ssh(held.ssh, 'addons:create myapp postgres');
  assert.equal((await held.builds.next()).value, 'data-apply-started');
  const running = JSON.parse((await ssh(held.ssh, 'jobs myapp --json')).stdout) as { id: string; kind: string; status: string }[];
  assert.deepEqual(running.map((j) => [j.kind, j.status]), [['addons:create', 'running']]);
  assert.deepEqual((JSON.parse((await ssh(held.ssh, 'addons myapp --json')).stdout) as { name: string }[]).map((a) => a.name), ['postgres'], 'recorded while it is made');
  process.kill(-held.child.pid!, 'SIGKILL');
  await create;
  await held.child;

  const fresh = await startServer(data, env);
  try {
    const jobs = JSON.parse((await ssh(fresh.ssh, 'jobs myapp --json')).stdout) as { id: string; kind: string; status: string }[];
    assert.deepEqual(jobs.map((j) => [j.id, j.kind, j.status]), [[running[0]!.id, 'addons:create', 'interrupted']]);
    assert.deepEqual(JSON.parse((await ssh(fresh.ssh, 'addons myapp --json')).stdout), [], 'the half-made database is gone');
    assert.deepEqual(JSON.parse((await ssh(fresh.ssh, 'config myapp --json')).stdout), {}, 'nothing was attached');
    const again = await ssh(fresh.ssh, 'addons:create myapp postgres');
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /Created postgres \(postgres 17, 1Gi\) as DATABASE_URL/);
    assert.deepEqual((JSON.parse((await ssh(fresh.ssh, 'jobs myapp --json')).stdout) as { kind: string; status: string }[]).map((j) => [j.kind, j.status]),
      [['addons:create', 'succeeded'], ['addons:create', 'interrupted']], 'the new database made by a job of its own');
  } finally {
    fresh.child.kill('SIGTERM');
    await fresh.child;
  }
});
