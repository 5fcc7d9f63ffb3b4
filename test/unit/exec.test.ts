import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecError, pipe, readInto, runChecked } from '../../server/exec.ts';
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

/** A file of `bytes` random bytes and its SHA-256, removed after the test. */
function randomFile(t: { after(fn: () => void): void }, bytes: number): { path: string; sha: string } {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-readinto-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(bytes);
  const path = join(dir, 'data');
  writeFileSync(path, data);
  return { path, sha: createHash('sha256').update(data).digest('hex') };
}

test('readInto reads a program\'s output into the one buffer, byte for byte', async (t) => {
  const file = randomFile(t, 3 * 1024 * 1024 + 17);
  const child = pipe('cat', [file.path]);
  const buffer = Buffer.alloc(64 * 1024);
  const hash = createHash('sha256');
  let foreign = 0;
  const out = readInto(child.stdout, buffer, (chunk) => {
    if (chunk.buffer !== buffer.buffer) foreign++;
    hash.update(chunk);
    return true;
  });
  // On this Node the pipe is taken over; were it not, relays would silently go back to a new
  // buffer per read (and the mark-compacts that come with it).
  assert.equal(out.reused, true);
  await out.done;
  assert.equal(await child.exited, 0);
  assert.equal(foreign, 0, 'every chunk is a view of the one buffer');
  assert.equal(hash.digest('hex'), file.sha);
});

test('readInto reads nothing more while onChunk holds the view, until resume()', async (t) => {
  const file = randomFile(t, 1024 * 1024 + 5);
  const child = pipe('cat', [file.path]);
  const buffer = Buffer.alloc(64 * 1024);
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  let overlaps = 0;
  const out = readInto(child.stdout, buffer, (chunk) => {
    if (held) overlaps++;
    held = chunk;
    // Used only later, as ssh2 does with what it keeps while the client's window is shut.
    setTimeout(() => {
      hash.update(chunk);
      held = undefined;
      out.resume();
    }, 2);
    return false;
  });
  await out.done;
  assert.equal(await child.exited, 0);
  assert.equal(overlaps, 0, 'no read came while a view was held');
  assert.equal(hash.digest('hex'), file.sha);
});
