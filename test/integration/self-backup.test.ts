// Slipway's own backup and restore, with a real store (SQLite, online backup), real files and a real
// age encryption; the registry is faked at Slipway's ImageBlobs interface. A store with apps,
// releases, config, keys, tokens, domains and an uploaded certificate is backed up, verified and
// restored into an empty data dir: the store, the repositories and the host key come back equal,
// and every image is pushed back by digest. A wrong key, a flipped byte, a truncated archive, an
// archive of a newer schema and a data dir that is not empty are each refused with one sentence,
// nothing written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../server/config.ts';
import { openStore, type Store } from '../../server/store/index.ts';
import { SCHEMA_VERSION } from '../../server/store/db.ts';
import type { Services } from '../../server/context.ts';
import { UserError } from '../../server/errors.ts';
import { backUp, backupFreshness, createBackup, listBackups, NO_KEY, verifyBackup } from '../../server/ops/self-backup/backups.ts';
import { writeKeyFile, identityIn } from '../../server/ops/self-backup/age.ts';
import { restoreArchive } from '../../server/ops/self-backup/restore.ts';
import { MemoryImages, dumpStore, seedStore } from '../support/self-backup.ts';
import { makeKey, startTestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { doctorChecks } from '../../server/ops/admin/doctor.ts';
import { auditKeyFile, ensureAuditKey } from '../../server/ops/audit/checkpoint.ts';

const root = mkdtempSync(join(tmpdir(), 'slipway-self-backup-'));
let keyFile: string;
let recipient: string;
let config: Readonly<Config>;
let store: Store;
const images = new MemoryImages();
let archive: string;

const admin = (services: Services) => ({ identity: { name: 'alice', admin: true, via: 'ssh' as const }, services });
const services = () => ({ config, store, images } as unknown as Services);

before(async () => {
  keyFile = join(root, 'backup.key');
  ({ recipient } = await writeKeyFile(keyFile));
  config = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'data'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: 'registry.test' });
  store = openStore(config.dbFile);
  seedStore(store, config, images, { apps: 3, releases: 4 });
  writeFileSync(config.hostKeyFile, 'host key bytes\n', { mode: 0o600 });
  ensureAuditKey(config);
});
after(() => {
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Every file under `dir` (relative path → bytes as hex), for comparing trees. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p, `${rel}${f}/`);
      else out[`${rel}${f}`] = readFileSync(p).toString('hex');
    }
  };
  walk(dir, '');
  return out;
}

test('the key file is 0600, holds the secret key, never overwritten; the server refuses it as SLIPWAY_BACKUP_KEY', async () => {
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(identityIn(readFileSync(keyFile, 'utf8'), keyFile), /^AGE-SECRET-KEY-1/);
  await assert.rejects(writeKeyFile(keyFile), /exists: backup:keygen never overwrites a key file/);
  assert.throws(() => loadConfig({ SLIPWAY_DATA_DIR: root, SLIPWAY_BACKUP_KEY: keyFile }), /holds the secret key: give the server only its public recipient/);
  assert.throws(() => loadConfig({ SLIPWAY_DATA_DIR: root, SLIPWAY_BACKUP_KEY: 'age1nope' }), /SLIPWAY_BACKUP_KEY must be an age recipient/);
  const pub = join(root, 'backup.pub');
  writeFileSync(pub, `# the recipient\n${recipient}\n`);
  assert.equal(loadConfig({ SLIPWAY_DATA_DIR: root, SLIPWAY_BACKUP_KEY: pub }).backupRecipient, recipient);
});

test('without a key, backup:create is refused with one sentence and nothing is written', async () => {
  const bare = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'nokey') });
  await assert.rejects(backUp({ config: bare, store, images } as unknown as Services), (err: unknown) => err instanceof UserError && err.message === NO_KEY);
  assert.equal(existsSync(bare.backupDir), false);
});

test('a deployer may not back up', async () => {
  await assert.rejects(createBackup({ identity: { name: 'dev', admin: false, via: 'ssh' }, services: services() }), /Only admins may back up Slipway/);
});

test('a registry that fails mid-backup fails backup:create, and no archive or partial file is left', async () => {
  const broken = Object.assign(Object.create(images) as MemoryImages, {
    blob: async (repository: string, digest: string) => {
      if (repository === 'slipway/app1') throw new Error(`the registry answered 500 for the blob ${repository}@${digest}`);
      return images.blob(repository, digest);
    },
  });
  const dir = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'data'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_BACKUP_DIR: join(root, 'broken-backups') });
  await assert.rejects(backUp({ config: dir, store, images: broken } as unknown as Services), /the registry answered 500 for the blob slipway\/app1/);
  assert.deepEqual(readdirSync(dir.backupDir), []);
});

test('backup:create writes one archive, verifies it, and backups lists it; backup:verify checks it again', async () => {
  const r = await createBackup(admin(services()));
  assert.equal(r.verified, true, r.verifyError ?? '');
  assert.equal(r.apps, 3);
  assert.equal(r.releases, 12);
  assert.equal(r.images, 12);
  assert.deepEqual(r.missingImages, []);
  // 12 manifests, 12 configs, 12 own layers and the one shared base layer, each once.
  assert.equal(r.blobs, 12 * 3 + 1);
  archive = join(config.backupDir, r.name);
  assert.equal(statSync(archive).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(config.backupDir).sort(), [r.name, `${r.name}.json`].sort(), 'no partial file or scratch directory is left');
  // The archive is encrypted: no config value, certificate or key in clear.
  const bytes = readFileSync(archive);
  assert.equal(bytes.subarray(0, 21).toString(), 'age-encryption.org/v1');
  for (const clear of ['SECRET_KEY', 'BEGIN PRIVATE KEY', 'host key bytes', 'slipway/app0']) assert.equal(bytes.includes(clear), false, clear);
  const listed = listBackups(admin(services()));
  assert.equal(listed[0]!.name, r.name);
  assert.equal(listed[0]!.verified, true);
  const checked = await verifyBackup(admin(services()), undefined);
  assert.deepEqual([checked.how, checked.ok], ['checksum', true]);
  const whole = await verifyBackup(admin(services()), r.name, identityIn(readFileSync(keyFile, 'utf8'), keyFile));
  assert.deepEqual([whole.how, whole.ok], ['decrypted', true], whole.detail);
  assert.equal(backupFreshness(config, Date.now())!.ok, true);
  assert.equal(backupFreshness(config, Date.now() + 27 * 3_600_000)!.ok, false);
});

test('restore into an empty data dir: the store, repositories and host key come back equal, the images are pushed by digest', async () => {
  const target = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'restored'), SLIPWAY_REGISTRY: 'registry.test' });
  mkdirSync(target.dataDir);
  const fresh = new MemoryImages();
  const r = await restoreArchive({ config: target, archive, keyFile, images: fresh });
  assert.deepEqual(r.apps, ['app0', 'app1', 'app2']);
  assert.equal(r.images, 12);
  assert.equal(r.blobsPushed, 12 * 2 + 3, 'each repository gets its own configs and layers, the shared base once per repository');
  for (const [k, m] of images.manifests) assert.deepEqual(fresh.manifests.get(k)?.bytes, m.bytes, k);
  for (const [k, b] of images.blobs) assert.deepEqual(fresh.blobs.get(k), b, k);
  const restored = openStore(target.dbFile);
  try {
    assert.deepEqual(dumpStore(restored), dumpStore(store));
    assert.equal(restored.tokens.use('slw_secret_token_value')?.keyName, 'dev', 'a token made before the backup works after the restore');
  } finally {
    restored.close();
  }
  assert.deepEqual(tree(target.reposDir), tree(config.reposDir));
  assert.equal(readFileSync(target.hostKeyFile, 'utf8'), 'host key bytes\n');
  assert.equal(readFileSync(auditKeyFile(target), 'utf8'), readFileSync(auditKeyFile(config), 'utf8'), "the audit log's signing key comes back, so its checkpoints still verify");
  // The key the store's secrets are sealed with comes back with it, 0600 in a 0700 folder.
  assert.deepEqual(tree(target.storeKeyDir), tree(config.storeKeyDir));
  assert.equal(statSync(target.storeKeyDir).mode & 0o777, 0o700);
  for (const f of readdirSync(target.storeKeyDir)) assert.equal(statSync(join(target.storeKeyDir, f)).mode & 0o777, 0o600);
  const settings = JSON.parse(readFileSync(join(target.dataDir, 'restored-settings.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(settings.registry, 'registry.test');
  assert.equal(statSync(join(target.dataDir, 'restored-settings.json')).mode & 0o777, 0o600, 'the settings (the registry credential among them) are the owner\'s only');
  // What install.sh --restore takes over from them where no flag of its own says otherwise.
  const adopted = execFileSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'restored-settings.ts'), join(target.dataDir, 'restored-settings.json')], { encoding: 'utf8' });
  assert.equal(adopted, `SLIPWAY_BUILDER=heroku/builder:24\nSLIPWAY_BUILD_BACKEND=pack\nSLIPWAY_BACKUP_KEY=${recipient}\nSLIPWAY_KEEP_RELEASES=10\n`);
  assert.equal(readdirSync(root).filter((f) => f.includes('.restore-')).length, 0, 'no work directory is left');
});

/** Runs a restore expected to fail with `sentence`, and checks nothing was written anywhere. */
async function refused(name: string, file: string, sentence: RegExp, opts: { key?: string; dataDir?: string } = {}) {
  const dataDir = opts.dataDir ?? join(root, `refused-${name}`);
  const target = loadConfig({ SLIPWAY_DATA_DIR: dataDir, SLIPWAY_REGISTRY: 'registry.test' });
  const before = existsSync(dataDir) ? tree(dataDir) : undefined;
  const fresh = new MemoryImages();
  await assert.rejects(restoreArchive({ config: target, archive: file, keyFile: opts.key ?? keyFile, images: fresh }), (err: unknown) => {
    assert.ok(err instanceof UserError, `${name}: ${String(err)}`);
    assert.match(err.message, sentence);
    assert.equal(err.message.includes('\n'), false);
    return true;
  });
  assert.deepEqual(existsSync(dataDir) ? tree(dataDir) : undefined, before, `${name}: the data dir is as it was`);
  assert.equal(fresh.writes, 0, `${name}: nothing was pushed`);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.restore-')), [], `${name}: no work directory is left`);
}

test("the restored store's secrets open with the restored key, and only with it", async () => {
  const target = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'restored') });
  const restored = openStore(target.dbFile);
  try {
    assert.deepEqual(restored.config.all('app1'), store.config.all('app1'));
    assert.match(restored.config.all('app1').DATABASE_URL!, /^postgres:\/\/u:p@db\/app1$/);
    assert.deepEqual(restored.certs.uploaded('app0'), store.certs.uploaded('app0'));
    assert.deepEqual(restored.releases.get('app2', 4)?.config, store.releases.get('app2', 4)?.config);
  } finally {
    restored.close();
  }
  // The database file alone (without DATA_DIR/keys) is refused with one sentence.
  const alone = join(root, 'store-alone');
  mkdirSync(alone);
  writeFileSync(join(alone, 'slipway.db'), readFileSync(target.dbFile));
  assert.throws(() => openStore(join(alone, 'slipway.db')), /The store's secrets are sealed with key [0-9a-f]{16}, but .* is missing/);
  assert.equal(readFileSync(target.dbFile).includes('postgres://u:p@db/app1'), false, 'the restored database file holds no config value in clear');
});

test('an archive whose keys do not open its store fails its verification', async () => {
  const other = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'keyless'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: 'registry.test' });
  const s = openStore(other.dbFile);
  try {
    s.apps.create('lone');
    s.config.change('lone', { A: 'b' });
    // A store whose key the archive would not hold.
    s.sealer.exportKeys = () => [];
    const r = await backUp({ config: other, store: s, images } as unknown as Services);
    assert.equal(r.verified, false);
    assert.match(r.verifyError ?? '', /its store's secrets do not open with the keys it holds \(A secret in the store is sealed with key [0-9a-f]{16}, which is neither in/);
  } finally {
    s.close();
  }
});

test('secrets:rotate-key: refused while a backup is written; an archive from before the rotation and one after both restore', async () => {
  const { rotateStoreKey } = await import('../../server/ops/admin/secrets.ts');
  const writing = createBackup(admin(services()));
  assert.throws(() => rotateStoreKey(admin(services()) as never), /A backup of Slipway is being written now; rotate the key once it ends/);
  const first = await writing;
  assert.equal(first.verified, true, first.verifyError ?? '');
  const before = readdirSync(config.storeKeyDir);
  const r = rotateStoreKey(admin(services()) as never);
  assert.deepEqual(r.removed, before.map((f) => f.slice(6, 22)));
  assert.deepEqual(readdirSync(config.storeKeyDir), [`store-${r.key}.key`]);
  const second = await createBackup(admin(services()));
  assert.equal(second.verified, true, second.verifyError ?? '');
  for (const [name, key] of [[first.name, r.previous], [second.name, r.key]] as const) {
    const target = loadConfig({ SLIPWAY_DATA_DIR: join(root, `rotated-${key}`), SLIPWAY_REGISTRY: 'registry.test' });
    await restoreArchive({ config: target, archive: join(config.backupDir, name), keyFile, images: new MemoryImages() });
    assert.deepEqual(readdirSync(target.storeKeyDir).includes(`store-${key}.key`), true, `${name} holds key ${key}`);
    const restored = openStore(target.dbFile);
    try {
      assert.equal(restored.secrets.status().current, key);
      assert.deepEqual(restored.config.all('app0'), store.config.all('app0'));
    } finally {
      restored.close();
    }
  }
});

test('a registry that fails while the images are pushed (several repositories at once) fails the restore, and no data dir or staging folder is left', async () => {
  const fresh = new MemoryImages();
  const broken = Object.assign(Object.create(fresh) as MemoryImages, {
    putBlob: async (repository: string, digest: string, size: number, open: () => NodeJS.ReadableStream) => {
      if (repository === 'slipway/app1') throw new Error(`the registry answered 500 uploading ${repository}@${digest}`);
      return fresh.putBlob(repository, digest, size, open as never);
    },
  });
  const dataDir = join(root, 'restored-broken');
  const target = loadConfig({ SLIPWAY_DATA_DIR: dataDir, SLIPWAY_REGISTRY: 'registry.test' });
  await assert.rejects(restoreArchive({ config: target, archive, keyFile, images: broken }), /the registry answered 500 uploading slipway\/app1@/);
  assert.equal(existsSync(dataDir), false, 'no data dir');
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.restore-')), [], 'no staging folder');
  // The other repositories went on meanwhile: pushed whole, or not started.
  assert.ok([...fresh.manifests.keys()].every((k) => !k.startsWith('slipway/app1@')), 'nothing of the failing repository was put');
});

test('a data dir that is not empty is refused', async () => {
  const dataDir = join(root, 'busy');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'slipway.db'), 'mine');
  await refused('busy', archive, /is not empty: restore only goes into an empty or new data directory/, { dataDir });
});

test('a wrong key is refused', async () => {
  const other = join(root, 'other.key');
  await writeKeyFile(other);
  await refused('wrong-key', archive, /does not open with this key \(it was encrypted to another key, or its header is damaged\)/, { key: other });
  await refused('recipient-as-key', archive, /holds a public recipient, not a key/, { key: join(root, 'backup.pub') });
});

test('a flipped byte and a truncated archive are refused', async () => {
  const bytes = readFileSync(archive);
  for (const at of [Math.floor(bytes.length / 2), bytes.length - 5]) {
    const flipped = Buffer.from(bytes);
    flipped[at] = flipped[at]! ^ 0x01;
    const f = join(root, `flipped-${at}.tar.age`);
    writeFileSync(f, flipped);
    await refused(`flipped-${at}`, f, /is damaged or truncated/);
  }
  // In the header: its MAC fails, or (within this key's stanza) the key no longer opens it.
  for (const at of [40, bytes.indexOf('\n---') - 3]) {
    const flipped = Buffer.from(bytes);
    flipped[at] = flipped[at]! ^ 0x01;
    const f = join(root, `header-${at}.tar.age`);
    writeFileSync(f, flipped);
    await refused(`header-${at}`, f, /is damaged or truncated|does not open with this key/);
  }
  for (const length of [Math.floor(bytes.length / 2), 65_536 + 200, bytes.length - 16]) {
    const f = join(root, `cut-${length}.tar.age`);
    writeFileSync(f, bytes.subarray(0, length));
    await refused(`cut-${length}`, f, /is damaged or truncated/);
  }
});

test("onto a machine whose registry has another address: the images are pushed there and every release's reference follows them", async () => {
  const target = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'other-registry'), SLIPWAY_REGISTRY: '10.0.0.9:5000' });
  const fresh = new MemoryImages('10.0.0.9:5000');
  const r = await restoreArchive({ config: target, archive, keyFile, images: fresh });
  assert.equal(r.images, 12);
  for (const [k, m] of images.manifests) assert.deepEqual(fresh.manifests.get(k)?.bytes, m.bytes, k);
  const restored = openStore(target.dbFile);
  try {
    const before = store.apps.list().flatMap((a) => store.releases.list(a.name)).map((x) => x.image).filter((x): x is string => x !== null);
    const after = restored.apps.list().flatMap((a) => restored.releases.list(a.name)).map((x) => x.image).filter((x): x is string => x !== null);
    assert.ok(before.length > 0 && before.every((x) => x.startsWith('registry.test/')));
    assert.deepEqual(after, before.map((x) => x.replace(/^registry\.test\//, '10.0.0.9:5000/')), 'the same repository and digest, at the new address');
    assert.equal(r.retargeted >= after.length, true, `${r.retargeted} references moved`);
    const d = dumpStore(restored) as Record<string, unknown>;
    assert.equal(JSON.stringify(d).includes('registry.test/'), false, 'no reference names the old address');
  } finally {
    restored.close();
  }
});

test('an archive from a newer schema is refused; its own verify says so', async () => {
  const newer = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'newer'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: 'registry.test' });
  const s = openStore(newer.dbFile);
  try {
    s.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    const r = await backUp({ config: newer, store: s, images } as unknown as Services);
    assert.equal(r.verified, false);
    assert.match(r.verifyError ?? '', /written by a newer Slipway/);
    await refused('newer', join(newer.backupDir, r.name), new RegExp(`was written by a newer Slipway \\(0\\.1\\.0, store schema ${SCHEMA_VERSION + 1}; this one has ${SCHEMA_VERSION}\\)`));
  } finally {
    s.close();
  }
});

test('over SSH and the API: backup:create, backups and backup:verify for admins; deployers and read tokens are refused', async () => {
  const s = await startTestServer({ SLIPWAY_BACKUP_KEY: recipient });
  try {
    const made = await s.ssh(s.admin, 'backup:create');
    assert.equal(made.exitCode, 0, made.stderr);
    assert.match(made.stdout, /^Backed up as slipway-\d{8}T\d{6}Z\.tar\.age \(.*: 0 apps, 0 releases, 0 images, 0 blobs\) in [\d.]+ s\.\nVerified in [\d.]+ s: it decrypts, every file and image blob matches its checksum, the store passes its integrity check\.$/);
    const listed = await s.ssh(s.admin, 'backups');
    assert.match(listed.stdout, /^NAME +SIZE +CREATED +APPS +IMAGES +STATE +COPY\nslipway-\S+ +[\d.]+ kB +\S+ +0 +0 +verified +-$/);
    const verified = await s.ssh(s.admin, 'backup:verify');
    assert.equal(verified.exitCode, 0, verified.stderr);
    assert.match(verified.stdout, /: ok: unchanged since it was written \(SHA-256 matches\); decrypted and checked whole when written/);
    const admin = await makeToken(s, s.admin, 'backups-admin', 'admin');
    const read = await makeToken(s, s.admin, 'backups-read', 'read');
    const created = await api(s, 'POST', '/backups', { token: admin });
    assert.equal(created.status, 201, created.text);
    const name = (created.json as { name: string; verified: boolean }).name;
    assert.equal((created.json as { verified: boolean }).verified, true);
    const all = await api(s, 'GET', '/backups', { token: admin });
    assert.deepEqual((all.json as { name: string }[]).map((b) => b.name)[0], name);
    const check = await api(s, 'POST', `/backups/${name}/verify`, { token: admin });
    assert.deepEqual([check.status, (check.json as { ok: boolean }).ok], [200, true]);
    assert.equal((await api(s, 'POST', '/backups', { token: read })).status, 403);
    assert.equal((await api(s, 'GET', '/backups', { token: read })).status, 403);
    const dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, 'keys:add dev', dev.pub)).exitCode, 0);
    const refused = await s.ssh(dev, 'backup:create');
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /Only admins may run backup:create\./);
    const keygen = await s.ssh(s.admin, 'backup:keygen /tmp/stolen.key');
    assert.equal(keygen.exitCode, 1);
    assert.match(keygen.stderr, /backup:keygen works on this machine's files: run it with the local CLI on the server/);
    assert.equal(existsSync('/tmp/stolen.key'), false);
  } finally {
    await s.close();
  }
});

test('doctor fails while there is no verified backup, once backups are configured', async () => {
  const checks = doctorChecks(loadConfig({ SLIPWAY_DATA_DIR: join(root, 'doctor'), SLIPWAY_BACKUP_KEY: recipient }), {});
  const check = checks.find((c) => c.name === 'slipway backups');
  assert.ok(check);
  assert.deepEqual(await check.run(new AbortController().signal), { ok: false, detail: `no verified backup of Slipway in ${join(root, 'doctor', 'backups')}`, fix: 'backup:create writes one now; SLIPWAY_BACKUP_INTERVAL_S has the self-backup round write them' });
  assert.equal(doctorChecks(loadConfig({ SLIPWAY_DATA_DIR: root }), {}).some((c) => c.name === 'slipway backups'), false, 'not configured: no check');
});
