// Token scopes: the order of the scopes, a token's effective scope (never above its key), and the
// migration that gives tokens made before scopes their key's rights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../server/store/index.ts';
import { withStore } from '../support/store.ts';
import { allows, isScope, keyScope, lowerScope } from '../../server/auth/scopes.ts';
import { tokenIdentity, bearerToken } from '../../server/transport/http/auth.ts';
import { hashToken } from '../../server/store/tokens.ts';
import type { Services } from '../../server/context.ts';

test('scopes are ordered read < deploy < admin', () => {
  assert.ok(allows('admin', 'deploy') && allows('deploy', 'read') && allows('read', 'read'));
  assert.ok(!allows('read', 'deploy') && !allows('deploy', 'admin'));
  assert.equal(lowerScope('admin', 'deploy'), 'deploy');
  assert.equal(lowerScope('read', 'admin'), 'read');
  assert.equal(keyScope(true), 'admin');
  assert.equal(keyScope(false), 'deploy');
  assert.ok(isScope('read') && !isScope('root') && !isScope('constructor'));
});

test('Bearer tokens are read from the header; anything else is no token', () => {
  assert.equal(bearerToken('Bearer slw_abc-_123'), 'slw_abc-_123');
  assert.equal(bearerToken('bearer slw_abc'), 'slw_abc');
  assert.equal(bearerToken('Basic eDp5'), undefined);
  assert.equal(bearerToken('Bearer '), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});


test("a token acts with the lower of its scope and its key's rights, as the store has them now", () => {
  withStore((store) => {
    store.keys.add({ name: 'boss', fingerprint: 'SHA256:a', type: 'ssh-ed25519', publicKey: 'AAAA', admin: true });
    store.keys.add({ name: 'dev', fingerprint: 'SHA256:b', type: 'ssh-ed25519', publicKey: 'BBBB', admin: false });
    store.tokens.add('all', 'boss', 'slw_boss_all', Infinity, 'admin');
    store.tokens.add('ci', 'boss', 'slw_boss_ci', Infinity, 'deploy');
    store.tokens.add('look', 'dev', 'slw_dev_look', Infinity, 'read');
    // A row that says admin for a non-admin key (the key was demoted since): the key's rights win.
    store.tokens.add('old', 'dev', 'slw_dev_old', Infinity, 'admin');
    const services = { store } as unknown as Services;
    assert.deepEqual(tokenIdentity(services, 'slw_boss_all'), { name: 'boss', admin: true, via: 'http', scope: 'admin', allApps: true, token: hashToken('slw_boss_all') });
    assert.deepEqual(tokenIdentity(services, 'slw_boss_ci'), { name: 'boss', admin: false, via: 'http', scope: 'deploy', allApps: true, token: hashToken('slw_boss_ci') });
    assert.deepEqual(tokenIdentity(services, 'slw_dev_look'), { name: 'dev', admin: false, via: 'http', scope: 'read', allApps: false, token: hashToken('slw_dev_look') });
    assert.deepEqual(tokenIdentity(services, 'slw_dev_old'), { name: 'dev', admin: false, via: 'http', scope: 'deploy', allApps: false, token: hashToken('slw_dev_old') });
    assert.equal(tokenIdentity(services, 'slw_nope'), undefined);
    assert.equal(tokenIdentity(services, ''), undefined);
  });
});

test('tokens made before scopes keep their rights: admin for an admin key, deploy for any other', () => {
  withStore((store, file) => {
    store.keys.add({ name: 'boss', fingerprint: 'SHA256:a', type: 'ssh-ed25519', publicKey: 'AAAA', admin: true });
    store.keys.add({ name: 'dev', fingerprint: 'SHA256:b', type: 'ssh-ed25519', publicKey: 'BBBB', admin: false });
    // The database as it was before the scope column (schema 11): drop it and what later schemas
    // added (scheduled tasks, 12; volumes, 13; dashboard sessions, 14; release provenance, 15; warm rollback, 16; syncs, 17; previews, 18; token parents, 19; the audit log, 24; OpenID Connect bindings, 29; sleeping apps, 30), and step the schema version back.
    const version = store.db.pragma('user_version', { simple: true }) as number;
    store.db.exec('DROP TABLE canary_settings; DROP TABLE autoscale; DROP TABLE wakes; ALTER TABLE apps DROP COLUMN sleep_seconds; ALTER TABLE apps DROP COLUMN asleep_since; DROP TABLE oidc_bindings; DROP TABLE drains; DROP TABLE audit_pruned; DROP TABLE audit; DROP TABLE data_retiring; DROP TABLE data_drills; DROP TABLE data_ca; DROP TABLE data_services; DROP TABLE previews; DROP TABLE preview_settings; DROP TABLE hook_deliveries; DROP TABLE syncs; ALTER TABLE releases DROP COLUMN runs_as; ALTER TABLE apps DROP COLUMN warm_seconds; ALTER TABLE releases DROP COLUMN created_by; ALTER TABLE releases DROP COLUMN config_changes; DROP TABLE sessions; DROP TABLE login_codes; DROP TABLE volumes; DROP TABLE cron_suspended; ALTER TABLE releases DROP COLUMN cron; ' +
      // Schema 19's parent column is in a foreign key, which DROP COLUMN refuses: the table is made again as schema 10 had it.
      'DROP INDEX tokens_by_parent; CREATE TABLE tokens_v10 (key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, ' +
      'created_at TEXT NOT NULL, last_used_at TEXT, PRIMARY KEY (key_name, name)); DROP TABLE tokens; ALTER TABLE tokens_v10 RENAME TO tokens');
    store.db.pragma('user_version = 10');
    const insert = store.db.prepare("INSERT INTO tokens (name, hash, key_name, created_at) VALUES (?, ?, ?, '2026-01-01T00:00:00.000Z')");
    insert.run('laptop', 'h1', 'boss');
    insert.run('ci', 'h2', 'dev');
    store.close();
    const again = openStore(file);
    try {
      assert.equal(again.db.pragma('user_version', { simple: true }), version);
      assert.deepEqual(again.tokens.list().map((t) => [t.keyName, t.name, t.scope]), [['boss', 'laptop', 'admin'], ['dev', 'ci', 'deploy']]);
    } finally {
      again.close();
    }
    // withStore closes the first handle once more; closing a closed handle does nothing.
  });
});
