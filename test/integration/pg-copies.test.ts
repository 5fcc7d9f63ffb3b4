// A Postgres database's copies off the machine (pg:backups:copy, pg:backups:copies,
// pg:backups:restore --from-s3, and the db-backups round's daily copy) over the real SSH server,
// with the fake deployer at Slipway's Deployer interface and a bucket that is a folder at the
// ObjectStore interface: the copy is the dump encrypted to the recipient (only the key opens it),
// kept in the database's own folder and only once read back; a restore with the key puts the dump
// into a NEW database; without the settings, or with a wrong key, one sentence and nothing made.
// On a real cluster with the real image and the testbed's S3 endpoint: test/e2e/databases-dumps.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { deployedApp, startTestServer, type TestServer } from '../support/harness.ts';
import type { Services } from '../../server/context.ts';
import { decrypting, writeKeyFile } from '../../server/ops/self-backup/age.ts';
import { copiesBeyond, copyDatabaseOff, copyName, restoreFromCopy } from '../../server/ops/data/copies.ts';
import { backupRound } from '../../server/ops/data/drills.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import type { Identity } from '../../server/auth/identity.ts';
import { FolderBucket } from '../support/folder-bucket.ts';

describe('copies of databases off the machine', { timeout: 120_000 }, () => {
  let s: TestServer;
  const root = mkdtempSync(join(tmpdir(), 'slipway-pg-copies-'));
  const bucket = new FolderBucket(join(root, 'bucket'));
  let key: { file: string; recipient: string };
  let other: { file: string; recipient: string };
  const addons = async (app: string) => (JSON.parse((await s.ssh(s.admin, `addons ${app} --json`)).stdout) as { name: string }[]).map((a) => a.name);
  /** The server's services with the bucket and the key set, as SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_KEY set them. */
  const withCopies = (): Services => ({ ...s.slipway.services, backupCopies: bucket, config: { ...s.slipway.services.config, backupRecipient: key.recipient, backupKeep: 2 } });
  const actor = () => ({ identity: { kind: 'admin', name: 'admin' } as unknown as Identity, services: withCopies() });
  const progress = () => ({ transcript: lineTranscript(() => {}), signal: new AbortController().signal, origin: 'cli' as const });

  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17', SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8' });
    key = await writeKeyFile(join(root, 'backup.key'));
    other = await writeKeyFile(join(root, 'other.key'));
  });
  after(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('names sort by time; the newest SLIPWAY_BACKUP_KEEP stay', () => {
    assert.equal(copyName(new Date('2026-12-07T02:15:00.123Z')), '20261207T021500Z.dump.age');
    assert.deepEqual(copiesBeyond(['20261205T021500Z.dump.age', 'notes.txt', '20261207T021500Z.dump.age', '20261206T021500Z.dump.age'], 2), ['20261205T021500Z.dump.age']);
    assert.deepEqual(copiesBeyond(['20261205T021500Z.dump.age'], 2), []);
  });

  test('without a bucket or a key: one sentence each, nothing made', async () => {
    const { app } = await deployedApp(s, 'nocopy');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const copy = await s.ssh(s.admin, `pg:backups:copy ${app}`);
    assert.equal(copy.exitCode, 1);
    assert.equal(copy.stderr.trim(), "!     Copies of databases off the machine go to the bucket Slipway's own backups go to, encrypted to their key: set SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_S3_CREDENTIALS and SLIPWAY_BACKUP_KEY and restart Slipway.");
    const restore = await s.ssh(s.admin, `pg:backups:restore ${app} --from-s3 latest`, readFileSync(key.file, 'utf8'));
    assert.equal(restore.exitCode, 1);
    assert.match(restore.stderr, /pg:backups:restore --from-s3 needs SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_S3_CREDENTIALS/);
    assert.deepEqual(await addons(app), ['postgres']);
  });

  test('a copy is the dump encrypted to the key, in its own folder; the round takes one after its backup; the key restores it into a new database', async () => {
    const { app } = await deployedApp(s, 'copies');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const archive = Buffer.concat([Buffer.from('PGDMP'), Buffer.from('rows of a real app '.repeat(5000))]);
    s.deployer.data.dumps.set(`${app}/postgres`, archive);

    const made = await copyDatabaseOff(actor(), app, undefined, progress());
    assert.match(made.name, /^\d{8}T\d{6}Z\.dump\.age$/);
    assert.equal(made.url, `https://s3.test/bucket/databases/${app}/postgres/${made.name}`);
    const stored = readFileSync(join(bucket.dir, 'databases', app, 'postgres', made.name));
    assert.equal(stored.subarray(0, 21).toString(), 'age-encryption.org/v1', 'encrypted with age');
    assert.ok(!stored.includes(Buffer.from('rows of a real app')), 'no plain text in the bucket');
    assert.equal(made.sha256, createHash('sha256').update(stored).digest('hex'));
    const opened = await decrypting(Readable.from([stored]), readFileSync(key.file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!, made.name);
    const chunks: Buffer[] = [];
    for await (const c of opened) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(archive), 'the key opens it to the dump, byte for byte');
    assert.equal(readdirSync(dirname(s.slipway.services.config.dataDir)).filter((n) => n.startsWith('.slipway-db-copy-')).length, 0, 'nothing left on the server');

    // One copy of a database at a time (each writes a file as big as its dump): a second is refused at once.
    const first = copyDatabaseOff(actor(), app, undefined, progress());
    await assert.rejects(copyDatabaseOff(actor(), app, undefined, progress()), new RegExp(`^UserError: A copy of postgres of ${app} is being made now; wait for it`));
    const second = await first;
    assert.ok(second.name >= made.name, 'the first one made');
    for (const n of await bucket.list(undefined, `databases/${app}/postgres/`)) if (n !== made.name) rmSync(join(bucket.dir, 'databases', app, 'postgres', n));
    await new Promise((f) => setTimeout(f, 1100)); // a copy's name is its second

    // The round: a day later the backup is due; it takes it and then the day's copy.
    const commands = () => s.deployer.data.commands.filter((c) => c === `${app}/postgres backup full`).length;
    const n = commands();
    await backupRound(withCopies(), new AbortController().signal, Date.now() + 2 * 86_400_000).catch(() => {});
    assert.equal(commands(), n + 1);
    const listed = await s.ssh(s.admin, `pg:backups:copies ${app} --json`);
    assert.equal(listed.exitCode, 1, 'the server itself has no bucket set');
    const names = await bucket.list(undefined, `databases/${app}/postgres/`);
    assert.equal(names.length, 2, names.join(' '));

    // A wrong key: one sentence, nothing made.
    await assert.rejects(restoreFromCopy(actor(), app, { copy: 'latest', to: 'wrongkey' }, Readable.from([readFileSync(other.file)]), progress()), /does not open with this key/);
    await assert.rejects(restoreFromCopy(actor(), app, { copy: 'latest', to: 'nokey' }, Readable.from([Buffer.from(`${other.recipient}\n`)]), progress()), /holds a public recipient, not a key/);
    await assert.rejects(restoreFromCopy(actor(), app, { copy: '../x', to: 'bad' }, Readable.from([readFileSync(key.file)]), progress()), /is not a copy's name/);
    assert.deepEqual(await addons(app), ['postgres']);

    // The key: a new database with the dump in it; the live one untouched.
    const r = await restoreFromCopy(actor(), app, { copy: made.name, to: 'fromcopy' }, Readable.from([readFileSync(key.file)]), progress());
    assert.deepEqual([r.name, r.attachment, r.promoted], ['fromcopy', 'FROMCOPY_URL', false]);
    assert.ok(s.deployer.data.imports.get(`${app}/fromcopy`)?.equals(archive), 'the dump imported, byte for byte');
    assert.deepEqual(await addons(app), ['postgres', 'fromcopy']);
  });
});
