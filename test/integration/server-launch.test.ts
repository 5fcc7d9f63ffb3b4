// `npm start` (bin/slipway-server) runs the built server, dist/server.mjs, not the TypeScript
// sources (issue 36: about 17 MiB less without Node's stripper; bench/results/memory.md), and the
// built server is a whole Slipway: it answers SSH and HTTP and stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { freePort, makeKey } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

const accepts = (port: number) => new Promise<boolean>((done) => {
  const c = connect(port, '127.0.0.1', () => { c.destroy(); done(true); });
  c.on('error', () => done(false));
});

test('bin/slipway-server runs the built server, which serves SSH and HTTP and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-launch-'));
  try {
    const admin = await makeKey(dir, 'admin');
    const ssh = await freePort();
    const http = await freePort();
    const server = execa(join(ROOT, 'bin', 'slipway-server'), [], {
      reject: false,
      env: { SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: String(ssh), SLIPWAY_HTTP_PORT: String(http), SLIPWAY_BIND: '127.0.0.1', SLIPWAY_ADMIN_KEYS: `${admin.path}.pub`, KUBECONFIG: '' },
    });
    await eventually('the server to listen', async () => (await accepts(ssh)) && (await accepts(http)), 60_000, 100);
    const pid = Number(readFileSync(join(dir, 'data', 'run', 'server.pid'), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes(join(ROOT, 'dist', 'server.mjs')), `runs the built server: ${cmdline.join(' ')}`);
    assert.ok(!cmdline.some((a) => a.endsWith('.ts')), 'no TypeScript source is the program');
    const page = await fetch(`http://127.0.0.1:${http}/api/v1/whoami`);
    assert.equal(page.status, 401, 'the API answers (no token: 401)');
    server.kill('SIGTERM');
    const r = await server;
    assert.equal(r.exitCode, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
