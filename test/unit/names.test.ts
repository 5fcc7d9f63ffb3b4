import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appName, branchName, configKey, label } from '../../server/names.ts';
import { deployTarget, parseRefUpdates } from '../../server/push/receive.ts';

test('app names are DNS labels that start with a letter', () => {
  for (const ok of ['a', 'myapp', 'my-app-2', 'a'.repeat(40)]) assert.equal(appName(ok), ok);
  for (const bad of ['', '-x', 'x-', '../x', 'x/../../y', 'UPPER', 'a'.repeat(41), 'a'.repeat(64), 'ünïcode', '1app', 'a_b', 'a.b', 'a b', 'a\n', '$(id)']) {
    assert.throws(() => appName(bad), /not a valid app name/, JSON.stringify(bad));
  }
});

test('the app name slipway is reserved: slipway.BASE_DOMAIN is the dashboard', () => {
  assert.throws(() => appName('slipway'), /^UserError: "slipway" is reserved for Slipway itself \(its dashboard answers at slipway\.BASE_DOMAIN\); choose another app name\.$/);
  assert.throws(() => appName('builds'), /^UserError: "builds" is reserved for Slipway itself \(its build pods run in the namespace slipway-builds\); choose another app name\.$/);
  assert.equal(appName('slipway-docs'), 'slipway-docs');
});

test('config keys, key/token names and branch names', () => {
  assert.equal(configKey('DATABASE_URL'), 'DATABASE_URL');
  assert.throws(() => configKey('1A'));
  assert.throws(() => configKey('A-B'));
  assert.equal(label('key', 'alice@laptop'), 'alice@laptop');
  assert.throws(() => label('key', '-rf'));
  assert.throws(() => label('token', 'a b'));
  assert.equal(branchName('release/v1'), 'release/v1');
  for (const bad of ['-x', 'a..b', 'a//b', 'a/', 'x.lock', '']) assert.throws(() => branchName(bad), JSON.stringify(bad));
});

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

test('parseRefUpdates reads pre-receive input strictly', () => {
  assert.deepEqual(parseRefUpdates(`${A} ${B} refs/heads/main\n`), [{ old: A, new: B, ref: 'refs/heads/main' }]);
  assert.throws(() => parseRefUpdates(`${A} ${B}\n`));
  assert.throws(() => parseRefUpdates(`x ${B} refs/heads/main\n`));
});

test('deployTarget accepts only the deploy branch', () => {
  assert.deepEqual(deployTarget([{ old: Z, new: B, ref: 'refs/heads/main' }], null), { branch: 'main', commit: B });
  assert.deepEqual(deployTarget([{ old: A, new: B, ref: 'refs/heads/master' }], null), { branch: 'master', commit: B });
  assert.throws(() => deployTarget([{ old: A, new: B, ref: 'refs/heads/master' }], 'main'), /only main deploys/);
  assert.throws(() => deployTarget([{ old: A, new: B, ref: 'refs/heads/dev' }], null), /only main \(or master\) deploys/);
  assert.throws(() => deployTarget([{ old: A, new: B, ref: 'refs/tags/v1' }], null), /only main/);
  assert.throws(() => deployTarget([{ old: A, new: Z, ref: 'refs/heads/main' }], null), /Deleting main is not allowed/);
  assert.throws(() => deployTarget([{ old: A, new: B, ref: 'refs/heads/main' }, { old: A, new: B, ref: 'refs/heads/x' }], null), /one branch at a time/);
  assert.deepEqual(deployTarget([{ old: A, new: B, ref: 'refs/heads/prod' }], 'prod'), { branch: 'prod', commit: B });
});
