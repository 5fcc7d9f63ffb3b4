import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError, runChecked } from '../../server/exec.ts';
import { git } from '../../server/git.ts';

test('runChecked returns the output of a program that exits 0', async () => {
  const r = await runChecked('sh', ['-c', 'echo out; echo err >&2']);
  assert.equal(r.stdout, 'out');
  assert.equal(r.stderr, 'err');
});

test('runChecked throws an ExecError with the command, exit code and stderr tail', async () => {
  const err = await runChecked('sh', ['-c', 'echo first >&2; echo last >&2; exit 3']).catch((e: unknown) => e);
  assert.ok(err instanceof ExecError);
  assert.equal(err.exitCode, 3);
  assert.equal(err.command, 'sh -c echo first >&2; echo last >&2; exit 3');
  assert.equal(err.stderrTail, 'first\nlast');
  assert.equal(err.cancelled, false);
  assert.match(err.message, /^sh -c failed \(exit 3\): first\nlast$/);
});

test('runChecked says when the program was cancelled', async () => {
  const ac = new AbortController();
  const p = runChecked('sleep', ['5'], { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 50);
  const err = await p.catch((e: unknown) => e);
  assert.ok(err instanceof ExecError);
  assert.equal(err.cancelled, true);
  assert.match(err.message, /sleep 5 was cancelled/);
});

test('git() throws an ExecError carrying git\'s own words', async () => {
  const err = await git(['rev-parse', '--verify', 'no-such-ref'], { cwd: '/' }).catch((e: unknown) => e);
  assert.ok(err instanceof ExecError);
  assert.notEqual(err.exitCode, 0);
  assert.match(err.stderrTail, /not a git repository/);
});
