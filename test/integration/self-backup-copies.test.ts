// Slipway's backups copied off the machine (SLIPWAY_BACKUP_S3_URL), with a real store, real files
// and real age encryption; the bucket is faked at Slipway's ObjectStore interface (the testbed's
// S3 endpoint is used for real by test/e2e/self-backup.test.ts). A verified archive is copied and
// read back; a copy that fails is recorded, fails backup:create's record and doctor, and leaves the
// archive good; a copy changed later fails backup:verify; retention deletes copies with archives;
// restore --from-s3 finds the newest copy or the one named, and refuses others in one sentence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../server/config.ts';
import { openStore, type Store } from '../../server/store/index.ts';
import type { Services } from '../../server/context.ts';
import { UserError } from '../../server/errors.ts';
import { backupFreshness, createBackup, verifyBackup } from '../../server/ops/self-backup/backups.ts';
import { withCopyFetched } from '../../server/ops/self-backup/copies.ts';
import { writeKeyFile } from '../../server/ops/self-backup/age.ts';
import { MemoryImages, seedStore } from '../support/self-backup.ts';
import { FolderBucket } from '../support/folder-bucket.ts';

const root = mkdtempSync(join(tmpdir(), 'slipway-backup-copies-'));
let config: Readonly<Config>;
let store: Store;
let keyFile: string;
const images = new MemoryImages();
const bucket = new FolderBucket(join(root, 'bucket'));
const services = (over: Partial<Services> = {}) => ({ config, store, images, backupCopies: bucket, ...over } as unknown as Services);
const admin = (s: Services) => ({ identity: { name: 'alice', admin: true, via: 'ssh' as const }, services: s });

before(async () => {
  keyFile = join(root, 'backup.key');
  const { recipient } = await writeKeyFile(keyFile);
  const credentials = join(root, 's3-credentials');
  writeFileSync(credentials, 'AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n', { mode: 0o600 });
  config = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'data'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: 'registry.test', SLIPWAY_BACKUP_KEEP: '2', SLIPWAY_BACKUP_S3_URL: 'https://s3.test/bucket', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials });
  store = openStore(config.dbFile);
  seedStore(store, config, images, { apps: 1, releases: 2 });
  writeFileSync(config.hostKeyFile, 'host key bytes\n', { mode: 0o600 });
});
after(() => {
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

test('a verified backup is copied and read back; backup:verify reads the copy again and fails once it changed', async () => {
  const r = await createBackup(admin(services()));
  assert.equal(r.verified, true);
  assert.deepEqual([r.copy?.ok, r.copy?.error, r.copy?.url], [true, null, `https://s3.test/bucket/${r.name}`]);
  assert.ok(readFileSync(join(bucket.dir, r.name)).equals(readFileSync(join(config.backupDir, r.name))));
  const v = await verifyBackup(admin(services()), r.name);
  assert.equal(v.ok, true, v.detail);
  assert.match(v.detail, /its copy https:\/\/s3\.test\/bucket\/slipway-.* was read back whole and matches$/);
  assert.equal(backupFreshness(config, Date.now())!.ok, true);
  const copy = join(bucket.dir, r.name);
  const bytes = readFileSync(copy);
  bytes[100] = bytes[100]! ^ 0xff;
  writeFileSync(copy, bytes);
  const changed = await verifyBackup(admin(services()), r.name);
  assert.equal(changed.ok, false);
  assert.match(changed.detail, /but its copy https:\/\/s3\.test\/bucket\/.* changed since it was written/);
});

test('a copy that fails is recorded and fails doctor; the archive stays verified; the next copy clears it', async () => {
  bucket.failPut = 'Access Denied.';
  const r = await createBackup(admin(services()));
  bucket.failPut = undefined;
  assert.equal(r.verified, true);
  assert.deepEqual([r.copy?.ok, r.copy?.error], [false, 'AccessDenied: Access Denied.']);
  assert.equal(existsSync(join(bucket.dir, r.name)), false);
  const doctor = backupFreshness(config, Date.now())!;
  assert.equal(doctor.ok, false);
  assert.equal(doctor.detail, `the newest verified backup, ${r.name}, has no copy off the machine: AccessDenied: Access Denied.`);
  const next = await createBackup(admin(services()));
  assert.equal(next.copy?.ok, true);
  assert.equal(backupFreshness(config, Date.now())!.ok, true);
});

test('retention deletes the copies of the archives it deletes (SLIPWAY_BACKUP_KEEP=2)', async () => {
  const kept = readdirSync(config.backupDir).filter((f) => f.endsWith('.tar.age'));
  assert.equal(kept.length, 2, kept.join(', '));
  assert.deepEqual(readdirSync(bucket.dir).sort(), kept.filter((n) => existsSync(join(bucket.dir, n))).sort(), 'no copy of a deleted archive is left');
});

test('restore --from-s3: latest is the newest copy, a name is found, others are refused in one sentence; the download folder goes', async () => {
  const names = readdirSync(bucket.dir).sort();
  const fetched: string[] = [];
  const s = services({ config: { ...config, dataDir: join(root, 'fresh', 'data') } as Config });
  mkdirSync(join(root, 'fresh'));
  await withCopyFetched(s, 'latest', async (file) => { fetched.push(readFileSync(file).equals(readFileSync(join(bucket.dir, names.at(-1)!))) ? 'newest' : 'other'); });
  await withCopyFetched(s, names[0]!, async (file) => { fetched.push(file.endsWith(names[0]!) ? 'named' : 'other'); });
  assert.deepEqual(fetched, ['newest', 'named']);
  await assert.rejects(withCopyFetched(s, 'slipway-20200101T000000Z.tar.age', async () => undefined), (e: Error) => e instanceof UserError && /^There is no backup slipway-20200101T000000Z\.tar\.age in https:\/\/s3\.test\/bucket\/ \(it holds slipway-/.test(e.message));
  await assert.rejects(withCopyFetched(s, '../etc/passwd', async () => undefined), /is not a backup name/);
  await assert.rejects(withCopyFetched(services({ backupCopies: undefined, config: { ...config, backupS3: undefined } as Config }), 'latest', async () => undefined), /restore --from-s3 needs SLIPWAY_BACKUP_S3_URL/);
  assert.deepEqual(readdirSync(join(root, 'fresh')), [], 'no download folder is left');
});

test('the S3 settings: a URL needs its credential, which must be private and well formed; the URL needs https and a bucket', () => {
  const credentials = join(root, 's3-credentials');
  const load = (env: Record<string, string>) => () => loadConfig({ SLIPWAY_DATA_DIR: root, ...env });
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'https://s3.test/bucket' }), /^UserError: SLIPWAY_BACKUP_S3_URL needs SLIPWAY_BACKUP_S3_CREDENTIALS/);
  assert.throws(load({ SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }), /need SLIPWAY_BACKUP_S3_URL/);
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'http://s3.example.com/bucket', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }), /must be the endpoint's https:\/\/ URL/);
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'https://s3.example.com/', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }), /with the bucket/);
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'https://s3.example.com/b', SLIPWAY_BACKUP_S3_REGION: 'Not A Region', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }), /SLIPWAY_BACKUP_S3_URL must be|SLIPWAY_BACKUP_S3_REGION must be/);
  const open = join(root, 'open-credentials');
  writeFileSync(open, 'AKIDEXAMPLE:secretsecret\n', { mode: 0o644 });
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'https://s3.test/bucket', SLIPWAY_BACKUP_S3_CREDENTIALS: open }), /may be read by other users/);
  const bad = join(root, 'bad-credentials');
  writeFileSync(bad, 'no colon here\n', { mode: 0o600 });
  assert.throws(load({ SLIPWAY_BACKUP_S3_URL: 'https://s3.test/bucket', SLIPWAY_BACKUP_S3_CREDENTIALS: bad }), /must hold ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line/);
  const ok = loadConfig({ SLIPWAY_DATA_DIR: root, SLIPWAY_BACKUP_S3_URL: 'https://s3.eu-central-1.amazonaws.com/my-bucket/slipway/prod/', SLIPWAY_BACKUP_S3_REGION: 'eu-central-1', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }).backupS3;
  assert.deepEqual(ok, { endpoint: 'https://s3.eu-central-1.amazonaws.com', bucket: 'my-bucket', prefix: 'slipway/prod/', region: 'eu-central-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ca: undefined });
  assert.equal(loadConfig({ SLIPWAY_DATA_DIR: root, SLIPWAY_BACKUP_S3_URL: 'http://127.0.0.1:9000/b1b', SLIPWAY_BACKUP_S3_CREDENTIALS: credentials }).backupS3?.endpoint, 'http://127.0.0.1:9000');
});
