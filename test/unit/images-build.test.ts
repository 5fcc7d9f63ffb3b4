// images/build.sh without an engine (the build itself runs in the testbed's 45-data-images.sh and
// install.sh on the install e2e): the tags it names, and its refusals in one sentence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

const script = join(import.meta.dirname, '..', '..', 'images', 'build.sh');

test('--tags names each image as slipway/NAME:TAG, the tag a hash of its inputs, the same on every run', async () => {
  const a = await run('bash', [script, '--tags', 'postgres', 'valkey', 'postgres18']);
  assert.equal(a.exitCode, 0, a.stderr);
  const lines = a.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.replace(/:[0-9a-f]{12}$/, ':TAG')), ['postgres slipway/postgres:TAG', 'valkey slipway/valkey:TAG', 'postgres18 slipway/postgres18:TAG']);
  assert.equal(new Set(lines.map((l) => l.split(':')[1])).size, 3, 'each image its own tag');
  assert.equal((await run('bash', [script, '--tags', 'postgres', 'valkey', 'postgres18'])).stdout, a.stdout);
});

test('refusals: no image named, an unknown one, an engine that is not a socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-images-'));
  try {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /^images\/build\.sh --engine SOCKET --registry HOST:PORT/m],
      [['--tags', 'mysql'], 2, /^images: unknown argument mysql$/m],
      [['--engine', join(dir, 'none.sock'), '--registry', '127.0.0.1:5000', 'valkey'], 1, /^images: error: --engine must name the Docker engine's socket \(got ".*none\.sock"\)$/m],
      [['--engine', '/dev/null', 'valkey'], 1, /^images: error: --engine must name the Docker engine's socket/m],
    ];
    for (const [args, code, message] of cases) {
      const r = await run('bash', [script, ...args]);
      assert.equal(r.exitCode, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'nothing named');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
