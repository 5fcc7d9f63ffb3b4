import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { run } from '../../server/exec.ts';
import { join } from 'node:path';
import { makeKey, newApp, sshOptions, startTestServer, uniqueAppName, type TestServer } from '../support/harness.ts';

// Each test makes its own apps and keys; lists are compared with what was there before the test.
describe('admin commands over SSH', () => {
  let s: TestServer;
  let keys = 0;
  /** A new key pair, not yet added. */
  const newKey = (prefix = 'dev') => makeKey(s.dir, `${prefix}-${++keys}`);
  /** A new key, added as a deployer key (no apps granted). */
  const deployerKey = async (prefix = 'dev') => {
    const key = await newKey(prefix);
    const add = await s.ssh(s.admin, `keys:add ${key.name}`, key.pub);
    assert.equal(add.exitCode, 0, add.stderr);
    return key;
  };
  const appNames = async () => (JSON.parse((await s.ssh(s.admin, 'apps:list --json')).stdout) as { name: string }[]).map((a) => a.name);
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('apps:create makes the app and its bare repo and prints both remotes', async () => {
    const app = uniqueAppName('create');
    const r = await s.ssh(s.admin, `apps:create ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Creating ${app}\\.\\.\\. done`));
    assert.ok(r.stdout.includes(s.sshRemote(app)));
    assert.ok(r.stdout.includes(`http://127.0.0.1:${s.slipway.httpPort}/${app}.git`));
    assert.ok(existsSync(join(s.dir, `data/repos/${app}.git/HEAD`)));
    const again = await s.ssh(s.admin, `apps:create ${app}`);
    assert.equal(again.exitCode, 1);
    assert.match(again.stderr, /already exists/);
  });

  test('apps:list, apps:info, --json', async () => {
    const before = await appNames();
    const app = await newApp(s, 'list');
    const list = await s.ssh(s.admin, 'apps:list');
    assert.match(list.stdout, new RegExp(`^NAME\\s+STATE\\s+RELEASE\\s+READY\\s+URL\\n(.+\\n)*${app}\\s+new\\s+-\\s+0/0\\s+http://${app}\\.apps\\.test$`, 'm'));
    assert.deepEqual(await appNames(), [...before, app].sort());
    const info = await s.ssh(s.admin, `apps:info ${app}`);
    assert.match(info.stdout, new RegExp(`=== ${app}`));
    assert.match(info.stdout, new RegExp(`Web URL:\\s+http://${app}\\.apps\\.test`));
    const infoJson = JSON.parse((await s.ssh(s.admin, `apps:info ${app} --json`)).stdout) as { release: null };
    assert.equal(infoJson.release, null);
  });

  test('config:set, config, config:get, config:unset keep quoted values intact', async () => {
    const app = await newApp(s, 'config');
    const set = await s.ssh(s.admin, `config:set ${app} A=1 B="v w" C='x;$(id)\`y\`'`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal((await s.ssh(s.admin, `config:get ${app} B`)).stdout, 'v w');
    assert.equal((await s.ssh(s.admin, `config:get ${app} C`)).stdout, 'x;$(id)`y`');
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), { A: '1', B: 'v w', C: 'x;$(id)`y`' });
    assert.match((await s.ssh(s.admin, `config ${app}`)).stdout, new RegExp(`=== ${app} Config Vars\\nA:\\s+1\\nB:\\s+v w`));
    assert.equal((await s.ssh(s.admin, `config:unset ${app} A C`)).exitCode, 0);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), { B: 'v w' });
    const missing = await s.ssh(s.admin, `config:get ${app} A`);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, new RegExp(`A is not set for ${app}`));
    const bad = await s.ssh(s.admin, `config:set ${app} 1X=2 OK=3`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /not a valid config key/);
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout), { B: 'v w' }, 'nothing written when one pair is bad');
  });

  test('keys:add reads the key from stdin; keys:list; unknown keys cannot log in', async () => {
    const dev = await newKey();
    const listKeys = async () => (JSON.parse((await s.ssh(s.admin, 'keys:list --json')).stdout) as { name: string; admin: boolean }[]).map((k) => [k.name, k.admin]);
    const before = await listKeys();
    assert.deepEqual(before.find(([name]) => name === 'admin'), ['admin', true]);
    const denied = await s.ssh(dev, 'apps:list');
    assert.equal(denied.exitCode, 255);
    assert.match(denied.stderr, /Permission denied/);
    const add = await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.match(add.stdout, new RegExp(`Added key ${dev.name} \\(SHA256:`));
    const dup = await s.ssh(s.admin, `keys:add ${dev.name}-again`, dev.pub);
    assert.equal(dup.exitCode, 1);
    assert.match(dup.stderr, /already added/);
    const junk = await s.ssh(s.admin, 'keys:add junk', 'not a key');
    assert.equal(junk.exitCode, 1);
    assert.match(junk.stderr, /not an SSH public key/);
    assert.deepEqual(await listKeys(), [...before, [dev.name, false]]);
  });

  test('a deployer key sees only granted apps and cannot run admin commands', async () => {
    const dev = await deployerKey();
    const app = await newApp(s, 'granted');
    assert.equal((await s.ssh(s.admin, `config:set ${app} B="v w"`)).exitCode, 0);
    assert.match((await s.ssh(dev, 'apps:list')).stdout, /No apps yet/);
    const info = await s.ssh(dev, `apps:info ${app}`);
    assert.equal(info.exitCode, 1);
    assert.match(info.stderr, /does not exist, or your key has no access/);
    const create = await s.ssh(dev, `apps:create ${uniqueAppName('other')}`);
    assert.equal(create.exitCode, 1);
    assert.match(create.stderr, /Only admins may run apps:create/);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    assert.match((await s.ssh(dev, 'apps:list')).stdout, new RegExp(app));
    assert.equal((await s.ssh(dev, `config:get ${app} B`)).stdout, 'v w');
    assert.equal((await s.ssh(s.admin, `access:revoke ${app} ${dev.name}`)).exitCode, 0);
    assert.equal((await s.ssh(dev, `config:get ${app} B`)).exitCode, 1);
    const help = await s.ssh(dev, 'help');
    assert.doesNotMatch(help.stdout, /apps:create/);
    assert.match(help.stdout, /tokens:create/);
  });

  test('tokens:create shows the token once; tokens:list; tokens:revoke', async () => {
    const dev = await deployerKey();
    const r = await s.ssh(dev, 'tokens:create laptop');
    assert.equal(r.exitCode, 0, r.stderr);
    const token = r.stdout.split('\n')[1]!;
    assert.match(token, /^slw_[A-Za-z0-9_-]{32}$/);
    const list = JSON.parse((await s.ssh(dev, 'tokens:list --json')).stdout) as { name: string; keyName: string }[];
    assert.deepEqual(list.map((t) => [t.name, t.keyName]), [['laptop', dev.name]]);
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

  /** The commands `help NAMESPACE` shows, from their `=== NAME USAGE` headings. */
  const helpCommands = (stdout: string) => [...stdout.matchAll(/^=== (\S+)/gm)].map((m) => m[1]!);
  /** The namespaces an unknown namespace's sentence names. */
  const namespacesNamed = (stderr: string) => (/the namespaces are ([^.]+)\./.exec(stderr)?.[1] ?? '').split(', ');

  test('help NAMESPACE shows only that namespace, each command with its usage, summary and options', async () => {
    const ps = await s.ssh(s.admin, 'help ps');
    assert.equal(ps.exitCode, 0, ps.stderr);
    const shown = helpCommands(ps.stdout);
    for (const c of ['ps', 'ps:scale', 'ps:restart', 'ps:warm']) assert.ok(shown.includes(c), `${c} in ${shown.join(' ')}`);
    assert.ok(shown.every((c) => c === 'ps' || c.startsWith('ps:')), shown.join(' '));
    assert.doesNotMatch(ps.stdout, /config:set|apps:create|=== logs/);
    assert.match(ps.stdout, /^=== ps:scale APP TYPE=COUNT…\nSet how many instances of each process type run \(web=2 worker=0\)$/m);
    assert.match(ps.stdout, /^=== ps APP\n.+\n {2}--json {2}print the result as JSON/m);
    const logs = await s.ssh(s.admin, 'help logs');
    assert.deepEqual(helpCommands(logs.stdout), ['logs']);
    assert.match(logs.stdout, /^ {2}-t, --tail {7}keep streaming new lines$/m);
    assert.match(logs.stdout, /^ {2}-n, --num VALUE {2}how many recent lines/m);
    const config = await s.ssh(s.admin, 'help config');
    assert.match(config.stdout, /^=== config:set APP KEY=VALUE… \[--encoded\] \[--no-restart\]\n.+\n {2}--no-restart +only store the change/m);
  });

  test('an unknown namespace gets one sentence naming the namespaces', async () => {
    const r = await s.ssh(s.admin, 'help nosuch');
    assert.equal(r.exitCode, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^ ! {5}Unknown namespace "nosuch"; the namespaces are /);
    const named = namespacesNamed(r.stderr);
    for (const n of ['apps', 'config', 'ps', 'keys', 'nodes']) assert.ok(named.includes(n), `${n} in ${named.join(' ')}`);
    assert.ok(!named.includes('ps:scale'), 'namespaces, not commands');
    assert.equal((await s.ssh(s.admin, 'help ps config')).exitCode, 2, 'one namespace at a time');
  });

  test('help NAMESPACE shows a deployer no admin-only command, nor a namespace of only those', async () => {
    const dev = await deployerKey();
    const apps = helpCommands((await s.ssh(dev, 'help apps')).stdout);
    assert.ok(apps.includes('apps:list') && apps.includes('apps:info'), apps.join(' '));
    assert.ok(!apps.includes('apps:create') && !apps.includes('apps:destroy'), apps.join(' '));
    const adminApps = helpCommands((await s.ssh(s.admin, 'help apps')).stdout);
    assert.ok(adminApps.includes('apps:create') && adminApps.includes('apps:destroy'), adminApps.join(' '));
    for (const ns of ['keys', 'nodes', 'access']) {
      const r = await s.ssh(dev, `help ${ns}`);
      assert.equal(r.exitCode, 2, ns);
      assert.equal(r.stdout, '', ns);
      assert.match(r.stderr, new RegExp(`Unknown namespace "${ns}"`));
      const named = namespacesNamed(r.stderr);
      assert.ok(named.includes('ps') && named.includes('tokens'), named.join(' '));
      for (const adminOnly of ['keys', 'nodes', 'access', 'doctor', 'gc']) assert.ok(!named.includes(adminOnly), `${adminOnly} named to a deployer: ${named.join(' ')}`);
    }
    assert.equal((await s.ssh(s.admin, 'help keys')).exitCode, 0);
  });

  test('hostile app names get one clear sentence and write nothing', async () => {
    await newApp(s, 'hostile');
    const before = readdirSync(join(s.dir, 'data/repos')).sort();
    const appsBefore = await appNames();
    const names = ['-x', '../x', 'x/../../y', 'UPPER', 'a'.repeat(64), "''", 'ünïcode', 'a;id', '$(id)', '`id`', 'x--help'.replace('x', '-')];
    for (const name of names) {
      const r = await s.ssh(s.admin, `apps:create ${name}`);
      assert.ok(r.exitCode === 1 || r.exitCode === 2, `${name}: exit ${r.exitCode}`);
      assert.equal(r.stdout, '', name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^ ! {5}/, name);
    }
    assert.deepEqual(readdirSync(join(s.dir, 'data/repos')).sort(), before);
    assert.deepEqual(await appNames(), appsBefore);
  });

  test('shell metacharacters and newlines are never interpreted', async () => {
    const app = await newApp(s, 'shell');
    const cases: [string, RegExp][] = [
      ['apps:list; touch /tmp/slipway-pwned', /Unknown command "apps:list;"/],
      ['apps:info $(touch /tmp/slipway-pwned)', /usage: apps:info APP/],
      ['apps:info `touch /tmp/slipway-pwned`', /usage: apps:info APP/],
      ['apps:info $(id)', /"\$\(id\)" is not a valid app name/],
      ['apps:list\ntouch /tmp/slipway-pwned', /several lines/],
      ['apps:list && id', /usage: apps:list/],
      ['nosuch:command', /Unknown command "nosuch:command"/],
      [`apps:info ${app} --evil`, /Unknown option "--evil"/],
    ];
    for (const [cmd, expected] of cases) {
      const r = await s.ssh(s.admin, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.match(r.stderr, expected, cmd);
    }
    assert.ok(!existsSync('/tmp/slipway-pwned'));
  });

  test('a key probe without a signature does not authenticate', async () => {
    const app = await newApp(s, 'probe');
    // Only the public half: OpenSSH offers it (the server says it would accept it), then has
    // nothing to sign with. Knowing an admin's public key must not be enough.
    const pubOnly = join(s.dir, 'pub-only');
    copyFileSync(s.admin.path + '.pub', pubOnly);
    chmodSync(pubOnly, 0o600);
    const r = await run('ssh', ['-v', ...sshOptions({ ...s.admin, path: pubOnly }), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', 'apps:list'], { env: { SSH_AUTH_SOCK: '' } });
    assert.equal(r.exitCode, 255);
    assert.match(r.stderr, /Server accepts key/);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    assert.doesNotMatch(r.stdout, new RegExp(app));
  });

  test('an interactive login is refused politely', async () => {
    const r = await s.ssh(s.admin, '');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /does not provide shell access/);
  });

  test('apps:destroy needs --confirm and removes everything', async () => {
    const gone = await newApp(s, 'gone');
    const other = await newApp(s, 'kept');
    const destroyed = s.deployer.rollout.destroyed.length;
    const noConfirm = await s.ssh(s.admin, `apps:destroy ${gone}`);
    assert.equal(noConfirm.exitCode, 2);
    assert.match(noConfirm.stderr, new RegExp(`--confirm ${gone}`));
    const wrong = await s.ssh(s.admin, `apps:destroy ${gone} --confirm ${other}`);
    assert.equal(wrong.exitCode, 2);
    assert.ok(existsSync(join(s.dir, `data/repos/${gone}.git`)));
    const ok = await s.ssh(s.admin, `apps:destroy ${gone} --confirm ${gone}`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.ok(!existsSync(join(s.dir, `data/repos/${gone}.git`)));
    assert.deepEqual(s.deployer.rollout.destroyed.slice(destroyed), [gone]);
    assert.equal((await s.ssh(s.admin, `apps:info ${gone}`)).exitCode, 1);
  });
});
