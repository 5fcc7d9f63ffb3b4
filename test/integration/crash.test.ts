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
async function startServer(env: Record<string, string>): Promise<{ child: ResultPromise; ssh: number; builds: AsyncIterator<string> }> {
  const child = execa(process.execPath, [SERVER], {
    env: { SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', ...env },
    reject: false,
    // Only our readline reads stdout: execa's own buffering would compete for the ready line.
    buffer: false,
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

test('kill -9 of the server mid-push: the push fails, its unpacked tree is removed at restart, and the next push goes through', async () => {
  const held = await startServer({ FAKE_BUILD_HOLD: '1' });
  const ssh = (port: number, cmd: string) => run('ssh', [...sshOptions(admin), '-p', String(port), 'git@127.0.0.1', cmd]);
  assert.equal((await ssh(held.ssh, 'apps:create myapp')).exitCode, 0);
  const wd = join(dir, 'work');
  mkdirSync(wd);
  const env = gitEnv(join(dir, 'home'), admin);
  await run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env });
  writeFileSync(join(wd, 'a.txt'), 'a');
  await run('git', ['add', '-A'], { cwd: wd, env });
  await run('git', ['commit', '-q', '-m', 'a'], { cwd: wd, env });
  const remote = (port: number) => `ssh://git@127.0.0.1:${port}/myapp.git`;

  const push = run('git', ['push', remote(held.ssh), 'main'], { cwd: wd, env });
  assert.equal((await held.builds.next()).value, 'build-started');
  held.child.kill('SIGKILL');
  const failed = await push;
  assert.notEqual(failed.exitCode, 0);
  await held.child;
  const trees = () => readdirSync(join(dir, 'data', 'tmp')).filter((n) => n.startsWith('push-'));
  assert.equal(trees().length, 1, 'the killed push left its tree');

  const fresh = await startServer({});
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
