// Issue 8, data paths: each test replays an attack or a crash with the real git and OpenSSH
// clients against a real server on loopback (fake builder/deployer at their interfaces).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { loadConfig } from '../../server/config.ts';
import { startSlipway } from '../../server/server.ts';
import { makeKey, remoteLines, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { FakeBuilder, FakeDeployer } from '../support/fakes.ts';

const BASE = '10.0.0.1.sslip.io';

describe('data hardening', () => {
  let s: TestServer;
  let dev: TestKey;
  before(async () => {
    s = await startTestServer({ SLIPWAY_MAX_TREE_MB: '1', SLIPWAY_BASE_DOMAIN: BASE });
    for (const app of ['alpha', 'beta', 'bomb']) assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
    dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
    await s.ssh(s.admin, 'access:grant alpha dev');
  });
  after(() => s.close());

  test('tree bomb: a small pack whose tree expands past SLIPWAY_MAX_TREE_MB is rejected before anything is written', async () => {
    // One compressible 600 KB blob listed 4 times: a pack of a few KB, a 2.4 MB tree.
    const blob = 'a'.repeat(600 * 1024);
    const wd = await s.workRepo({ 'a.txt': blob, 'b.txt': blob, 'c/d.txt': blob, 'e.txt': blob }, 'bomb');
    const builds = s.builder.builds.length;
    const r = await s.git(['push', s.sshRemote('bomb'), 'main'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).includes(' !     Push rejected: the pushed files add up to more than the 1 MB limit (SLIPWAY_MAX_TREE_MB).'), r.stderr);
    assert.equal(s.builder.builds.length, builds, 'no build ran');
    assert.equal((await s.git(['--git-dir', join(s.dir, 'data/repos/bomb.git'), 'rev-parse', '--verify', '--quiet', 'main'])).stdout, '');
    const tmp = join(s.dir, 'data', 'tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'nothing was extracted');
    // Under the limit the same server deploys.
    const small = await s.workRepo({ 'a.txt': 'a'.repeat(300 * 1024) }, 'small');
    const ok = await s.git(['push', s.sshRemote('bomb'), 'main'], { cwd: small });
    assert.equal(ok.exitCode, 0, ok.stderr);
  });

  test('config --shell output is inert when sourced and round-trips the value exactly', async () => {
    const mark = join(s.dir, 'pwned');
    const value = `$(touch ${mark}) \`touch ${mark}\` it's "quoted" \\ $HOME`;
    // Single quotes for the SSH command line; `'"'"'` puts a literal quote inside.
    const set = await s.ssh(s.admin, `config:set alpha 'EVIL=${value.replaceAll("'", `'"'"'`)}' --no-restart`);
    assert.equal(set.exitCode, 0, set.stderr);
    const out = await s.ssh(s.admin, 'config alpha --shell');
    assert.equal(out.exitCode, 0, out.stderr);
    const sourced = await run('bash', ['-c', `${out.stdout}\nprintf %s "$EVIL"`]);
    assert.equal(sourced.exitCode, 0, sourced.stderr);
    assert.equal(existsSync(mark), false, 'sourcing ran a command');
    assert.equal(sourced.stdout, value);
  });

  test('a deployer cannot claim the platform or another app\'s host names', async () => {
    const add = (host: string) => s.ssh(dev, `domains:add alpha ${host}`);
    const cases: [string, string][] = [
      [`www.beta.${BASE}`, `www.beta.${BASE} is under beta.${BASE}, the default domain of the app named beta; alpha may only add names under alpha.${BASE}.`],
      [`a.b.gamma.${BASE}`, `a.b.gamma.${BASE} is under gamma.${BASE}, the default domain of the app named gamma; alpha may only add names under alpha.${BASE}.`],
      [BASE, `${BASE} is the platform's base domain; it cannot be an app's domain.`],
      ['sslip.io', `sslip.io is a parent of the platform's base domain ${BASE}; it cannot be an app's domain.`],
      [`0.0.1.sslip.io`, `0.0.1.sslip.io is a parent of the platform's base domain ${BASE}; it cannot be an app's domain.`],
    ];
    for (const [host, message] of cases) {
      const r = await add(host);
      assert.equal(r.exitCode, 1, host);
      assert.equal(r.stderr, ` !     ${message}`);
    }
    assert.deepEqual(JSON.parse((await s.ssh(dev, 'domains alpha --json')).stdout).custom, []);
    const own = await add(`www.alpha.${BASE}`);
    assert.equal(own.exitCode, 0, own.stderr);
    assert.equal((await add('www.example.com')).exitCode, 0);
  });

  test('config keys are data, never object members', async () => {
    const get = await s.ssh(s.admin, 'config:get alpha toString');
    assert.equal(get.exitCode, 1);
    assert.equal(get.stderr, ' !     toString is not set for alpha.');
    assert.equal((await s.ssh(s.admin, 'config:set alpha __proto__=x constructor=y --no-restart')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'config:get alpha __proto__')).stdout, 'x');
    assert.equal((await s.ssh(s.admin, 'config:get alpha constructor')).stdout, 'y');
    const json = JSON.parse((await s.ssh(s.admin, 'config alpha --json')).stdout) as Record<string, string>;
    assert.equal(Object.getOwnPropertyDescriptor(json, '__proto__')?.value, 'x');
    const bad = await s.ssh(s.admin, 'config:set alpha 1BAD=x');
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.stderr, ' !     "1BAD" is not a valid config key: use letters, digits and underscores, not starting with a digit.');
    assert.equal((await s.ssh(s.admin, 'config:get alpha --constructor')).exitCode, 2, 'an inherited name is no option');
  });

  test('token names are per key: nobody learns or revokes another key\'s tokens', async () => {
    assert.equal((await s.ssh(s.admin, 'tokens:create laptop')).exitCode, 0);
    const mine = await s.ssh(dev, 'tokens:create laptop');
    assert.equal(mine.exitCode, 0, 'the same name under another key is no clash, and reveals nothing');
    const again = await s.ssh(dev, 'tokens:create laptop');
    assert.equal(again.stderr, ' !     You already have a token named "laptop".');
    const list = JSON.parse((await s.ssh(dev, 'tokens:list --json')).stdout) as { name: string; keyName: string }[];
    assert.deepEqual(list.map((t) => [t.name, t.keyName]), [['laptop', 'dev']]);
    const adminList = JSON.parse((await s.ssh(s.admin, 'tokens:list --json')).stdout) as { keyName: string }[];
    assert.ok(adminList.every((t) => t.keyName === 'admin'), 'tokens:list shows the caller\'s own');
    assert.equal((await s.ssh(s.admin, 'tokens:create ci')).exitCode, 0);
    const revoke = await s.ssh(dev, 'tokens:revoke ci');
    assert.equal(revoke.stderr, ' !     You have no token named "ci".');
    assert.equal((await s.ssh(dev, 'tokens:revoke ci --key admin')).stderr, " !     Only admins may act on another key's tokens.");
    assert.equal((await s.ssh(dev, 'tokens:revoke laptop')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'tokens:list --json')).stdout.includes('"laptop"'), true, "the admin's laptop token is untouched");
  });

  test('a deploy lock row naming a live but unrelated process (pid reused) is taken over', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      // What a reboot leaves: the row's pid now names another live process, with another start time.
      s.slipway.services.store.db.prepare("UPDATE apps SET lock_owner = 'push before the reboot', lock_pid = ?, lock_at = '2020-01-01T00:00:00Z', lock_started = '1' WHERE name = 'alpha'").run(sleeper.pid);
      const wd = await s.workRepo({ 'index.js': '1\n' }, 'locked');
      const r = await s.git(['push', s.sshRemote('alpha'), 'main'], { cwd: wd });
      assert.equal(r.exitCode, 0, r.stderr);
    } finally {
      sleeper.kill();
    }
  });

  test('apps:destroy removes the repo and build logs; apps:create over a leftover repo works', async () => {
    const wd = await s.workRepo({ 'index.js': '1\n' }, 'gone');
    assert.equal((await s.git(['push', s.sshRemote('beta'), 'main'], { cwd: wd })).exitCode, 0);
    assert.ok(existsSync(join(s.dir, 'data/logs/beta')), 'the push wrote a build log');
    const d = await s.ssh(s.admin, 'apps:destroy beta --confirm beta');
    assert.equal(d.exitCode, 0, d.stderr);
    assert.equal(existsSync(join(s.dir, 'data/logs/beta')), false);
    assert.equal(existsSync(join(s.dir, 'data/repos/beta.git')), false);
    // A destroy that crashed after the row went (the old order) left the repo behind.
    assert.equal((await s.ssh(s.admin, 'apps:create ghost')).exitCode, 0);
    s.slipway.services.store.apps.remove('ghost');
    const again = await s.ssh(s.admin, 'apps:create ghost');
    assert.equal(again.exitCode, 0, again.stderr);
    // One that crashed after removing the repo but before the row is finished by a rerun.
    rmSync(join(s.dir, 'data/repos/ghost.git'), { recursive: true, force: true });
    assert.equal((await s.ssh(s.admin, 'apps:destroy ghost --confirm ghost')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'apps:info ghost')).exitCode, 1);
  });
});

describe('restart after an unclean stop', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-datacrash-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a start that fails halfway (HTTP port taken) frees the data dir for the next start', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    try {
      const taken = (squatter.address() as { port: number }).port;
      const env = { SLIPWAY_DATA_DIR: join(dir, 'data-busy'), SLIPWAY_SSH_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_HOST: '127.0.0.1', SLIPWAY_BASE_DOMAIN: 'apps.test' };
      const backends = { builder: new FakeBuilder({}), deployer: new FakeDeployer({}) };
      await assert.rejects(startSlipway(loadConfig({ ...env, SLIPWAY_HTTP_PORT: String(taken) }), backends), /EADDRINUSE/);
      const next = await startSlipway(loadConfig({ ...env, SLIPWAY_HTTP_PORT: '0' }), backends);
      await next.close();
    } finally {
      squatter.close();
    }
  });

  test('a server.pid naming a live unrelated process does not block start-up; a live server does', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      mkdirSync(join(dir, 'data2', 'run'), { recursive: true });
      writeFileSync(join(dir, 'data2', 'run', 'server.pid'), String(sleeper.pid));
      writeFileSync(join(dir, 'data2', 'run', 'hook.sock'), '');
      const config = loadConfig({ SLIPWAY_DATA_DIR: join(dir, 'data2'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_HOST: '127.0.0.1', SLIPWAY_BASE_DOMAIN: 'apps.test' });
      const backends = { builder: new FakeBuilder({}), deployer: new FakeDeployer({}) };
      const first = await startSlipway(config, backends);
      try {
        await assert.rejects(startSlipway(config, backends), /Another Slipway server is using .*data2 \(its hook socket answers\); stop it first\./);
      } finally {
        await first.close();
      }
    } finally {
      sleeper.kill();
    }
  });
});
