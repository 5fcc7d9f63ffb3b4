import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands, parseArgs } from '../../server/commands/registry.ts';
import { parseFormation } from '../../server/commands/ps.ts';
import { MAX_SCALE } from '../../server/ops/processes/ps.ts';
import { parseHost } from '../../server/ops/domains/domains.ts';
import { parseLineCount } from '../../server/commands/logs.ts';
import { DEFAULT_LOG_LINES } from '../../server/ops/processes/logs.ts';
import { parseVersion } from '../../server/commands/releases.ts';
import { UsageError, UserError } from '../../server/errors.ts';

const command = (name: string) => commands.find((c) => c.name === name)!;

test('parseArgs accepts declared one-letter aliases, and only those', () => {
  const logs = command('logs');
  assert.deepEqual(parseArgs(logs, ['app', '-t']), { args: ['app'], flags: { tail: true } });
  assert.deepEqual(parseArgs(logs, ['app', '-t', '-p', 'worker', '-n', '20']), { args: ['app'], flags: { tail: true, ps: 'worker', num: '20' } });
  assert.deepEqual(parseArgs(logs, ['-n', '5', 'app']), { args: ['app'], flags: { num: '5' } });
  assert.deepEqual(parseArgs(logs, ['app', '--tail', '--ps=web', '--num', '7']), { args: ['app'], flags: { tail: true, ps: 'web', num: '7' } });
  // The value of -n is the next word, even one that starts with a dash (then -n rejects it).
  assert.deepEqual(parseArgs(logs, ['app', '-n', '-t']).flags, { num: '-t' });
  assert.throws(() => parseArgs(logs, ['app', '-x']), /Unknown option "-x" for logs/);
  assert.throws(() => parseArgs(logs, ['app', '-tn']), /Unknown option "-tn"/);
  assert.throws(() => parseArgs(logs, ['app', '-n']), (e: unknown) => e instanceof UsageError && /Option -n needs a value/.test(e.message));
  // Commands without aliases keep refusing short options.
  assert.throws(() => parseArgs(command('apps:destroy'), ['x', '-c', 'x']), /Unknown option "-c"/);
  assert.deepEqual(parseArgs(command('config:set'), ['app', 'A=1', '--no-restart']), { args: ['app', 'A=1'], flags: { 'no-restart': true } });
});

test('parseFormation checks every TYPE=COUNT against the app before anything is stored', () => {
  assert.deepEqual(parseFormation(['web=2', 'worker=0'], ['web', 'worker']), { web: 2, worker: 0 });
  assert.deepEqual(parseFormation(['celery_beat=1'], ['celery_beat']), { celery_beat: 1 });
  assert.throws(() => parseFormation(['web=2', 'clock=1'], ['web', 'worker']), /There is no "clock" process type; this app has web, worker\./);
  assert.throws(() => parseFormation(['web'], ['web']), /"web" is not TYPE=COUNT/);
  assert.throws(() => parseFormation(['web=-1'], ['web']), /not TYPE=COUNT/);
  assert.throws(() => parseFormation(['web=1.5'], ['web']), /not TYPE=COUNT/);
  assert.throws(() => parseFormation([`web=${MAX_SCALE + 1}`], ['web']), /cannot be scaled above/);
  assert.throws(() => parseFormation(['web=$(id)'], ['web']), UserError);
});

test('parseHost accepts DNS names only, and keeps the names under the base domain for apps', () => {
  const config = { baseDomain: 'apps.test' };
  assert.equal(parseHost('WWW.Example.COM.', config), 'www.example.com');
  assert.equal(parseHost('a.b.apps.test', config), 'a.b.apps.test');
  assert.throws(() => parseHost('other.apps.test', config), /other\.apps\.test is reserved: names directly under apps\.test are the apps' default domains\./);
  assert.throws(() => parseHost('*.example.com', config), /wildcard domains are not supported/);
  for (const bad of ['localhost', 'exa mple.com', '-a.example.com', 'a..com', '10.0.0.1', 'a_b.example.com', 'x'.repeat(64) + '.com', '$(id).com', '']) {
    assert.throws(() => parseHost(bad, config), /is not a domain name/, bad);
  }
});

test('parseLineCount and parseVersion', () => {
  assert.equal(parseLineCount(undefined), DEFAULT_LOG_LINES);
  assert.equal(parseLineCount('20'), 20);
  for (const bad of ['0', '-5', 'ten', '1e3', '100000']) assert.throws(() => parseLineCount(bad), /is not a number of lines/, bad);
  assert.equal(parseVersion('v3'), 3);
  assert.equal(parseVersion('12'), 12);
  for (const bad of ['v0', 'v', 'three', 'v-1', 'v3.1']) assert.throws(() => parseVersion(bad), /is not a release version/, bad);
});
