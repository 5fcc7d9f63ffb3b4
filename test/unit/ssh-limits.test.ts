import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { dropsNewConnection } from '../../server/transport/ssh/gate.ts';
import { SourcePenaltyBox } from '../../server/transport/ssh/penalties.ts';
import { sourceOf } from '../../server/transport/source.ts';
import { signatureAlgorithmAllowed } from '../../server/transport/ssh/lib.ts';
import { parsePublicKey } from '../../server/auth/keys.ts';
import { importAdminKeys } from '../../server/bootstrap.ts';
import { openStore } from '../../server/store/index.ts';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1DzxKlx7qPi91gJPWC8U74Yk4qmy6U2g6+CpxQ5PU5 alice@laptop';

test('SSH limits have sshd defaults and are validated', () => {
  const c = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' });
  assert.equal(c.sshLoginGraceMs, 60_000);
  assert.deepEqual(c.sshMaxStartups, { start: 128, rate: 30, full: 256 });
  assert.equal(c.sshMaxConnections, 500);
  assert.equal(c.sshPerSourceMaxStartups, 64);
  assert.deepEqual(c.sshPenalties, { authfailMs: 5000, noauthMs: 1000, graceExceededMs: 10_000, minMs: 15_000, maxMs: 600_000 });
  const set = loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_SSH_LOGIN_GRACE_S: '5', SLIPWAY_SSH_MAX_STARTUPS: '3:50:20', SLIPWAY_SSH_MAX_CONNECTIONS: '64' });
  assert.equal(set.sshLoginGraceMs, 5000);
  assert.deepEqual(set.sshMaxStartups, { start: 3, rate: 50, full: 20 });
  assert.equal(set.sshMaxConnections, 64);
  assert.deepEqual(loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_SSH_MAX_STARTUPS: '40' }).sshMaxStartups, { start: 40, rate: 100, full: 40 });
  for (const bad of ['10:30', '10:130:100', '50:30:10', '0:30:100', 'a:b:c', '10:30:100:1']) {
    assert.throws(() => loadConfig({ SLIPWAY_SSH_MAX_STARTUPS: bad }), /SLIPWAY_SSH_MAX_STARTUPS must be start:rate:full/, bad);
  }
  assert.throws(() => loadConfig({ SLIPWAY_SSH_LOGIN_GRACE_S: '0' }), /SLIPWAY_SSH_LOGIN_GRACE_S must be a positive number/);
  assert.throws(() => loadConfig({ SLIPWAY_SSH_MAX_CONNECTIONS: '1.5' }), /SLIPWAY_SSH_MAX_CONNECTIONS must be a whole number/);
});

test('per-source limits: PerSourceMaxStartups is a number or none, PerSourcePenalties off or sshd-style words', () => {
  const env = (e: Record<string, string>) => loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', ...e });
  assert.equal(env({ SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS: '8' }).sshPerSourceMaxStartups, 8);
  assert.equal(env({ SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS: 'none' }).sshPerSourceMaxStartups, undefined);
  assert.throws(() => env({ SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS: '0' }), /SLIPWAY_SSH_PER_SOURCE_MAX_STARTUPS must be a whole number of at least 1/);
  assert.equal(env({ SLIPWAY_SSH_PER_SOURCE_PENALTIES: 'off' }).sshPenalties, undefined);
  assert.deepEqual(env({ SLIPWAY_SSH_PER_SOURCE_PENALTIES: 'authfail:30s noauth:0 max:1h' }).sshPenalties,
    { authfailMs: 30_000, noauthMs: 0, graceExceededMs: 10_000, minMs: 15_000, maxMs: 3_600_000 });
  for (const bad of ['crash:90s', 'authfail', 'authfail:5x', 'constructor:1', 'min:10m max:1m']) {
    assert.throws(() => env({ SLIPWAY_SSH_PER_SOURCE_PENALTIES: bad }), /SLIPWAY_SSH_PER_SOURCE_PENALTIES/, bad);
  }
});

test('penalties accrue per source, are enforced from min on, capped at max, and run out', () => {
  let now = 1_000_000;
  const box = new SourcePenaltyBox({ authfailMs: 5000, noauthMs: 1000, graceExceededMs: 10_000, minMs: 15_000, maxMs: 60_000 }, () => now);
  box.penalise('192.0.2.1', 'authfail');
  box.penalise('192.0.2.1', 'authfail');
  assert.equal(box.refuses('192.0.2.1'), false, '10 s accrued: under the 15 s minimum');
  box.penalise('192.0.2.1', 'authfail');
  assert.equal(box.refuses('192.0.2.1'), true, '15 s accrued');
  assert.equal(box.refuses('192.0.2.2'), false, 'another address is not touched');
  now += 14_000;
  assert.equal(box.refuses('192.0.2.1'), true, 'enforced until it runs out, even below the minimum');
  now += 1_000;
  assert.equal(box.refuses('192.0.2.1'), false, 'run out');
  for (let i = 0; i < 100; i++) box.penalise('192.0.2.3', 'grace-exceeded');
  now += 59_000;
  assert.equal(box.refuses('192.0.2.3'), true);
  now += 1_000;
  assert.equal(box.refuses('192.0.2.3'), false, 'capped at max (60 s)');
  // A slow trickle never reaches the minimum: each second-long penalty runs out before the next.
  for (let i = 0; i < 50; i++) { box.penalise('192.0.2.4', 'noauth'); now += 1_000; }
  assert.equal(box.refuses('192.0.2.4'), false);
});

test('the penalty table is bounded: the penalty nearest its end is forgotten first', () => {
  let now = 0;
  const box = new SourcePenaltyBox({ authfailMs: 20_000, noauthMs: 1000, graceExceededMs: 30_000, minMs: 15_000, maxMs: 60_000 }, () => now, 2);
  box.penalise('192.0.2.1', 'grace-exceeded');
  box.penalise('192.0.2.2', 'authfail');
  box.penalise('192.0.2.3', 'grace-exceeded');
  assert.equal(box.size, 2);
  assert.equal(box.refuses('192.0.2.2'), false, 'the shortest penalty went');
  assert.equal(box.refuses('192.0.2.1'), true);
  assert.equal(box.refuses('192.0.2.3'), true);
  assert.equal(sourceOf('::ffff:127.0.0.1'), '127.0.0.1', 'an IPv4-mapped address is its IPv4 address');
  assert.equal(sourceOf('2001:db8::1'), '2001:db8::1');
});

test('MaxStartups drops nothing below start, everything from full, and linearly more in between', () => {
  const m = { start: 10, rate: 30, full: 100 };
  assert.equal(dropsNewConnection(9, m, () => 0), false);
  assert.equal(dropsNewConnection(100, m, () => 0.999), true);
  // At start the chance is rate (30%), halfway (55) it is 65%.
  assert.equal(dropsNewConnection(10, m, () => 0.29), true);
  assert.equal(dropsNewConnection(10, m, () => 0.3), false);
  assert.equal(dropsNewConnection(55, m, () => 0.64), true);
  assert.equal(dropsNewConnection(55, m, () => 0.66), false);
  assert.equal(dropsNewConnection(5, { start: 5, rate: 100, full: 5 }, () => 0), true, 'a hard cap');
});

test('authorized_keys lines with options are refused, plain ones read', () => {
  assert.equal(parsePublicKey(ED25519).comment, 'alice@laptop');
  for (const line of [`from="10.0.0.0/8" ${ED25519}`, `command="git-shell",no-pty ${ED25519}`, `restrict ${ED25519}`]) {
    assert.throws(() => parsePublicKey(line), /Key options .* are not supported; send the key line without options\./, line);
  }
});

test('SHA-1 ssh-rsa signatures are not allowed; rsa-sha2 and other key types are', () => {
  assert.equal(signatureAlgorithmAllowed('ssh-rsa', undefined), false);
  assert.equal(signatureAlgorithmAllowed('ssh-rsa', 'sha256'), true);
  assert.equal(signatureAlgorithmAllowed('ssh-rsa', 'sha512'), true);
  assert.equal(signatureAlgorithmAllowed('ssh-ed25519', undefined), true);
});

test('SLIPWAY_ADMIN_KEYS with an options line is refused at import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-keys-'));
  try {
    const file = join(dir, 'authorized_keys');
    writeFileSync(file, `${ED25519}\nno-port-forwarding ${ED25519.replace('alice', 'bob')}\n`);
    const store = openStore(join(dir, 'db'));
    try {
      assert.throws(() => importAdminKeys(store, file), /authorized_keys, line 2: Key options .* are not supported/);
      assert.deepEqual(store.keys.list(), [], 'nothing imported from a refused file');
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
