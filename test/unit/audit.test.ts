// The audit log's chain (issue 39): entries are only added, each carries the hash of the one
// before, and audit:verify names the first entry someone edited, inserted or removed with SQLite
// itself (triggers dropped, as whoever holds the database file can), or a chain cut short after a
// signed checkpoint; pruning keeps it checkable from the anchor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore, type Store } from '../../server/store/index.ts';
import { AuditLog, bodyNames, redactWords } from '../../server/ops/audit/recorder.ts';
import { verifyAudit } from '../../server/ops/audit/verify.ts';
import { ensureAuditKey, writeCheckpoint, checkpointDue } from '../../server/ops/audit/checkpoint.ts';
import { pruneAudit } from '../../server/ops/audit/prune.ts';
import { entryHash } from '../../server/ops/audit/chain.ts';
import { parseSince } from '../../server/ops/audit/query.ts';

interface Fixture { store: Store; audit: AuditLog; dir: string; file: string; config: { dataDir: string } }

/** A store with `n` entries, its key made; `fn` gets it, then everything is removed. */
function withLog(n: number, fn: (f: Fixture) => void, clock?: () => Date): void {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-audit-'));
  const file = join(dir, 'slipway.db');
  const store = openStore(file);
  const f: Fixture = { store, audit: new AuditLog(store, clock), dir, file, config: { dataDir: dir } };
  ensureAuditKey(f.config);
  try {
    for (let i = 1; i <= n; i++) f.audit.record({ actor: i % 2 ? 'alice' : 'bob', credential: 'key', interface: 'ssh', source: '192.0.2.7', action: 'config:set', app: 'shop', object: `K${i}`, outcome: 'ok', meta: { words: [`K${i}=…`] } });
    fn(f);
  } finally {
    f.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Changes the database as someone holding the file would: with SQLite itself (node:sqlite, not
 * the store's driver), the triggers dropped, while the store is closed; then the store is opened again.
 */
function tamper(f: Fixture, statements: (db: DatabaseSync) => void): void {
  f.store.close();
  const db = new DatabaseSync(f.file);
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; DROP TRIGGER IF EXISTS audit_pruned_checked;');
    statements(db);
  } finally {
    db.close();
  }
  f.store = openStore(f.file);
  f.audit = new AuditLog(f.store);
}

/** One statement, through tamper(). */
function sql(f: Fixture, text: string, ...params: (string | number)[]): void {
  tamper(f, (db) => { db.prepare(text).run(...params); });
}

test('an intact chain verifies; the store refuses UPDATE and DELETE of an entry', () => {
  withLog(50, (f) => {
    const v = verifyAudit(f.config, f.store);
    assert.equal(v.ok, true, v.broken?.message);
    assert.deepEqual([v.entries, v.first, v.head?.seq], [50, 1, 50]);
    assert.match(v.publicKey ?? '', /^ed25519:[A-Za-z0-9+/]{43}=$/);
    assert.throws(() => f.store.db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 3").run(), /audit entries cannot be changed/);
    assert.throws(() => f.store.db.prepare('DELETE FROM audit WHERE seq = 3').run(), /audit entries cannot be deleted/);
    assert.throws(() => f.store.db.prepare("INSERT INTO audit_pruned (upto, hash, at) VALUES (10, 'x', 'now')").run(), /must name an entry and its hash/);
    assert.equal(f.store.audit.count(), 50);
  });
});

test('an edited entry is named, even with its own hash recomputed', () => {
  withLog(40, (f) => {
    sql(f, "UPDATE audit SET actor = 'mallory' WHERE seq = 17");
    const v = verifyAudit(f.config, f.store);
    assert.equal(v.ok, false);
    assert.deepEqual([v.broken?.seq, v.broken?.kind], [17, 'edited']);
    assert.match(v.broken!.message, /^Entry 17 was edited/);
    // Now the hash too: the next entry still holds the old one.
    sql(f, 'UPDATE audit SET hash = ? WHERE seq = 17', entryHash(f.store.audit.get(17)!));
    const again = verifyAudit(f.config, f.store);
    assert.deepEqual([again.broken?.seq, again.broken?.kind], [17, 'edited']);
  });
});

test('an inserted entry is named: the one chained in, the later ones renumbered', () => {
  withLog(30, (f) => {
    const before = f.store.audit.get(12)!;
    const forged = { seq: 13, at: before.at, actor: 'mallory', credential: 'key', interface: 'ssh', source: null, action: 'keys:add', app: null, object: 'mallory', outcome: 'ok' as const, job: null, meta: '{}', prev: before.hash };
    tamper(f, (db) => {
      // Make room after 12 (from the top down, as the primary key wants), then put a well-formed entry there.
      for (let seq = 30; seq >= 13; seq--) db.prepare('UPDATE audit SET seq = seq + 1 WHERE seq = ?').run(seq);
      db.prepare('INSERT INTO audit (seq, at, actor, credential, interface, source, action, app, object, outcome, job, meta, prev, hash) VALUES (13, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, NULL, ?, ?, ?)')
        .run(forged.at, forged.actor, forged.credential, forged.interface, forged.action, forged.object, forged.outcome, forged.meta, forged.prev, entryHash(forged));
    });
    const v = verifyAudit(f.config, f.store);
    assert.equal(v.ok, false);
    assert.deepEqual([v.broken?.seq, v.broken?.kind], [13, 'inserted'], v.broken?.message);
  });
});

test('a removed entry is named, and a run of them', () => {
  withLog(30, (f) => {
    sql(f, 'DELETE FROM audit WHERE seq = 9');
    const v = verifyAudit(f.config, f.store);
    assert.deepEqual([v.ok, v.broken?.seq, v.broken?.kind], [false, 9, 'removed']);
    assert.equal(v.broken?.message, 'Entry 9 was removed.');
    sql(f, 'DELETE FROM audit WHERE seq BETWEEN 10 AND 12');
    assert.equal(verifyAudit(f.config, f.store).broken?.message, 'Entry 9 was removed (entries 9 to 12 are missing).');
  });
});

test('the first entries removed, or the newest ones past a checkpoint, are named too', () => {
  withLog(20, (f) => {
    const c = writeCheckpoint(f.config, f.store, f.audit)!;
    assert.equal(c.seq, 20);
    for (let i = 0; i < 5; i++) f.audit.record({ actor: 'alice', interface: 'api', action: 'POST /apps', outcome: 'ok' });
    const v0 = verifyAudit(f.config, f.store);
    assert.deepEqual([v0.ok, v0.checkpoints, v0.lastCheckpoint?.seq], [true, 1, 20]);
    // Cut the chain back to before the checkpoint: its entry goes too, but the file outside the database remembers it.
    sql(f, 'DELETE FROM audit WHERE seq >= 19');
    const v = verifyAudit(f.config, f.store);
    assert.deepEqual([v.ok, v.broken?.seq, v.broken?.kind], [false, 19, 'removed']);
    assert.match(v.broken!.message, /the chain ends at 18, but the checkpoint of .* signed entry 20/);
  });
  withLog(10, (f) => {
    sql(f, 'DELETE FROM audit WHERE seq <= 3');
    const v = verifyAudit(f.config, f.store);
    assert.deepEqual([v.broken?.seq, v.broken?.kind], [1, 'removed']);
  });
});

test('a chain rewritten from an entry on (every hash recomputed) is caught by the checkpoint that signed it', () => {
  withLog(30, (f) => {
    writeCheckpoint(f.config, f.store, f.audit);
    for (let i = 0; i < 3; i++) f.audit.record({ actor: 'bob', interface: 'ssh', action: 'ps:scale', app: 'shop', outcome: 'ok' });
    // Rewrite from 11 to the head, so every entry's hash and prev agree again.
    let prev = f.store.audit.get(10)!.hash;
    const rows = f.store.audit.after(10, 1000).map((r) => (r.seq === 11 ? { ...r, actor: 'mallory' } : r));
    tamper(f, (db) => {
      for (const r of rows) {
        const hash = entryHash({ ...r, prev });
        db.prepare('UPDATE audit SET actor = ?, prev = ?, hash = ? WHERE seq = ?').run(r.actor, prev, hash, r.seq);
        prev = hash;
      }
    });
    const v = verifyAudit(f.config, f.store);
    assert.equal(v.ok, false);
    assert.deepEqual([v.broken?.seq, v.broken?.kind], [1, 'rewritten'], v.broken?.message);
    assert.match(v.broken!.message, /signed another hash for entry 30/);
  });
});

test('a forged checkpoint (signed with another key) is refused', () => {
  withLog(5, (f) => {
    writeCheckpoint(f.config, f.store, f.audit);
    rmSync(join(f.config.dataDir, 'audit_ed25519_key'));
    ensureAuditKey(f.config);
    const v = verifyAudit(f.config, f.store);
    assert.deepEqual([v.ok, v.broken?.kind], [false, 'forged-checkpoint']);
  });
});

test('pruning deletes the old entries behind a recorded anchor; the chain still verifies, and a forged anchor does not', () => {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const clock = () => new Date(t += 60_000);
  withLog(20, (f) => {
    const cutoff = new Date(f.store.audit.get(12)!.at);
    // Entries up to 12 are more than a day older than "now".
    const removed = pruneAudit(f.store, f.audit, 86_400_000, new Date(cutoff.getTime() + 86_400_000 + 30_000));
    assert.equal(removed, 12);
    const v = verifyAudit(f.config, f.store);
    assert.equal(v.ok, true, v.broken?.message);
    assert.deepEqual([v.prunedUpTo, v.first, v.head?.seq], [12, 13, 21]);
    assert.equal(f.store.audit.get(21)?.action, 'audit:prune');
    // Deleting more by hand behind an anchor of one's own is caught: no entry announced it.
    const h = f.store.audit.get(15)!.hash;
    tamper(f, (db) => {
      db.prepare("INSERT INTO audit_pruned (upto, hash, at) VALUES (15, ?, 'now')").run(h);
      db.prepare('DELETE FROM audit WHERE seq <= 15').run();
    });
    const bad = verifyAudit(f.config, f.store);
    assert.deepEqual([bad.ok, bad.broken?.seq, bad.broken?.kind], [false, 15, 'removed']);
  }, clock);
});

test('a checkpoint is due on the first round, then once a day when entries came since', () => {
  withLog(3, (f) => {
    const now = new Date();
    assert.equal(checkpointDue(f.config, f.store, now), true);
    writeCheckpoint(f.config, f.store, f.audit, now);
    assert.equal(checkpointDue(f.config, f.store, new Date(now.getTime() + 2 * 86_400_000)), false);
    f.audit.record({ actor: 'alice', interface: 'ssh', action: 'apps:create', outcome: 'ok' });
    assert.equal(checkpointDue(f.config, f.store, new Date(now.getTime() + 3600_000)), false);
    assert.equal(checkpointDue(f.config, f.store, new Date(now.getTime() + 86_400_000)), true);
  });
});

test('entries keep config key names and never values; URLs lose their credentials', () => {
  assert.deepEqual(redactWords(['shop', 'DATABASE_URL=postgres://u:pw@db/x', '1BAD=secret', '--scope', 'read', '--format=jsonl', 'https://bot:ghp_secret@github.com/a/b.git']),
    ['shop', 'DATABASE_URL=…', '1BAD=…', '--scope', 'read', '--format=jsonl', 'https://…@github.com/a/b.git']);
  assert.deepEqual(bodyNames({ set: { A: 'secret', B: 'x' }, unset: ['C'], token: 'slw_secret' }), { set: ['A', 'B'], unset: true, token: true });
  assert.equal(bodyNames('text'), undefined);
});

test('--since takes a date, a time or an age, and refuses anything else in one sentence', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  assert.equal(parseSince('2h', now), '2026-12-05T10:00:00.000Z');
  assert.equal(parseSince('7d', now), '2026-11-28T12:00:00.000Z');
  assert.equal(parseSince('2026-12-01', now), '2026-12-01T00:00:00.000Z');
  assert.equal(parseSince('2026-12-01T10:00:00Z', now), '2026-12-01T10:00:00.000Z');
  assert.throws(() => parseSince('yesterday', now), /^UsageError: --since takes a date or time/);
});

test('a listener gets every entry once stored (the seam for an off-box copy); one that throws does not stop the recording', () => {
  withLog(0, (f) => {
    const seen: number[] = [];
    const stop = f.audit.onEntry((r) => seen.push(r.seq));
    f.audit.onEntry(() => { throw new Error('drain down'); });
    f.audit.record({ actor: 'alice', interface: 'ssh', action: 'apps:create', outcome: 'ok' });
    f.audit.record({ actor: 'alice', interface: 'ssh', action: 'apps:destroy', outcome: 'ok' });
    stop();
    f.audit.record({ actor: 'alice', interface: 'ssh', action: 'apps:create', outcome: 'ok' });
    assert.deepEqual(seen, [1, 2]);
    assert.equal(f.store.audit.count(), 3);
  });
});
