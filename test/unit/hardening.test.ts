// Issue 8, the pure parts: shell quoting, host-name claims, the auth-failure throttle, process
// identity for locks, and the token-name migration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../server/ops/config/config-format.ts';
import { checkClaim } from '../../server/ops/domains/domains.ts';
import { FailureThrottle } from '../../server/transport/http/throttle.ts';
import { processStartTime, sameProcessAlive } from '../../server/process.ts';
import { openStore } from '../../server/store/index.ts';

test('shellQuote: single quotes, with a quote inside closed, escaped and reopened', () => {
  assert.equal(shellQuote('plain'), "'plain'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('$(id) `id` \\ "x"'), `'$(id) \`id\` \\ "x"'`);
  const value = "a'b$(touch /nonexistent/x)`c`\n'";
  const r = spawnSync('sh', ['-c', `V=${shellQuote(value)}; printf %s "$V"`], { encoding: 'utf8' });
  assert.equal(r.stdout, value);
});

test('checkClaim: the base domain, its parents and names under other apps are refused', () => {
  const config = { baseDomain: '1.2.3.4.sslip.io' };
  assert.doesNotThrow(() => checkClaim('www.example.com', 'alpha', config));
  assert.doesNotThrow(() => checkClaim('www.alpha.1.2.3.4.sslip.io', 'alpha', config));
  assert.doesNotThrow(() => checkClaim('a.b.alpha.1.2.3.4.sslip.io', 'alpha', config));
  assert.throws(() => checkClaim('1.2.3.4.sslip.io', 'alpha', config), /is the platform's base domain/);
  for (const parent of ['sslip.io', '4.sslip.io', '2.3.4.sslip.io']) assert.throws(() => checkClaim(parent, 'alpha', config), /is a parent of the platform's base domain/, parent);
  assert.throws(() => checkClaim('www.beta.1.2.3.4.sslip.io', 'alpha', config), /^UserError: www\.beta\.1\.2\.3\.4\.sslip\.io is under beta\.1\.2\.3\.4\.sslip\.io, the default domain of the app named beta; alpha may only add names under alpha\.1\.2\.3\.4\.sslip\.io\.$/);
  assert.throws(() => checkClaim('x.alphabet.1.2.3.4.sslip.io', 'alpha', config), /app named alphabet/);
});

test('FailureThrottle: free attempts, then a growing bounded delay, per address, in a bounded table', () => {
  let now = 0;
  const t = new FailureThrottle({ maxEntries: 3, windowMs: 1000, free: 2, stepMs: 100, maxDelayMs: 250 }, () => now);
  assert.deepEqual([t.fail('a'), t.fail('a'), t.fail('a'), t.fail('a'), t.fail('a')], [0, 0, 100, 200, 250]);
  assert.equal(t.fail('b'), 0, 'per address');
  now = 2000;
  assert.equal(t.fail('a'), 0, 'a new window starts over');
  for (let i = 0; i < 1000; i++) t.fail(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(t.size, 3, 'the table never holds more than maxEntries');
  assert.equal(t.failures('a'), 0, 'the least recently failed went first');
});

test('a process is named by pid and start time: a reused pid is another process', async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => sleeper.once('spawn', r));
    const started = processStartTime(sleeper.pid!);
    assert.match(started ?? '', /^\d+$/);
    assert.equal(sameProcessAlive(sleeper.pid, started), true);
    assert.equal(sameProcessAlive(sleeper.pid, String(Number(started) + 1)), false);
    assert.equal(sameProcessAlive(sleeper.pid, null), true, 'rows from before the migration: pid only');
  } finally {
    sleeper.kill();
  }
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  assert.equal(processStartTime(dead), undefined);
  assert.equal(sameProcessAlive(dead, '1'), false);
});

test('the deploy lock: a live pid with another start time is stale and taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-lock-'));
  const s = openStore(join(dir, 'db'));
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    s.apps.create('a');
    s.db.prepare("UPDATE apps SET lock_owner = 'old', lock_pid = ?, lock_started = '1' WHERE name = 'a'").run(sleeper.pid);
    assert.deepEqual(s.apps.lock('a', 'new'), { ok: true });
    const held = s.apps.lock('a', 'third');
    assert.equal(held.ok, false, 'the lock of this live process (right start time) holds');
  } finally {
    sleeper.kill();
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration: global token names become per key, keeping existing tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-migrate-'));
  const file = join(dir, 'db');
  const old = openStore(file);
  // Back to schema 2: the global tokens table, no lock start times, none of schema 5's day-2
  // tables, no certificates (schema 6), no collected images (schema 7), no quotas (schema 8), no egress rules (schema 9),
  // no jobs (schema 10); the tokens table made here has no scopes (schema 11) either; no scheduled
  // tasks (schema 12), no volumes (schema 13), no dashboard sessions (schema 14), no release provenance (schema 15), no warm rollback (schema 16), no syncs (schema 17), no previews (schema 18), no databases (schema 20), no rotated logins (schema 22), no audit log (schema 24), no drains (schema 27), OpenID Connect bindings (schema 29), no sleeping apps (schema 30), no autoscaling (schema 32), no canaries (schema 33).
  old.db.exec(`DROP TABLE canary_settings; DROP TABLE autoscale; DROP TABLE wakes; ALTER TABLE apps DROP COLUMN sleep_seconds; ALTER TABLE apps DROP COLUMN asleep_since; DROP TABLE oidc_bindings; DROP TABLE drains; DROP TABLE audit_pruned; DROP TABLE audit; DROP TABLE data_retiring; DROP TABLE data_drills; DROP TABLE data_ca; DROP TABLE data_services; DROP TABLE previews; DROP TABLE preview_settings; DROP TABLE hook_deliveries; DROP TABLE syncs; ALTER TABLE releases DROP COLUMN runs_as; ALTER TABLE apps DROP COLUMN warm_seconds; ALTER TABLE releases DROP COLUMN created_by; ALTER TABLE releases DROP COLUMN config_changes;
    DROP TABLE sessions; DROP TABLE login_codes; DROP TABLE volumes; DROP TABLE cron_suspended; ALTER TABLE releases DROP COLUMN cron;
    DROP TABLE tokens; DROP TABLE jobs;
    DROP TABLE quotas; ALTER TABLE releases DROP COLUMN config_pruned_at;
    DROP TABLE egress;
    ALTER TABLE releases DROP COLUMN image_collected_at;
    DROP TABLE checks; DROP TABLE resources; DROP TABLE stopped;
    ALTER TABLE releases DROP COLUMN checks;
    DROP TABLE certs;
    ALTER TABLE apps DROP COLUMN certs_auto;
    CREATE TABLE tokens (name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE, created_at TEXT NOT NULL, last_used_at TEXT);
    ALTER TABLE apps DROP COLUMN lock_started;
    PRAGMA user_version = 2;`);
  old.keys.add({ name: 'k', fingerprint: 'SHA256:x', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA', admin: false });
  old.db.prepare("INSERT INTO tokens (name, hash, key_name, created_at) VALUES ('laptop', ?, 'k', '2020-01-01T00:00:00Z')").run('0'.repeat(64));
  old.close();
  const s = openStore(file);
  try {
    assert.deepEqual(s.tokens.list('k').map((t) => t.name), ['laptop']);
    assert.equal(s.tokens.add('laptop', 'k', 'slw_a'), 'exists');
    s.keys.add({ name: 'j', fingerprint: 'SHA256:y', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 BBBB', admin: false });
    assert.equal(s.tokens.add('laptop', 'j', 'slw_b'), 'added', 'the same name under another key');
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
