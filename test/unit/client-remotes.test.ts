// The client's pure parts: which remote URLs are Slipway remotes and of which app, which one app
// the remotes of a repository name, a server address, the command line, and SSH's quoting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRemote, slipwayRemotes, theOneApp } from '../../client/remotes.ts';
import { parseHost } from '../../client/context.ts';
import { parseArgv } from '../../client/argv.ts';
import { clientCommands } from '../../client/commands/index.ts';
import { quoteWord } from '../../client/ssh.ts';
import { completionScript } from '../../client/completion.ts';
import { execFileSync } from 'node:child_process';
import { tokenize } from '../../server/commands/parse.ts';

test('the remote shapes the server prints, scp-like SSH and HTTP under /git/ are Slipway remotes', () => {
  assert.deepEqual(parseRemote('ssh://git@paas.example.com:2222/myapp.git'), { app: 'myapp', host: 'paas.example.com', kind: 'ssh', sshPort: 2222 });
  assert.deepEqual(parseRemote('ssh://git@PAAS.example.com/myapp'), { app: 'myapp', host: 'paas.example.com', kind: 'ssh' });
  assert.deepEqual(parseRemote('git@paas.example.com:myapp.git'), { app: 'myapp', host: 'paas.example.com', kind: 'ssh' });
  assert.deepEqual(parseRemote('http://paas.example.com:8080/myapp.git'), { app: 'myapp', host: 'paas.example.com', kind: 'http', origin: 'http://paas.example.com:8080' });
  assert.deepEqual(parseRemote('https://x:slw_secret@paas.example.com/git/my-app.git'), { app: 'my-app', host: 'paas.example.com', kind: 'http', origin: 'https://paas.example.com' });
  assert.deepEqual(parseRemote('ssh://git@[::1]:2222/a1.git'), { app: 'a1', host: '::1', kind: 'ssh', sshPort: 2222 });
});

test('other remotes are not: a forge path, a bad app name, a local path, another scheme', () => {
  for (const url of ['git@github.com:someone/repo.git', 'https://github.com/someone/repo.git', 'ssh://git@h:22/My_App.git', '/srv/git/app.git', 'file:///srv/app.git', 'git://h/app.git', 'http://h/app.git?x=1', `ssh://git@h/${'a'.repeat(41)}.git`]) {
    assert.equal(parseRemote(url), undefined, url);
  }
});

test('exactly one app wins among the remotes of known hosts; several are listed in one sentence', () => {
  const known = new Set(['paas.example.com']);
  const remotes = [
    { name: 'origin', url: 'git@github.com:someone/repo.git' },
    { name: 'paas', url: 'ssh://git@paas.example.com:2222/web.git' },
    { name: 'paas-http', url: 'http://paas.example.com:8080/web.git' },
    { name: 'other', url: 'ssh://git@elsewhere.example.com:2222/web.git' },
  ];
  const one = theOneApp(slipwayRemotes(remotes, known));
  assert.ok(one && 'app' in one);
  assert.equal(one.app, 'web');
  const two = theOneApp(slipwayRemotes([...remotes, { name: 'staging', url: 'git@paas.example.com:web-staging.git' }], known));
  assert.deepEqual(two, { several: 'This repository has remotes of several apps: paas/paas-http (web on paas.example.com), staging (web-staging on paas.example.com); choose one with --remote NAME or --app APP.' });
  assert.equal(theOneApp(slipwayRemotes(remotes, new Set())), undefined, 'no known host: no app');
});

test('a server address: a host gets the default HTTP port, an origin is kept', () => {
  assert.deepEqual(parseHost('paas.example.com'), { host: 'paas.example.com', api: 'http://paas.example.com:8080' });
  assert.deepEqual(parseHost('paas.example.com:9000'), { host: 'paas.example.com', api: 'http://paas.example.com:9000' });
  assert.deepEqual(parseHost('https://Paas.Example.com/'), { host: 'paas.example.com', api: 'https://paas.example.com' });
  assert.throws(() => parseHost('http://'), /is not a server address/);
});

test('the command line: options anywhere, run takes the rest as it is but the app first', () => {
  const find = (n: string) => clientCommands.find((c) => c.name === n);
  const p = parseArgv(['--app', 'web', 'config:set', 'A=1', '--no-restart', '--json'], find);
  assert.equal(p.name, 'config:set');
  assert.deepEqual(p.args, ['A=1']);
  assert.deepEqual(p.flags, { 'no-restart': true });
  assert.deepEqual({ app: p.globals.app, json: p.globals.json }, { app: 'web', json: true });
  const run = parseArgv(['run', '-a', 'web', 'ls', '-la', '--app', 'x'], find);
  assert.deepEqual(run.args, ['ls', '-la', '--app', 'x']);
  assert.equal(run.globals.app, 'web');
  const logs = parseArgv(['logs', '-t', '-n', '5', '-p', 'worker'], find);
  assert.deepEqual(logs.flags, { tail: true, num: '5', process: 'worker' });
  assert.throws(() => parseArgv(['logs', '--nope'], find), /Unknown option --nope for logs/);
  assert.throws(() => parseArgv(['logs', '-n'], find), /needs a value/);
});

test('words sent over SSH come back from the server\'s tokenizer as they were', () => {
  const words = ['run', 'web', 'echo', "it's", 'a b', '$(id)', '"q"', '', 'back\\slash', 'K=V;rm'];
  assert.deepEqual(tokenize(words.map(quoteWord).join(' ')), words);
});

test('bash completes commands across the colon, and each command\'s options', () => {
  const script = completionScript('bash', clientCommands);
  const complete = (line: string) => execFileSync('bash', ['-c', `${script}\nCOMP_LINE="$1"; COMP_POINT=\${#1}; _slipway; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', line], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(complete('slipway config:s'), ['set']);
  assert.deepEqual(complete('slipway ps:sc'), ['scale']);
  assert.deepEqual(complete('slipway config:set A=1 --no'), ['--no-restart', '--no-wait']);
  assert.ok(complete('slipway logs -').includes('--tail'));
  assert.throws(() => completionScript('tcsh', clientCommands), /use bash, zsh or fish/);
  for (const shell of ['zsh', 'fish']) assert.match(completionScript(shell, clientCommands), /config:set|config\\:set/);
});
