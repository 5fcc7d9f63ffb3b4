// Records a store at every schema version, for test/unit/store-migrations.test.ts: for each N from 1
// to SCHEMA_VERSION, test/fixtures/stores/schema-N.sql holds the tables MIGRATIONS[0..N) make and
// the same few rows in each (an app with releases and config, keys, tokens, domains, volumes,
// previews, jobs, databases, … as far as schema N has them), written with plain SQL valid at N.
// A fixture is recorded once, when its schema is the newest, and then kept: the test migrates it
// with whatever the migrations have become, which is what a server upgraded from that version does.
// So the script only writes the fixtures that are missing; --rewrite N records one again (only
// for a schema that never shipped).
//   node scripts/record-store-fixtures.ts [--rewrite N]
//
// It uses node:sqlite, not the store's driver: the fixtures are written by a different hand from
// the code they test. A fixture is an SQL text, not a database file, so a review reads it and
// a diff shows what changed.
import { DatabaseSync } from 'node:sqlite';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from '../server/store/db.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Where the fixtures are kept. */
export const FIXTURE_DIR = join(ROOT, 'test', 'fixtures', 'stores');

/** The fixture file of schema `n`. */
export const fixtureFile = (n: number): string => join(FIXTURE_DIR, `schema-${n}.sql`);

const T0 = '2026-11-20T10:00:00.000Z';
const T1 = '2026-11-21T11:30:00.000Z';
const T2 = '2026-11-22T12:45:00.000Z';
/** sha256 of the tokens `tok-alice-ci`, `tok-bob-laptop` and `tok-alice-child` (what tokens.add stores). */
const HASH_ALICE = 'b0ba7c69c2f38fd487d046ce0835a36552691913dcd11e433789a0cd79bb4e71';
const HASH_BOB = '306a41f49b7d3cf394e58f350d566365e6ce9ca759ab99c2e71e7cc45b82e28a';
const HASH_CHILD = 'f20e47c94cb20db30530e9ec4d0107770be0c0455cb63c24f84b95df4441ba75';

type Value = string | number | null;

/**
 * An audit entry chained as docs/audit.md says, computed here by its own hand: SHA-256 of the
 * previous hash, a newline, and the JSON array of the entry's fields in their order.
 */
function auditEntry(e: Record<string, Value>): Record<string, Value> {
  const fields = ['seq', 'at', 'actor', 'credential', 'interface', 'source', 'action', 'app', 'object', 'outcome', 'job', 'meta'].map((k) => e[k]);
  return { ...e, hash: createHash('sha256').update(`${e.prev}\n${JSON.stringify(fields)}`).digest('hex') };
}
const AUDIT_1 = auditEntry({ seq: 1, at: T1, actor: 'alice', credential: 'key', interface: 'ssh', source: '192.0.2.1', action: 'config:set', app: 'shop', object: 'GREETING=…', outcome: 'ok', job: null, meta: '{"words":["shop","GREETING=…"]}', prev: '0'.repeat(64) });
const AUDIT_2 = auditEntry({ seq: 2, at: T2, actor: 'bob', credential: 'token laptop', interface: 'git', source: '198.51.100.2', action: 'push', app: 'blog', object: null, outcome: 'denied', job: null, meta: '{"transport":"http"}', prev: AUDIT_1.hash! });

/**
 * The rows every fixture holds, by table, with the columns of the newest schema; a fixture at N
 * keeps the tables and columns that exist at N (a column added later then takes its default
 * when the store migrates). A row with a value an older schema refuses (a job origin added by
 * schema 17) says since when it exists. Order matters: a row comes after the rows it refers to.
 */
const ROWS: [table: string, row: Record<string, Value>, since?: number][] = [
  ['keys', { name: 'alice', fingerprint: 'SHA256:alice0000000000000000000000000000000000000', type: 'ssh-ed25519', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop', admin: 1, created_at: T0 }],
  ['keys', { name: 'bob', fingerprint: 'SHA256:bob00000000000000000000000000000000000000000', type: 'ssh-ed25519', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBob bob@desk', admin: 0, created_at: T0 }],
  ['apps', { name: 'shop', deploy_branch: 'main', builder: null, created_at: T0, lock_owner: null, lock_pid: null, lock_at: null, lock_started: null, certs_auto: 1, warm_seconds: 120, sleep_seconds: 0, asleep_since: null }],
  ['apps', { name: 'blog', deploy_branch: null, builder: 'pack', created_at: T1, lock_owner: 'push by bob', lock_pid: 4242, lock_at: T2, lock_started: '123456', certs_auto: 0, warm_seconds: null }],
  ['apps', { name: 'shop--feature-login-1a2b3c', deploy_branch: null, builder: null, created_at: T2, lock_owner: null, lock_pid: null, lock_at: null, lock_started: null, certs_auto: 1, warm_seconds: null, sleep_seconds: 600, asleep_since: T2 }],
  ['config', { app: 'shop', key: 'DATABASE_URL', value: 'postgres://shop:pw@db:5432/shop' }],
  ['config', { app: 'shop', key: 'GREETING', value: 'héllo "world"\nsecond line; $HOME `x`' }],
  ['config', { app: 'blog', key: 'EMPTY', value: '' }],
  ['grants', { app: 'blog', key_name: 'bob' }],
  ['tokens', { name: 'ci', hash: HASH_ALICE, key_name: 'alice', created_at: T0, last_used_at: T1, scope: 'admin', parent: null }],
  ['tokens', { name: 'laptop', hash: HASH_BOB, key_name: 'bob', created_at: T1, last_used_at: null, scope: 'read', parent: null, expires_at: '2099-01-01T00:00:00.000Z' }],
  ['tokens', { name: 'child', hash: HASH_CHILD, key_name: 'alice', created_at: T2, last_used_at: null, scope: 'deploy', parent: HASH_ALICE }],
  ['releases', {
    app: 'shop', version: 1, description: 'Deploy 1111111', commit_sha: '1111111111111111111111111111111111111111', image: 'registry.local/shop@sha256:aaaa',
    processes: '[{"type":"web","command":["web"],"args":[],"default":true}]', config: '{"GREETING":"hi"}', status: 'succeeded', created_at: T0, finished_at: T0,
    checks: '{"web":[{"type":"startup","path":"/health"}]}', image_collected_at: T2, config_pruned_at: T2, cron: '[{"id":"nightly","command":"rake cleanup","schedule":"@daily"}]',
    created_by: 'alice', config_changes: null, runs_as: null,
  }],
  ['releases', {
    app: 'shop', version: 2, description: 'Set DATABASE_URL', commit_sha: '1111111111111111111111111111111111111111', image: 'registry.local/shop@sha256:aaaa',
    processes: '[{"type":"web","command":["web"],"args":[],"default":true},{"type":"worker","command":["worker"],"args":[],"default":false}]',
    config: '{"DATABASE_URL":"postgres://shop:pw@db:5432/shop","GREETING":"héllo \\"world\\"\\nsecond line; $HOME `x`"}', status: 'succeeded', created_at: T1, finished_at: T1,
    checks: '{}', image_collected_at: null, config_pruned_at: null, cron: '[]', created_by: 'bob', config_changes: '{"added":["DATABASE_URL"],"changed":["GREETING"],"removed":[]}', runs_as: 1,
  }],
  ['releases', {
    app: 'blog', version: 1, description: 'Deploy 2222222', commit_sha: '2222222222222222222222222222222222222222', image: null,
    processes: '[]', config: '{}', status: 'failed', created_at: T1, finished_at: null,
    checks: '{}', image_collected_at: null, config_pruned_at: null, cron: '[]', created_by: null, config_changes: null, runs_as: null,
  }],
  ['formation', { app: 'shop', process: 'web', quantity: 2 }],
  ['formation', { app: 'shop', process: 'worker', quantity: 1 }],
  ['domains', { host: 'www.shop.example', app: 'shop', created_at: T1 }],
  ['builds', { id: 1, app: 'shop', commit_sha: '1111111111111111111111111111111111111111', status: 'succeeded', log_file: 'builds/shop/1.log', image: 'registry.local/shop@sha256:aaaa', started_at: T0, finished_at: T0 }],
  ['builds', { id: 2, app: 'blog', commit_sha: '2222222222222222222222222222222222222222', status: 'failed', log_file: 'builds/blog/2.log', image: null, started_at: T1, finished_at: T1 }],
  ['settings', { key: 'example', value: '{"recorded":true}' }],
  ['checks', { app: 'shop', process: 'web', type: 'liveness', spec: '{"type":"liveness","path":"/alive","port":5000}' }],
  ['resources', { app: 'shop', process: '*', kind: 'limit', memory: '512Mi', cpu: '500m', memory_max: '1Gi', cpu_max: null, max_set_by: 'alice' }],
  ['resources', { app: 'shop', process: 'worker', kind: 'reserve', memory: '128Mi', cpu: null, memory_max: null, cpu_max: null, max_set_by: null }],
  ['stopped', { app: 'blog', process: 'worker' }],
  ['certs', { app: 'blog', host: 'blog.example', cert_pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', key_pem: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n', created_at: T1 }],
  ['quotas', { app: 'shop', pods: 8, memory: '4Gi', cpu: null, set_by: 'alice', set_at: T1 }],
  ['egress', { app: 'shop', cidr: '10.20.0.0/16', port: 5432, created_at: T1 }],
  ['egress', { app: 'shop', cidr: '192.0.2.7/32', port: 0, created_at: T2 }],
  ['jobs', { id: 'job-shop-1', kind: 'deploy', app: 'shop', by_key: 'alice', origin: 'push', status: 'succeeded', created_at: T0, started_at: T0, finished_at: T0, release: 1, error: null, log_file: 'jobs/shop/job-shop-1.log' }],
  ['jobs', { id: 'job-blog-1', kind: 'config:set', app: 'blog', by_key: 'bob', origin: 'http', status: 'failed', created_at: T1, started_at: T1, finished_at: T1, release: null, error: 'The rollout did not finish.', log_file: 'jobs/blog/job-blog-1.log', credential: 'token ci' }],
  ['cron_suspended', { app: 'shop', id: 'nightly', created_at: T2 }],
  ['volumes', { app: 'shop', name: 'uploads', size: '1Gi', storage_class: null, process: 'web', path: '/app/uploads', created_at: T1 }],
  ['volumes', { app: 'shop', name: 'cache', size: '256Mi', storage_class: 'local-path', process: null, path: null, created_at: T2 }],
  ['login_codes', { hash: 'c0de'.repeat(16), key_name: 'alice', created_at: 1795000000000, expires_at: 1795000060000 }],
  ['sessions', { hash: '5e55'.repeat(16), key_name: 'alice', token_hash: null, created_at: 1795000000000, seen_at: 1795000600000, expires_at: 1795043200000 }],
  ['sessions', { hash: '70ce'.repeat(16), key_name: 'bob', token_hash: HASH_BOB, created_at: 1795000000000, seen_at: 1795000000000, expires_at: 1795043200000 }],
  ['oidc_bindings', { claim: 'email', value: 'alice@example.com', key_name: 'alice', created_by: 'alice', created_at: T2 }],
  ['oidc_bindings', { claim: 'sub', value: '248289761001', key_name: 'bob', created_by: 'alice', created_at: T2 }],
  ['sessions', { hash: '0dc0'.repeat(16), key_name: 'alice', token_hash: null, created_at: 1795000000000, seen_at: 1795000000000, expires_at: 1795043200000, oidc_claim: 'email', oidc_value: 'alice@example.com' }],
  ['syncs', {
    app: 'blog', url: 'https://git.example/blog.git', branch: 'main', public_key: null, webhook_secret: 'whsec-blog', poll_seconds: 300, polled_at: 1795000000000,
    last_commit: '2222222222222222222222222222222222222222', fetched_at: T1, last_result: 'Deployed 2222222 as v1.', result_at: T1, set_by: 'bob', set_via: 'ssh', created_at: T1,
  }],
  ['hook_deliveries', { app: 'blog', id: 'delivery-1', received_at: 1795000000000 }],
  ['jobs', { id: 'job-blog-2', kind: 'sync', app: 'blog', by_key: 'bob', origin: 'webhook', status: 'running', created_at: T2, started_at: T2, finished_at: null, release: null, error: null, log_file: 'jobs/blog/job-blog-2.log' }, 17],
  ['preview_settings', { app: 'shop', enabled: 1, max_previews: 3, ttl_seconds: 86400, shared_keys: '["GREETING"]', fork_db: 1 }],
  ['previews', { app: 'shop--feature-login-1a2b3c', parent: 'shop', branch: 'feature/login', commit_sha: '3333333333333333333333333333333333333333', pushed_at: T2, created_at: T2 }],
  ['data_services', {
    app: 'shop', name: 'shop-db', kind: 'postgres', version: '17', size: '1Gi', storage_class: null, attachment: 'DATABASE_URL', username: 'shop', password: 'pw',
    tls_key: '-----BEGIN PRIVATE KEY-----\nDB\n-----END PRIVATE KEY-----\n', tls_cert: '-----BEGIN CERTIFICATE-----\nDB\n-----END CERTIFICATE-----\n', created_at: T1, last_backup_at: T2, owner: 'shop-owner', backup_at: '02:00',
  }],
  ['data_ca', { app: 'shop', key: '-----BEGIN PRIVATE KEY-----\nCA\n-----END PRIVATE KEY-----\n', cert: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n' }],
  ['data_drills', { app: 'shop', name: 'shop-db', at: T2, ok: 1, step: null, message: 'Restored and checked.', rpo_s: 1.5, rto_ms: 42000 }],
  ['data_retiring', { app: 'shop', name: 'shop-db', username: 'shop-old', since: T2 }],
  ['audit', AUDIT_1],
  ['audit', AUDIT_2],
  ['drains', { id: '0d0d0d0d-1111-4222-8333-444455556666', app: 'shop', url: 'syslog+tls://logs.example:6514', headers: '{}', created_by: 'bob', created_at: T1, sent_seen: 42, last_ok_at: T2 }],
  ['drains', { id: '0e0e0e0e-1111-4222-8333-444455556666', app: null, url: 'otlp+https://otel.example/v1/logs', headers: '{"X-Team":"ops"}', created_by: 'alice', created_at: T2, sent_seen: 0, last_ok_at: null }],
  ['wakes', { app: 'shop--feature-login-1a2b3c', asleep_since: T1, started_at: T2, trigger: 'request', ready_ms: 2400, error: null }],
  ['autoscale', { app: 'shop', process: 'web', min: 1, max: 4, cpu: 70, memory: null }],
  ['autoscale', { app: 'shop', process: 'worker', min: 2, max: 3, cpu: 60, memory: 80 }],
  ['canary_settings', { app: 'shop', steps: '[10,50,100]', step_seconds: 300, error_points: 1, p95_ms: 100, set_by: 'alice', set_at: T2 }],
];

/**
 * The first schema whose secret values are sealed (the migration that seals them is the first one
 * that is a function), and the key the fixtures from then on are sealed with: a fixed key, kept
 * beside the fixtures (test/fixtures/store-keys/), so that a fixture stays the same text.
 */
export const SEALED_SINCE = MIGRATIONS.findIndex((m) => typeof m !== 'string') + 1;
export const FIXTURE_KEY = Buffer.alloc(32, 7);
export const FIXTURE_KEY_ID = createHash('sha256').update('slipway store key\0').update(FIXTURE_KEY).digest('hex').slice(0, 16);
export const FIXTURE_KEY_DIR = join(ROOT, 'test', 'fixtures', 'store-keys');

/**
 * The secret columns as this script knows them (written apart from server/store/secrets.ts): the
 * table, the column, and the columns naming the row, which make the associated data.
 */
const SECRETS: [table: string, column: string, rowKey: string[], since?: number][] = [
  ['config', 'value', ['app', 'key']],
  ['releases', 'config', ['app', 'version']],
  ['data_services', 'password', ['app', 'name']],
  ['data_services', 'tls_key', ['app', 'name']],
  ['data_ca', 'key', ['app']],
  ['certs', 'key_pem', ['app', 'host']],
  ['syncs', 'webhook_secret', ['app']],
  ['drains', 'url', ['id'], 28],
  ['drains', 'headers', ['id'], 28],
];

/**
 * Seals the secret columns of `db` as a store of schema SEALED_SINCE or later holds them:
 * `sealed:v1:KEYID:BASE64(nonce ‖ AES-256-GCM ciphertext ‖ tag)`, the associated data naming the
 * format and key, the column and the row. The nonce comes from a hash of the value and its row,
 * so the fixture is the same text each time it is recorded (a store's nonces are random).
 */
function sealSecrets(db: DatabaseSync, n: number): void {
  for (const [table, column, rowKey, since = SEALED_SINCE] of SECRETS) {
    if (n < since) continue;
    const rows = db.prepare(`SELECT rowid AS rowid_, ${rowKey.join(', ')}, ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL`).all() as Record<string, string | number>[];
    for (const r of rows) {
      const aad = Buffer.from([`sealed:v1:${FIXTURE_KEY_ID}`, `${table}.${column}`, ...rowKey.map((k) => String(r[k]))].join('\0'));
      const nonce = createHash('sha256').update(aad).update(String(r.v)).digest().subarray(0, 12);
      const cipher = createCipheriv('aes-256-gcm', FIXTURE_KEY, nonce).setAAD(aad);
      const body = Buffer.concat([nonce, cipher.update(String(r.v), 'utf8'), cipher.final(), cipher.getAuthTag()]);
      db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`).run(`sealed:v1:${FIXTURE_KEY_ID}:${body.toString('base64')}`, r.rowid_!);
    }
  }
  db.prepare("INSERT INTO settings (key, value) VALUES ('store_key', ?)").run(FIXTURE_KEY_ID);
}

/** The schema MIGRATIONS[0..n) make, in a new in-memory database (a function migration changes no table). */
export function migratedTo(n: number): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  for (let v = 0; v < n; v++) {
    const m = MIGRATIONS[v]!;
    if (typeof m === 'string') db.exec(m);
  }
  db.exec(`PRAGMA user_version = ${n}`);
  return db;
}

/** The columns each table has in `db`. */
function columnsOf(db: DatabaseSync): Map<string, Set<string>> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  return new Map(tables.map(({ name }) => [name, new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[]).map((c) => c.name))]));
}

/** The inserts of ROWS valid at the schema of `db`: tables it has, columns it has. */
function inserts(db: DatabaseSync): string[] {
  const columns = columnsOf(db);
  const out: string[] = [];
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  for (const [table, row, since = 1] of ROWS) {
    const have = columns.get(table);
    if (!have || version < since) continue;
    const keys = Object.keys(row).filter((k) => have.has(k));
    const values = keys.map((k) => (db.prepare('SELECT quote(?) AS q').get(row[k]) as { q: string }).q);
    out.push(`INSERT INTO ${table} (${keys.join(', ')}) VALUES (${values.join(', ')});`);
  }
  return out;
}

/**
 * The text of a store: its user_version, its schema as SQLite keeps it (sqlite_master, in the
 * order it was made) and every row, as SQL that makes the same database again.
 */
export function dump(db: DatabaseSync): string {
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  const objects = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid").all() as { type: string; name: string; sql: string }[];
  const lines = [`PRAGMA user_version = ${version};`, 'BEGIN;'];
  for (const o of objects.filter((x) => x.type === 'table')) lines.push(`${o.sql};`);
  for (const o of objects.filter((x) => x.type === 'table')) {
    const cols = (db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(o.name) as { name: string }[]).map((c) => c.name);
    const quoted = cols.map((c) => `quote("${c}")`).join(" || ', ' || ");
    for (const r of db.prepare(`SELECT ${quoted} AS v FROM "${o.name}" ORDER BY rowid`).all() as { v: string }[]) {
      lines.push(`INSERT INTO ${o.name} (${cols.join(', ')}) VALUES (${r.v});`);
    }
  }
  const hasSequence = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get();
  if (hasSequence) {
    lines.push('DELETE FROM sqlite_sequence;');
    for (const s of db.prepare('SELECT name, seq FROM sqlite_sequence ORDER BY name').all() as { name: string; seq: number }[]) {
      lines.push(`INSERT INTO sqlite_sequence (name, seq) VALUES ('${s.name}', ${s.seq});`);
    }
  }
  for (const o of objects.filter((x) => x.type !== 'table')) lines.push(`${o.sql};`);
  lines.push('COMMIT;');
  return lines.join('\n') + '\n';
}

/** The fixture text of schema `n`: MIGRATIONS[0..n) applied, ROWS inserted, dumped. */
export function record(n: number): string {
  const db = migratedTo(n);
  try {
    db.exec('BEGIN');
    for (const sql of inserts(db)) db.exec(sql);
    if (SEALED_SINCE > 0 && n >= SEALED_SINCE) sealSecrets(db, n);
    db.exec('COMMIT');
    const problems = db.prepare('PRAGMA foreign_key_check').all();
    if (problems.length) throw new Error(`schema ${n}: the rows break a foreign key: ${JSON.stringify(problems)}`);
    return `-- A Slipway store at schema ${n}, recorded by scripts/record-store-fixtures.ts; kept as it is (run the script, do not edit).\n` + dump(db);
  } finally {
    db.close();
  }
}

function main(argv: readonly string[]): void {
  const at = argv.indexOf('--rewrite');
  const rewrite = at >= 0 ? Number(argv[at + 1]) : undefined;
  if (rewrite !== undefined && !(Number.isInteger(rewrite) && rewrite >= 1 && rewrite <= SCHEMA_VERSION)) {
    console.error(`--rewrite takes a schema version from 1 to ${SCHEMA_VERSION}.`);
    process.exitCode = 2;
    return;
  }
  mkdirSync(FIXTURE_DIR, { recursive: true });
  mkdirSync(FIXTURE_KEY_DIR, { recursive: true });
  const keyFile = join(FIXTURE_KEY_DIR, `store-${FIXTURE_KEY_ID}.key`);
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${FIXTURE_KEY.toString('base64')}\n`);
  for (let n = 1; n <= SCHEMA_VERSION; n++) {
    const file = fixtureFile(n);
    if (existsSync(file) && n !== rewrite) continue;
    writeFileSync(file, record(n));
    console.log(`recorded ${file}`);
  }
}

if (import.meta.main) main(process.argv.slice(2));
