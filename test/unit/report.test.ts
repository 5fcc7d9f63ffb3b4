import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError, UsageError, UserError } from '../../server/errors.ts';
import { configureLog } from '../../server/output/log.ts';
import { reportFailure } from '../../server/output/report.ts';

function captured(fn: () => void): Array<Record<string, unknown>> {
  const lines: string[] = [];
  configureLog({ level: 'debug', sink: (l) => lines.push(l) });
  try { fn(); } finally { configureLog({ level: 'error', sink: (l) => process.stderr.write(l + '\n') }); }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a user error is its own sentence, exit 1, logged at info without a stack', () => {
  let r;
  const logged = captured(() => { r = reportFailure(new UserError('That will not do.'), 'command failed', { command: 'x' }); });
  assert.deepEqual(r, { message: 'That will not do.', exitCode: 1 });
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.level, 'info');
  assert.equal(logged[0]!.reason, 'That will not do.');
});

test('a usage error exits 2', () => {
  captured(() => assert.equal(reportFailure(new UsageError('usage: x'), 'command failed').exitCode, 2));
});

test('anything else is an internal error whose id is in the log at error level, with the stack', () => {
  let r: ReturnType<typeof reportFailure> | undefined;
  const logged = captured(() => { r = reportFailure(new Error('disk on fire'), 'push rejected', { app: 'a' }); });
  assert.equal(r!.exitCode, 70);
  assert.match(r!.message, /^internal error \(id [0-9a-f]{8}\)/);
  assert.equal(logged[0]!.level, 'error');
  assert.equal(logged[0]!.id, r!.id);
  assert.match(JSON.stringify(logged[0]!.err), /disk on fire/);
  assert.ok(!r!.message.includes('disk on fire'), 'the detail stays in the log');
});

test('NotFoundError says the app does not exist, and hides existence from keys without access', () => {
  assert.equal(new NotFoundError('"x"').message, 'App "x" does not exist.');
  assert.equal(new NotFoundError('"x"', { orNoAccess: true }).message, 'App "x" does not exist, or your key has no access to it.');
  assert.ok(new NotFoundError('x') instanceof UserError);
});
