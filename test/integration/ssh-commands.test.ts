import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { run } from '../../server/exec.ts';
import { join } from 'node:path';
import { makeKey, sshOptions, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';

describe('admin commands over SSH', () => {
  let s: TestServer;
  let dev: TestKey;
  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
  });
  after(() => s.close());

  test('apps:create makes the app and its bare repo and prints both remotes', async () => {
    const r = await s.ssh(s.admin, 'apps:create myapp');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Creating myapp\.\.\. done/);
    assert.ok(r.stdout.includes(s.sshRemote('myapp')));
    assert.ok(r.stdout.includes(`http://127.0.0.1:${s.slipway.httpPort}/myapp.git`));
    assert.ok(existsSync(join(s.dir, 'data/repos/myapp.git/HEAD')));
    const again = await s.ssh(s.admin, 'apps:create myapp');
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /already exists/);
  });

  test('apps:list, apps:info, --json', async () => {
    const list = await s.ssh(s.admin, 'apps:list');
    assert.match(list.stdout, /=== Apps\nmyapp/);
    const json = JSON.parse((await s.ssh(s.admin, 'apps:list --json')).stdout) as { name: string }[];
    assert.deepEqual(json.map((a) => a.name), ['myapp']);
    const info = await s.ssh(s.admin, 'apps:info myapp');
    assert.match(info.stdout, /=== myapp/);
    assert.match(info.stdout, /Web URL:\s+http:\/\/myapp\.apps\.test/);
    const infoJson = JSON.parse((await s.ssh(s.admin, 'apps:info myapp --json')).stdout) as { release: null };
    assert.equal(infoJson.release, null);
  });

  test('config:set, config, config:get, config:unset keep quoted values intact', async () => {
    const set = await s.ssh(s.admin, `config:set myapp A=1 B="v w" C='x;$(id)\`y\`'`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal((await s.ssh(s.admin, 'config:get myapp B')).stdout, 'v w');
    assert.equal((await s.ssh(s.admin, 'config:get myapp C')).stdout, 'x;$(id)`y`');
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'config myapp --json')).stdout), { A: '1', B: 'v w', C: 'x;$(id)`y`' });
    assert.match((await s.ssh(s.admin, 'config myapp')).stdout, /=== myapp Config Vars\nA:\s+1\nB:\s+v w/);
    assert.equal((await s.ssh(s.admin, 'config:unset myapp A C')).exitCode, 0);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'config myapp --json')).stdout), { B: 'v w' });
    const missing = await s.ssh(s.admin, 'config:get myapp A');
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /A is not set for myapp/);
    const bad = await s.ssh(s.admin, 'config:set myapp 1X=2 OK=3');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /not a valid config key/);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'config myapp --json')).stdout), { B: 'v w' }, 'nothing written when one pair is bad');
  });

  test('keys:add reads the key from stdin; keys:list; unknown keys cannot log in', async () => {
    const denied = await s.ssh(dev, 'apps:list');
    assert.equal(denied.exitCode, 255);
    assert.match(denied.stderr, /Permission denied/);
    const add = await s.ssh(s.admin, 'keys:add dev', dev.pub);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.match(add.stdout, /Added key dev \(SHA256:/);
    const dup = await s.ssh(s.admin, 'keys:add dev2', dev.pub);
    assert.equal(dup.exitCode, 1);
    assert.match(dup.stderr, /already added/);
    const junk = await s.ssh(s.admin, 'keys:add junk', 'not a key');
    assert.equal(junk.exitCode, 1);
    assert.match(junk.stderr, /not an SSH public key/);
    const list = JSON.parse((await s.ssh(s.admin, 'keys:list --json')).stdout) as { name: string; admin: boolean }[];
    assert.deepEqual(list.map((k) => [k.name, k.admin]), [['admin', true], ['dev', false]]);
  });

  test('a deployer key sees only granted apps and cannot run admin commands', async () => {
    assert.match((await s.ssh(dev, 'apps:list')).stdout, /No apps yet/);
    const info = await s.ssh(dev, 'apps:info myapp');
    assert.equal(info.exitCode, 1);
    assert.match(info.stderr, /does not exist, or your key has no access/);
    const create = await s.ssh(dev, 'apps:create other');
    assert.equal(create.exitCode, 1);
    assert.match(create.stderr, /Only admins may run apps:create/);
    assert.equal((await s.ssh(s.admin, 'access:grant myapp dev')).exitCode, 0);
    assert.match((await s.ssh(dev, 'apps:list')).stdout, /myapp/);
    assert.equal((await s.ssh(dev, 'config:get myapp B')).stdout, 'v w');
    assert.equal((await s.ssh(s.admin, 'access:revoke myapp dev')).exitCode, 0);
    assert.equal((await s.ssh(dev, 'config:get myapp B')).exitCode, 1);
    const help = await s.ssh(dev, 'help');
    assert.doesNotMatch(help.stdout, /apps:create/);
    assert.match(help.stdout, /tokens:create/);
  });

  test('tokens:create shows the token once; tokens:list; tokens:revoke', async () => {
    const r = await s.ssh(dev, 'tokens:create laptop');
    assert.equal(r.exitCode, 0, r.stderr);
    const token = r.stdout.split('\n')[1]!;
    assert.match(token, /^slw_[A-Za-z0-9_-]{32}$/);
    const list = JSON.parse((await s.ssh(dev, 'tokens:list --json')).stdout) as { name: string; keyName: string }[];
    assert.deepEqual(list.map((t) => [t.name, t.keyName]), [['laptop', 'dev']]);
    assert.ok(!(await s.ssh(dev, 'tokens:list')).stdout.includes(token), 'the token is never shown again');
    assert.equal((await s.ssh(dev, 'tokens:revoke laptop')).exitCode, 0);
    assert.equal((await s.ssh(dev, 'tokens:revoke laptop')).exitCode, 1);
  });

  test('help and version', async () => {
    const help = await s.ssh(s.admin, 'help');
    assert.equal(help.exitCode, 0);
    for (const c of ['apps:create', 'config:set', 'keys:add', 'access:grant', 'tokens:create', 'apps:unlock']) assert.ok(help.stdout.includes(c), c);
    assert.match((await s.ssh(s.admin, 'version')).stdout, /^slipway \d+\.\d+\.\d+$/);
  });

  test('hostile app names get one clear sentence and write nothing', async () => {
    const before = readdirSync(join(s.dir, 'data/repos')).sort();
    const names = ['-x', '../x', 'x/../../y', 'UPPER', 'a'.repeat(64), "''", 'ünïcode', 'a;id', '$(id)', '`id`', 'x--help'.replace('x', '-')];
    for (const name of names) {
      const r = await s.ssh(s.admin, `apps:create ${name}`);
      assert.ok(r.exitCode === 1 || r.exitCode === 2, `${name}: exit ${r.exitCode}`);
      assert.equal(r.stdout, '', name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^ ! {5}/, name);
    }
    assert.deepEqual(readdirSync(join(s.dir, 'data/repos')).sort(), before);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, 'apps:list --json')).stdout).map((a: { name: string }) => a.name), ['myapp']);
  });

  test('shell metacharacters and newlines are never interpreted', async () => {
    const cases: [string, RegExp][] = [
      ['apps:list; touch /tmp/slipway-pwned', /Unknown command "apps:list;"/],
      ['apps:info $(touch /tmp/slipway-pwned)', /usage: apps:info APP/],
      ['apps:info `touch /tmp/slipway-pwned`', /usage: apps:info APP/],
      ['apps:info $(id)', /"\$\(id\)" is not a valid app name/],
      ['apps:list\ntouch /tmp/slipway-pwned', /several lines/],
      ['apps:list && id', /usage: apps:list/],
      ['nosuch:command', /Unknown command "nosuch:command"/],
      ['apps:info myapp --evil', /Unknown option "--evil"/],
    ];
    for (const [cmd, expected] of cases) {
      const r = await s.ssh(s.admin, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.match(r.stderr, expected, cmd);
    }
    assert.ok(!existsSync('/tmp/slipway-pwned'));
  });

  test('a key probe without a signature does not authenticate', async () => {
    // Only the public half: OpenSSH offers it (the server says it would accept it), then has
    // nothing to sign with. Knowing an admin's public key must not be enough.
    const pubOnly = join(s.dir, 'pub-only');
    copyFileSync(s.admin.path + '.pub', pubOnly);
    chmodSync(pubOnly, 0o600);
    const r = await run('ssh', ['-v', ...sshOptions({ ...s.admin, path: pubOnly }), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', 'apps:list'], { env: { SSH_AUTH_SOCK: '' } });
    assert.equal(r.exitCode, 255);
    assert.match(r.stderr, /Server accepts key/);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.doesNotMatch(r.stdout, /myapp/);
  });

  test('an interactive login is refused politely', async () => {
    const r = await s.ssh(s.admin, '');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /does not provide shell access/);
  });

  test('apps:destroy needs --confirm and removes everything', async () => {
    assert.equal((await s.ssh(s.admin, 'apps:create gone')).exitCode, 0);
    const noConfirm = await s.ssh(s.admin, 'apps:destroy gone');
    assert.equal(noConfirm.exitCode, 2);
    assert.match(noConfirm.stderr, /--confirm gone/);
    const wrong = await s.ssh(s.admin, 'apps:destroy gone --confirm myapp');
    assert.equal(wrong.exitCode, 2);
    assert.ok(existsSync(join(s.dir, 'data/repos/gone.git')));
    const ok = await s.ssh(s.admin, 'apps:destroy gone --confirm gone');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.ok(!existsSync(join(s.dir, 'data/repos/gone.git')));
    assert.deepEqual(s.deployer.destroyed, ['gone']);
    assert.equal((await s.ssh(s.admin, 'apps:info gone')).exitCode, 1);
  });
});
