// The local `slipway` CLI, run as a user runs it: a real process on a throwaway data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';

const cli = join(import.meta.dirname, '..', '..', 'bin', 'slipway.ts');

async function slipway(env: Record<string, string>, ...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
  try {
    return await run(process.execPath, [cli, ...args], { env: { SLIPWAY_DATA_DIR: join(dir, 'data'), ...env } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a bad setting is one sentence and exit 1, not an internal error', async () => {
  const r = await slipway({ SLIPWAY_SSH_PORT: 'abc' }, 'apps:list');
  assert.equal(r.exitCode, 1);
  assert.equal(r.stderr.trim(), ' !     SLIPWAY_SSH_PORT must be a port number (0-65535), got "abc".'.trim());
});

test('an unknown command is a usage error, exit 2', async () => {
  const r = await slipway({}, 'apps:lis');
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /Unknown command "apps:lis"/);
});

test('a command that works exits 0', async () => {
  const r = await slipway({}, 'apps:create', 'hello');
  assert.equal(r.exitCode, 0, r.stderr);
});
