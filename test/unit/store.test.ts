import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openStore } from '../../server/store/index.ts';
import { hashToken } from '../../server/store/tokens.ts';
import { withStore } from '../support/store.ts';


test('the database file is 0600, WAL, synchronous=FULL, migrated', () => {
  withStore((s, file) => {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
    assert.equal(s.db.pragma('user_version', { simple: true }), 35);
  });
});

test('reopening an existing database keeps its data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
  const file = join(dir, 'slipway.db');
  const a = openStore(file);
  a.apps.create('x');
  a.close();
  const b = openStore(file);
  assert.equal(b.apps.get('x')?.name, 'x');
  b.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the deploy lock: held by a live process, taken over from a dead one', () => {
  withStore((s) => {
    s.apps.create('a');
    assert.deepEqual(s.apps.lock('a', 'push 1'), { ok: true });
    const second = s.apps.lock('a', 'push 2');
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.holder, 'push 1');
    assert.equal(s.apps.unlock('a', 'push 2'), false, 'only the holder unlocks');
    assert.equal(s.apps.unlock('a', 'push 1'), true);
    // A process that no longer exists cannot hold a lock.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    assert.deepEqual(s.apps.lock('a', 'crashed push', dead), { ok: true });
    assert.deepEqual(s.apps.lock('a', 'next push'), { ok: true });
    assert.equal(s.apps.clearLocksOf(process.pid), 1);
  });
});

test('releases are numbered per app; current is the newest that succeeded', () => {
  withStore((s) => {
    s.apps.create('a');
    s.apps.create('b');
    const r1 = s.releases.create({ app: 'a', description: 'd', commit: 'c1', image: 'i1', processes: [], config: { K: 'v' } });
    s.releases.finish('a', r1.version, 'succeeded');
    const r2 = s.releases.create({ app: 'a', description: 'd', commit: 'c2', image: 'i2', processes: [], config: {} });
    s.releases.finish('a', r2.version, 'failed');
    const b1 = s.releases.create({ app: 'b', description: 'd', commit: 'c', image: 'i', processes: [], config: {} });
    assert.deepEqual([r1.version, r2.version, b1.version], [1, 2, 1]);
    assert.equal(s.releases.current('a')?.version, 1);
    assert.deepEqual(s.releases.current('a')?.config, { K: 'v' });
    assert.equal(s.releases.failAbandoned(), 1);
    assert.equal(s.releases.get('b', 1)?.status, 'failed');
  });
});

test('config changes are atomic; deleting an app cascades', () => {
  withStore((s) => {
    s.apps.create('a');
    s.config.change('a', { A: '1', B: '2' });
    s.config.change('a', { C: '3' }, ['A']);
    assert.deepEqual(s.config.all('a'), { B: '2', C: '3' });
    s.keys.add({ name: 'k', fingerprint: 'SHA256:x', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    s.keys.grant('a', 'k');
    s.tokens.add('t', 'k', 'slw_secret');
    assert.deepEqual(s.tokens.use('slw_secret'), { keyName: 'k', scope: 'deploy', hash: hashToken('slw_secret'), expiresAt: null });
    assert.equal(s.tokens.exists(hashToken('slw_secret')), true);
    assert.equal(s.tokens.use('slw_other'), undefined);
    s.apps.remove('a');
    assert.deepEqual(s.config.all('a'), {});
    assert.equal(s.keys.granted('a', 'k'), false);
    s.keys.remove('k');
    assert.equal(s.tokens.use('slw_secret'), undefined, 'tokens go with their key');
    assert.equal(s.tokens.exists(hashToken('slw_secret')), false);
  });
});

test('tokens are stored only as hashes', () => {
  withStore((s) => {
    s.keys.add({ name: 'k', fingerprint: 'SHA256:x', type: 'ssh-ed25519', publicKey: 'AAAA', admin: false });
    s.tokens.add('t', 'k', 'slw_plaintext');
    const row = s.db.prepare('SELECT * FROM tokens').get() as Record<string, unknown>;
    assert.ok(!JSON.stringify(row).includes('slw_plaintext'));
  });
});

test('lockedElsewhere names apps whose lock a live process other than ours holds', () => {
  withStore((s) => {
    s.apps.create('mine');
    s.apps.create('theirs');
    s.apps.create('dead');
    assert.equal(s.apps.lock('mine', 'push').ok, true);
    // The parent process (the test runner) is alive and is not us; pid 2**22 + 1 is above pid_max's default.
    assert.equal(s.apps.lock('theirs', 'cli push', process.ppid).ok, true);
    assert.equal(s.apps.lock('dead', 'old push', 4194305).ok, true);
    assert.deepEqual(s.apps.lockedElsewhere(), ['theirs']);
  });
});

test('previews: made within the limit with their app row, refused past it or on a taken name, gone with either app', () => {
  withStore((s) => {
    s.apps.create('shop');
    s.apps.create('taken--x-00000000');
    assert.equal(s.previews.create('shop--a-11111111', 'shop', 'a', 2), 'ok');
    assert.equal(s.previews.create('shop--b-22222222', 'shop', 'b', 2), 'ok');
    assert.equal(s.previews.create('shop--c-33333333', 'shop', 'c', 2), 'limit');
    assert.equal(s.apps.get('shop--c-33333333'), undefined, 'nothing written past the limit');
    assert.equal(s.previews.create('taken--x-00000000', 'shop', 'x', 5), 'taken');
    assert.equal(s.previews.byBranch('shop', 'x'), undefined);
    assert.equal(s.apps.get('shop--a-11111111')?.name, 'shop--a-11111111');
    s.previews.pushed('shop--a-11111111', 'c'.repeat(40), '2026-01-01T00:00:00.000Z');
    assert.deepEqual(s.previews.byBranch('shop', 'a'), { app: 'shop--a-11111111', parent: 'shop', branch: 'a', commit: 'c'.repeat(40), pushedAt: '2026-01-01T00:00:00.000Z', createdAt: s.previews.get('shop--a-11111111')!.createdAt });
    s.apps.remove('shop--a-11111111');
    assert.deepEqual(s.previews.list('shop').map((p) => p.branch), ['b']);
    s.apps.remove('shop');
    assert.deepEqual(s.previews.list(), []);
  });
});

test('preview settings: off with the defaults until set; a key granted the parent lists its previews', () => {
  withStore((s) => {
    s.apps.create('shop');
    s.apps.create('other');
    assert.deepEqual(s.previews.settings('shop'), { enabled: false, maxPreviews: null, ttlSeconds: null, sharedKeys: [], forkDb: false });
    s.previews.configure('shop', { enabled: true, sharedKeys: ['A'] });
    s.previews.configure('shop', { maxPreviews: 2, forkDb: true });
    assert.deepEqual(s.previews.settings('shop'), { enabled: true, maxPreviews: 2, ttlSeconds: null, sharedKeys: ['A'], forkDb: true });
    assert.equal(s.previews.create('shop--a-11111111', 'shop', 'a', 5), 'ok');
    assert.equal(s.keys.add({ name: 'dev', fingerprint: 'SHA256:x', type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA', admin: false }), 'ok');
    s.keys.grant('shop', 'dev');
    assert.deepEqual(s.apps.list('dev').map((a) => a.name), ['shop', 'shop--a-11111111']);
  });
});

test('statements are prepared once per SQL text, and the store never builds SQL from values', async () => {
  const { openDb } = await import('../../server/store/db.ts');
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-prepared-'));
  try {
    const db = openDb(join(dir, 'slipway.db'));
    assert.equal(db.prepare('SELECT name FROM apps WHERE name = ?'), db.prepare('SELECT name FROM apps WHERE name = ?'));
    assert.notEqual(db.prepare('SELECT 1'), db.prepare('SELECT 2'));
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A kept statement per SQL text stays a small, fixed set only while no SQL has a value in it.
  const storeDir = join(import.meta.dirname, '..', '..', 'server', 'store');
  for (const f of readdirSync(storeDir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(storeDir, f), 'utf8');
    // Interpolations allowed: a module's constant (`${COLUMNS}`) and a list of `?` placeholders
    // (`${marks}`), bounded by its length.
    for (const m of text.matchAll(/\.prepare(?:<[^>(]*>)?\(\s*(`[^`]*`)/g)) assert.doesNotMatch(m[1]!.replace(/\$\{(marks|[A-Z_]+)\}/g, ''), /\$\{/, `${f}: a prepared SQL text with an interpolation`);
    assert.doesNotMatch(text, /\.prepare(?:<[^>(]*>)?\(\s*[^'"`\s]/, `${f}: a prepared SQL text that is not a literal`);
  }
});
