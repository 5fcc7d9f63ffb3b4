// Secrets at rest (issue 38, section 3): the store's secret values are sealed with AES-256-GCM under
// a key outside the database (server/store/sealing.ts), bound to their row, and secrets:rotate-key
// moves every one to a new key in one transaction (server/store/secrets.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore, type Store } from '../../server/store/index.ts';
import { keyId, Sealer } from '../../server/store/sealing.ts';
import { SECRET_COLUMNS } from '../../server/store/secrets.ts';

const dirs: string[] = [];
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-sealed-'));
  dirs.push(dir);
  return dir;
}

const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n';

/** A store with one secret of every kind. */
function filled(dir = tempDir()): { file: string; s: Store } {
  const file = join(dir, 'slipway.db');
  const s = openStore(file);
  s.apps.create('shop');
  s.apps.create('blog');
  s.config.change('shop', { DATABASE_URL: 'postgres://u:hunter2@db/shop', EMPTY: '', UNICODE: 'héllo\nwörld' });
  s.config.change('blog', { TOKEN: 'blog-token-value' });
  s.releases.create({ app: 'shop', description: 'Set config', commit: null, image: null, processes: [], config: s.config.all('shop') });
  s.data.add('shop', { name: 'shop-db', kind: 'postgres', version: '17', size: '1Gi', storageClass: null, attachment: 'DATABASE_URL', username: 'u1', password: 'db-password-1', tlsKey: PEM_KEY, tlsCert: 'CERT' });
  s.data.keepCa('shop', { key: PEM_KEY, cert: 'CA CERT' });
  s.certs.upload('blog', ['blog.example'], 'CERT', PEM_KEY);
  s.syncs.set({ app: 'blog', url: 'https://git.example/blog.git', branch: 'main', publicKey: null, setBy: 'alice', setVia: 'ssh' });
  s.syncs.setSecret('blog', 'whsec-value');
  s.drains.add({ id: '0d0d0d0d-1111-4222-8333-444455556666', app: 'shop', url: 'https://logs:drain-pass@logs.example/ingest', headers: {}, createdBy: 'alice' });
  s.drains.add({ id: '0e0e0e0e-1111-4222-8333-444455556666', app: null, url: 'otlp+https://otel.example/v1/logs', headers: { Authorization: 'Bearer otel-key' }, createdBy: 'alice' });
  return { file, s };
}

/** Every secret `filled` stored, read back through the store. */
function readAll(s: Store) {
  return {
    shop: s.config.all('shop'), blog: s.config.all('blog'), release: s.releases.get('shop', 1)?.config,
    db: s.data.get('shop', 'shop-db') && [s.data.get('shop', 'shop-db')!.password, s.data.get('shop', 'shop-db')!.tlsKey],
    ca: s.data.ca('shop')?.key, cert: s.certs.uploaded('blog')[0]?.keyPem, hook: s.syncs.get('blog')?.webhookSecret,
    drains: s.drains.all().map((d) => [d.url, d.headers]),
  };
}

const EXPECTED = {
  shop: { DATABASE_URL: 'postgres://u:hunter2@db/shop', EMPTY: '', UNICODE: 'héllo\nwörld' }, blog: { TOKEN: 'blog-token-value' },
  release: { DATABASE_URL: 'postgres://u:hunter2@db/shop', EMPTY: '', UNICODE: 'héllo\nwörld' },
  db: ['db-password-1', PEM_KEY], ca: PEM_KEY, cert: PEM_KEY, hook: 'whsec-value',
  drains: [['otlp+https://otel.example/v1/logs', { Authorization: 'Bearer otel-key' }], ['https://logs:drain-pass@logs.example/ingest', {}]],
};

/** The raw texts of every secret column. */
function raw(s: Store): string[] {
  return [
    ...s.db.prepare<[], { v: string }>('SELECT value AS v FROM config').all(), ...s.db.prepare<[], { v: string }>('SELECT config AS v FROM releases').all(),
    ...s.db.prepare<[], { v: string }>('SELECT password AS v FROM data_services UNION ALL SELECT tls_key FROM data_services').all(),
    ...s.db.prepare<[], { v: string }>('SELECT key AS v FROM data_ca UNION ALL SELECT key_pem FROM certs UNION ALL SELECT webhook_secret FROM syncs').all(),
    ...s.db.prepare<[], { v: string }>('SELECT url AS v FROM drains UNION ALL SELECT headers FROM drains').all(),
  ].map((r) => r.v);
}

/** The file's bytes (and its WAL's), after a checkpoint: what a copy of the data directory holds. */
function fileBytes(s: Store, file: string): string {
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  return readFileSync(file).toString('latin1') + (existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`).toString('latin1') : '');
}

const PLAIN = ['hunter2', 'blog-token-value', 'db-password-1', 'SECRETKEYBYTES', 'whsec-value', 'wörld', 'drain-pass', 'otel-key'];

test('every secret round-trips through the store, and neither the columns nor the file hold one in clear', () => {
  const { file, s } = filled();
  try {
    assert.deepEqual(readAll(s), EXPECTED);
    const texts = raw(s);
    assert.equal(texts.length, 14);
    for (const t of texts) assert.match(t, /^sealed:v1:[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
    const bytes = fileBytes(s, file);
    for (const p of PLAIN) assert.ok(!bytes.includes(p), `the database file holds ${p} in clear`);
    // Two seals of the same value differ (a random nonce each).
    s.config.change('blog', { A: 'same', B: 'same' });
    const [a, b] = ['A', 'B'].map((k) => s.db.prepare<[string], { value: string }>("SELECT value FROM config WHERE app = 'blog' AND key = ?").get(k)!.value);
    assert.notEqual(a!.split(':')[3], b!.split(':')[3]);
    assert.deepEqual(SECRET_COLUMNS, ['config.value', 'releases.config', 'data_services.password', 'data_services.tls_key', 'data_ca.key', 'certs.key_pem', 'syncs.webhook_secret', 'drains.url', 'drains.headers']);
  } finally {
    s.close();
  }
});

test('the key is a file of its own, 0600 in a 0700 folder, made at the first start and named in the store', () => {
  const dir = tempDir();
  const { s } = filled(dir);
  try {
    const keys = join(dir, 'keys');
    assert.equal(statSync(keys).mode & 0o777, 0o700);
    const files = readdirSync(keys);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^store-[0-9a-f]{16}\.key$/);
    assert.equal(statSync(join(keys, files[0]!)).mode & 0o777, 0o600);
    const key = Buffer.from(readFileSync(join(keys, files[0]!), 'utf8').trim(), 'base64');
    assert.equal(key.length, 32);
    assert.equal(files[0], `store-${keyId(key)}.key`);
    assert.equal(s.settings.get('store_key'), keyId(key));
    assert.ok(raw(s).every((t) => t.startsWith(`sealed:v1:${keyId(key)}:`)));
  } finally {
    s.close();
  }
});

test('a value moved to another row, app or column does not open; a changed one neither', () => {
  const { s } = filled();
  try {
    const get = (app: string, key: string) => s.db.prepare<[string, string], { value: string }>('SELECT value FROM config WHERE app = ? AND key = ?').get(app, key)!.value;
    const put = (app: string, key: string, v: string) => s.db.prepare('UPDATE config SET value = ? WHERE app = ? AND key = ?').run(v, app, key);
    const url = get('shop', 'DATABASE_URL');
    // Swapped between two keys of one app.
    put('shop', 'EMPTY', url);
    assert.throws(() => s.config.all('shop'), /The config\.value of shop\/EMPTY in the store does not open with key [0-9a-f]{16}: it was changed, or moved from another row\./);
    put('shop', 'EMPTY', get('blog', 'TOKEN'));
    assert.throws(() => s.config.all('shop'), /does not open/);
    // Into another app.
    put('blog', 'TOKEN', url);
    assert.throws(() => s.config.all('blog'), /config\.value of blog\/TOKEN/);
    // Into another column: a database password as a webhook secret.
    const password = s.db.prepare<[], { password: string }>('SELECT password FROM data_services').get()!.password;
    s.db.prepare('UPDATE syncs SET webhook_secret = ?').run(password);
    assert.throws(() => s.syncs.get('blog'), /syncs\.webhook_secret of blog/);
    // One bit flipped.
    const flipped = Buffer.from(get('shop', 'DATABASE_URL').split(':')[3]!, 'base64');
    flipped[20]! ^= 1;
    put('shop', 'DATABASE_URL', `sealed:v1:${get('shop', 'DATABASE_URL').split(':')[2]}:${flipped.toString('base64')}`);
    put('shop', 'EMPTY', url);
    assert.throws(() => s.config.all('shop'), /does not open/);
    // A value in clear (written by hand) is refused, not served.
    put('shop', 'DATABASE_URL', 'postgres://plain');
    assert.throws(() => s.config.all('shop'), /is not sealed/);
  } finally {
    s.close();
  }
});

test('with another key the store is refused at open, and a value of an unknown key does not open', () => {
  const dir = tempDir();
  const { file, s } = filled(dir);
  s.close();
  const keys = join(dir, 'keys');
  const [name] = readdirSync(keys);
  const saved = readFileSync(join(keys, name!));
  // Another key in the folder: the one the store names is not there.
  rmSync(join(keys, name!));
  const other = randomBytes(32);
  writeFileSync(join(keys, `store-${keyId(other)}.key`), other.toString('base64'), { mode: 0o600 });
  assert.throws(() => openStore(file), /The store's secrets are sealed with key [0-9a-f]{16}, but .*keys\/store-[0-9a-f]{16}\.key is missing and SLIPWAY_STORE_KEY does not hold it: restore that file from a backup/);
  // A key file whose bytes are not its name's.
  writeFileSync(join(keys, name!), other.toString('base64'), { mode: 0o600 });
  assert.throws(() => openStore(file), /holds another key than its name says/);
  // The right key, readable by others: refused, not used.
  writeFileSync(join(keys, name!), saved, { mode: 0o600 });
  chmodSync(join(keys, name!), 0o644);
  assert.throws(() => openStore(file), /store-[0-9a-f]{16}\.key may be read by others than its owner \(mode 644\): chmod 600 it/);
  // Given in SLIPWAY_STORE_KEY instead of the folder: opens.
  rmSync(keys, { recursive: true });
  const s2 = openStore(file, { dir: keys, given: [saved.toString('utf8').trim()] });
  try {
    assert.deepEqual(readAll(s2), EXPECTED);
    assert.deepEqual(s2.secrets.status().keys, [{ id: name!.slice(6, 22), source: 'environment' }]);
    assert.equal(existsSync(keys), false, 'no key file is made when the key is given');
  } finally {
    s2.close();
  }
});

test('secrets:rotate-key seals every value with a new key, removes the old file after, and the store reopens', () => {
  const dir = tempDir();
  const { file, s } = filled(dir);
  const before = s.secrets.status();
  let after;
  try {
    const rotation = s.secrets.rotate();
    assert.equal(rotation.previous, before.current);
    assert.notEqual(rotation.key, before.current);
    assert.equal(rotation.values, 14);
    assert.deepEqual(rotation.removed, [before.current]);
    assert.deepEqual(readdirSync(join(dir, 'keys')), [`store-${rotation.key}.key`]);
    assert.ok(raw(s).every((t) => t.startsWith(`sealed:v1:${rotation.key}:`)));
    assert.deepEqual(readAll(s), EXPECTED);
    s.config.change('shop', { NEW: 'after rotation' });
    after = s.secrets.status();
    assert.deepEqual(after.values, { [rotation.key]: 15 });
  } finally {
    s.close();
  }
  const again = openStore(file);
  try {
    assert.deepEqual({ ...readAll(again), shop: undefined }, { ...EXPECTED, shop: undefined });
    assert.equal(again.config.all('shop').NEW, 'after rotation');
    assert.equal(again.secrets.status().current, after.current);
  } finally {
    again.close();
  }
});

test('a rotation that fails halfway leaves every value with the old key, readable, and the old key file in place', () => {
  const dir = tempDir();
  const { file, s } = filled(dir);
  const old = s.secrets.status().current;
  try {
    assert.throws(() => s.secrets.rotate((done) => { if (done === 6) throw new Error('injected failure after 6 values'); }), /injected failure/);
    assert.deepEqual(readdirSync(join(dir, 'keys')), [`store-${old}.key`], 'the new key, which no value names, is gone; the old one stays');
    assert.ok(raw(s).every((t) => t.startsWith(`sealed:v1:${old}:`)));
    assert.equal(s.secrets.status().current, old);
    assert.deepEqual(readAll(s), EXPECTED);
  } finally {
    s.close();
  }
  const again = openStore(file);
  try {
    assert.deepEqual(readAll(again), EXPECTED);
    // And the next rotation goes through.
    assert.equal(again.secrets.rotate().values, 14);
    assert.deepEqual(readAll(again), EXPECTED);
  } finally {
    again.close();
  }
});

test('a crash during a rotation (a process killed mid-way) leaves every value readable with one of the two key files', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = tempDir();
  const { file, s } = filled(dir);
  const old = s.secrets.status().current;
  s.close();
  // A separate process rotates and is killed (SIGKILL, no clean-up) after sealing 6 of 14 values
  // inside the transaction, or right after the commit (before the old key file is removed).
  const script = (at: 'mid' | 'committed') => `
    import { openStore } from ${JSON.stringify(new URL('../../server/store/index.ts', import.meta.url).pathname)};
    const s = openStore(${JSON.stringify(file)});
    const sealer = s.sealer;
    if (${JSON.stringify(at)} === 'committed') sealer.removeOthers = () => process.kill(process.pid, 'SIGKILL');
    s.secrets.rotate((done) => { if (${JSON.stringify(at)} === 'mid' && done === 6) process.kill(process.pid, 'SIGKILL'); });
  `;
  const mid = spawnSync(process.execPath, ['--input-type=module', '-e', script('mid')], { encoding: 'utf8' });
  assert.equal(mid.signal, 'SIGKILL', mid.stderr);
  let keys = readdirSync(join(dir, 'keys'));
  assert.equal(keys.length, 2, 'the new key file was written before the transaction and stays after the crash');
  let reopened = openStore(file);
  try {
    assert.deepEqual(readAll(reopened), EXPECTED);
    assert.equal(reopened.secrets.status().current, old, 'the transaction did not commit: the old key still seals');
    assert.ok(raw(reopened).every((t) => t.startsWith(`sealed:v1:${old}:`)));
  } finally {
    reopened.close();
  }
  const committed = spawnSync(process.execPath, ['--input-type=module', '-e', script('committed')], { encoding: 'utf8' });
  assert.equal(committed.signal, 'SIGKILL', committed.stderr);
  keys = readdirSync(join(dir, 'keys'));
  assert.ok(keys.includes(`store-${old}.key`) && keys.length === 3, 'killed before the old key files were removed');
  reopened = openStore(file);
  try {
    assert.deepEqual(readAll(reopened), EXPECTED);
    const now = reopened.secrets.status().current;
    assert.notEqual(now, old);
    assert.ok(raw(reopened).every((t) => t.startsWith(`sealed:v1:${now}:`)));
    // The next rotation tidies every key file but its own.
    const r = reopened.secrets.rotate();
    assert.deepEqual(readdirSync(join(dir, 'keys')), [`store-${r.key}.key`]);
    assert.deepEqual(readAll(reopened), EXPECTED);
  } finally {
    reopened.close();
  }
});

test('keys from SLIPWAY_STORE_KEY: the first seals, a second opens what it sealed; rotation moves everything to the first', () => {
  const dir = tempDir();
  const [k1, k2] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const file = join(dir, 'slipway.db');
  let s = openStore(file, { dir: join(dir, 'keys'), given: [k2] });
  s.apps.create('shop');
  s.config.change('shop', { A: 'sealed with k2' });
  s.close();
  s = openStore(file, { dir: join(dir, 'keys'), given: [k1, k2] });
  try {
    s.config.change('shop', { B: 'sealed with k1' });
    const ids = [keyId(Buffer.from(k1, 'base64')), keyId(Buffer.from(k2, 'base64'))];
    assert.deepEqual(s.secrets.status().values, { [ids[1]!]: 1, [ids[0]!]: 1 });
    const r = s.secrets.rotate();
    assert.deepEqual([r.key, r.previous, r.fromEnvironment, r.removed], [ids[0], ids[0], true, []]);
    assert.deepEqual(s.secrets.status().values, { [ids[0]!]: 2 });
    assert.equal(existsSync(join(dir, 'keys')), false, 'no key file is written for keys given in the environment');
  } finally {
    s.close();
  }
  s = openStore(file, { dir: join(dir, 'keys'), given: [k1] });
  try {
    assert.deepEqual(s.config.all('shop'), { A: 'sealed with k2', B: 'sealed with k1' });
  } finally {
    s.close();
  }
});

test('another process sees a key made by a rotation (the key folder is read again for an unknown key)', () => {
  const dir = tempDir();
  const { file, s } = filled(dir);
  const reader = openStore(file);
  try {
    s.secrets.rotate();
    assert.deepEqual(readAll(reader), EXPECTED, 'the second handle opens values sealed with a key it had not loaded');
    reader.config.change('blog', { LATER: 'x' });
    assert.ok(raw(s).every((t) => t.startsWith(`sealed:v1:${s.secrets.status().current}:`)), 'the second handle seals with the key the store names now');
  } finally {
    reader.close();
    s.close();
  }
});

test('a key that is not 32 bytes of base64 is refused', () => {
  assert.throws(() => new Sealer({ dir: tempDir(), given: ['c2hvcnQ='] }), /must hold a key of 32 bytes in base64/);
});
