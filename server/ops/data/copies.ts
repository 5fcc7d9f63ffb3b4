// A Postgres database's copies off the machine (pg:backups:copy, pg:backups:copies and
// pg:backups:restore --from-s3), in the bucket Slipway copies its own backups to
// (SLIPWAY_BACKUP_S3_URL): a logical dump (`pg_dump -Fc`, as Heroku's pg:backups and Dokku's
// postgres:backup keep off the machine) encrypted with age to SLIPWAY_BACKUP_KEY's recipient,
// uploaded, and read back whole: kept only when its SHA-256 is what was written. The db-backups
// round takes one after each daily full backup. The server holds the public recipient only: a
// restore needs the key file, sent on standard input, and goes into a NEW database through the
// same import as any pg_dump archive (ops/data/dumps.ts). The backups on the database's own
// volume (pgBackRest, point-in-time) stay the first way back; this copy is the one that survives
// the machine.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import type { ObjectStore } from '../../s3.ts';
import type { DatabaseCopies, DatabaseCopy, Imported } from '../../shapes/dumps.ts';
import { besideData, copiesOf, copyOff, withDownload } from '../self-backup/copies.ts';
import { decrypting, encrypting, identityIn } from '../self-backup/age.ts';
import { rollOut } from '../rollout.ts';
import type { Actor, Progress } from '../actor.ts';
import { importDump, prepareDump, type ImportRequest } from './dumps.ts';
import { postgresOf } from './backups.ts';

/** The folder beside the data directory a copy is written in, or downloaded to (besideData). */
const SCRATCH = '.slipway-db-copy-';
/** A copy's file name: the time it was taken, in UTC. */
const COPY = /^\d{8}T\d{6}Z\.dump\.age$/;
/** The most of a key file read from standard input. */
const KEY_FILE_MAX = 64 * 1024;
/**
 * What is being copied or restored now (`copy app/name`, `restore app`): each writes a file as big
 * as the dump beside the data directory, so one at a time each; a second is refused at once.
 */
const busy = new Set<string>();

/** Runs `fn` holding `key`; while another holds it, one sentence instead. */
async function alone<T>(key: string, refusal: string, fn: () => Promise<T>): Promise<T> {
  if (busy.has(key)) throw new UserError(refusal);
  busy.add(key);
  try {
    return await fn();
  } finally {
    busy.delete(key);
  }
}

/** The bucket's folder for one database's copies. */
export function copyFolder(app: string, database: string): string {
  return `databases/${app}/${database}/`;
}

/** A copy's file name for a time: `20261207T021500Z.dump.age`. */
export function copyName(at: Date): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.dump.age`;
}

/** The copies to delete so that the newest `keep` stay (names sort by time). */
export function copiesBeyond(names: readonly string[], keep: number): string[] {
  return names.filter((n) => COPY.test(n)).sort().reverse().slice(keep);
}

/** The bucket and the recipient a copy needs, or the sentence that says which setting is missing. */
function copySettings(services: Pick<Services, 'config' | 'backupCopies'>): { bucket: ObjectStore; recipient: string } {
  const bucket = copiesOf(services);
  const recipient = services.config.backupRecipient;
  if (!bucket || !recipient) throw new UserError(`Copies of databases off the machine go to the bucket Slipway's own backups go to, encrypted to their key: set ${[...(bucket ? [] : ['SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_S3_CREDENTIALS']), ...(recipient ? [] : ['SLIPWAY_BACKUP_KEY'])].join(' and ')} and restart Slipway.`);
  return { bucket, recipient };
}

/** Whether the db-backups round copies databases off the machine (both settings present). */
export function copiesConfigured(services: Pick<Services, 'config' | 'backupCopies'>): boolean {
  return copiesOf(services) !== undefined && services.config.backupRecipient !== undefined;
}

/**
 * Streams the database's `pg_dump -Fc`, encrypted, into `file` (never whole in memory); its
 * SHA-256 and size. A failed dump or write fails the whole (the file is the caller's to remove).
 */
async function writeEncryptedDump(actor: Actor, app: string, database: string, recipient: string, file: string, signal: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const dump = prepareDump(actor, app, database);
  const plain = new PassThrough();
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const hash = createHash('sha256');
  let bytes = 0;
  const counted = new Transform({ transform(chunk: Buffer, _enc, done) { hash.update(chunk); bytes += chunk.length; done(null, chunk); } });
  const written = encrypting(plain, [recipient]).then((encrypted) => pipeline(encrypted, counted, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal: both }));
  // A write that fails (a full disk) ends the dump too, rather than leaving it waiting to be read.
  written.catch(() => stop.abort());
  const dumped = dump.run(async (chunk) => {
    if (!plain.write(chunk)) await once(plain, 'drain', { signal: both });
  }, both).finally(() => plain.end());
  await Promise.all([dumped, written]);
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * pg:backups:copy: the database's logical dump now, encrypted and copied to the bucket, read back
 * and checked; then copies beyond SLIPWAY_BACKUP_KEEP of that database deleted. A job (its
 * transcript kept; the db-backups round runs it too). Nothing is left on the server's disk.
 */
export async function copyDatabaseOff(actor: Actor, app: string, raw: string | undefined, progress: Progress): Promise<DatabaseCopy> {
  const row = postgresOf(actor.services, app, raw);
  const { bucket, recipient } = copySettings(actor.services);
  const folder = copyFolder(app, row.name);
  return alone(`copy ${app}/${row.name}`, `A copy of ${row.name} of ${app} is being made now; wait for it (jobs ${app}).`, () => rollOut(actor, app, 'pg:backups:copy', progress, async ({ transcript: t, signal }) => {
    const name = copyName(new Date());
    t.step(`Copying a pg_dump of ${row.name} of ${app} off the machine, encrypted, to ${bucket.url(folder + name)}`);
    const made = await besideData(actor.services.config, SCRATCH, async (dir): Promise<DatabaseCopy> => {
      const file = join(dir, name);
      const written = await writeEncryptedDump(actor, app, row.name, recipient, file, signal);
      const copy = await copyOff(bucket, file, { name: folder + name, ...written }, signal);
      if (!copy.ok) throw new UserError(`The copy of ${row.name} could not be made: ${copy.error}.`);
      t.detail(`${written.bytes} bytes, read back and checked (SHA-256 ${written.sha256.slice(0, 12)}…) in ${copy.ms} ms`);
      return { database: row.name, name, url: copy.url, bytes: written.bytes, sha256: written.sha256, copiedAt: copy.copiedAt! };
    });
    const gone = copiesBeyond(await bucket.list(signal, folder), actor.services.config.backupKeep);
    for (const old of gone) await bucket.remove(folder + old, signal);
    if (gone.length) t.detail(`Deleted ${gone.length} older ${gone.length === 1 ? 'copy' : 'copies'} (SLIPWAY_BACKUP_KEEP keeps ${actor.services.config.backupKeep})`);
    return made;
  }, { unlocked: true }));
}

/** The database the copies are of: `from`, else the app's first Postgres database; after a loss, a name the store no longer holds is taken as given. */
function sourceName(actor: Actor, app: string, from: string | undefined): string {
  if (from !== undefined) {
    if (!/^[a-z][a-z0-9-]{0,29}$/.test(from)) throw new UserError(`${from} is not a database name.`);
    return from;
  }
  return postgresOf(actor.services, app, undefined).name;
}

/** pg:backups:copies: the copies of a database in the bucket, newest first. */
export async function listDatabaseCopies(actor: Actor, app: string, from: string | undefined): Promise<DatabaseCopies> {
  const database = sourceName(actor, app, from);
  const bucket = copiesOf(actor.services);
  if (!bucket) throw new UserError('No bucket is set for copies off the machine (SLIPWAY_BACKUP_S3_URL).');
  const folder = copyFolder(app, database);
  const names = await bucket.list(actor.signal, folder).catch((err: unknown) => {
    throw new UserError(`The bucket ${bucket.url(folder)} cannot be listed: ${(err as Error).message}.`, { cause: err });
  });
  return { database, folder: bucket.url(folder), copies: names.filter((n) => COPY.test(n)).sort().reverse() };
}

/** The key file sent on standard input: its AGE-SECRET-KEY line, or one sentence. */
async function keyFrom(input: Readable | undefined): Promise<string> {
  if (!input) throw new UserError('pg:backups:restore --from-s3 reads the key file on standard input: ssh … pg:backups:restore APP --from-s3 latest < slipway-backup.key.');
  let text = '';
  for await (const chunk of input) {
    text += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    if (text.length > KEY_FILE_MAX) throw new UserError('Standard input is larger than a key file: give the file backup:keygen wrote.');
  }
  return identityIn(text, 'standard input');
}

/**
 * pg:backups:restore --from-s3 COPY|latest: a copy of `from` (the app's first Postgres database by
 * default) downloaded, opened with the key file read from `input` (a wrong key: one sentence
 * before anything is made), and restored into a NEW database as any archive is; the live
 * database is never touched. The download goes whatever happens.
 */
export async function restoreFromCopy(actor: Actor, app: string, req: ImportRequest & { copy: string; from?: string | undefined }, input: Readable | undefined, progress: Progress): Promise<Imported> {
  const bucket = copiesOf(actor.services);
  if (!bucket) throw new UserError('pg:backups:restore --from-s3 needs SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_S3_CREDENTIALS: the bucket the copies were made to.');
  if (req.copy !== 'latest' && !COPY.test(req.copy)) throw new UserError(`${req.copy} is not a copy's name (like 20261207T021500Z.dump.age) or latest.`);
  const identity = await keyFrom(input);
  return alone(`restore ${app}`, `A restore from a copy into ${app} is running now; wait for it (jobs ${app}).`, () => fetchAndImport(actor, bucket, app, req, identity, progress));
}

/** restoreFromCopy's download, opening and import, with the key already read. */
async function fetchAndImport(actor: Actor, bucket: ObjectStore, app: string, req: ImportRequest & { copy: string; from?: string | undefined }, identity: string, progress: Progress): Promise<Imported> {
  const { database, folder, copies } = await listDatabaseCopies(actor, app, req.from);
  const pick = req.copy === 'latest' ? copies[0] : copies.find((c) => c === req.copy);
  if (!pick) throw new UserError(req.copy === 'latest' ? `There is no copy of ${database} in ${folder}.` : `There is no copy ${req.copy} of ${database} in ${folder}.`);
  const key = copyFolder(app, database) + pick;
  progress.transcript.step(`Downloading ${bucket.url(key)}`);
  return withDownload(actor.services.config, bucket, key, SCRATCH, async (file) => {
    const plain = await decrypting(createReadStream(file), identity, pick);
    return importDump(actor, app, req, plain, progress);
  }, actor.signal);
}
