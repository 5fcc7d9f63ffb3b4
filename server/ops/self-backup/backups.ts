// Slipway's own backups as operations (issue 38): backup:create writes one encrypted archive of the
// store, the repositories, the host key, the settings and every kept image, verifies it at once and
// then applies retention; backups lists them; backup:verify checks one again. The archive is
// encrypted to the admin's recipient (SLIPWAY_BACKUP_KEY) and to a one-time key made for this backup
// alone, which verifies it and is then forgotten: the server proves every archive it wrote opens
// and is whole without ever holding a key that opens an old one. With SLIPWAY_BACKUP_S3_URL, each
// verified archive is also copied to an S3-compatible bucket and read back whole (its SHA-256 the
// archive's), so the copy off the machine is proven too; retention deletes both.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import type { Config } from '../../config.ts';
import { log } from '../../output/log.ts';
import { RegistryBlobs, type ImageBlobs } from '../../build/registry-blobs.ts';
import type { ObjectStore } from '../../s3.ts';
import type { BackupCopy, BackupRecord, VerifyOutcome } from '../../shapes/self-backups.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';
import { newKeyPair } from './age.ts';
import { readArchive } from './read.ts';
import { writeArchive } from './write.ts';
import { copiesOf, copyOff, withCopy } from './copies.ts';
import { NAME, newestFirst, order } from './names.ts';

/** The registry client a backup reads images with: the services' own (tests), or the configured registry's. */
export function imagesOf(services: Pick<Services, 'config'> & { images?: ImageBlobs }): ImageBlobs {
  return services.images ?? new RegistryBlobs(services.config.registry, services.config.registryAuth);
}

/** The sentence when no key is set. */
export const NO_KEY = 'No backup key is set: run `slipway backup:keygen FILE` on a machine you trust, set SLIPWAY_BACKUP_KEY to the age1… recipient it prints, and restart Slipway.';

let running: Promise<BackupRecord> | undefined;

/** Whether a backup is being written now (secrets:rotate-key waits for it). */
export const backupInProgress = (): boolean => running !== undefined;

/** backup:create (admins): one backup now, verified, then retention. */
export async function createBackup(actor: Actor): Promise<BackupRecord> {
  requireAdmin(actor, 'Only admins may back up Slipway.');
  return backUp(actor.services, actor.signal);
}

/** One backup now (the round's and backup:create's), refused while another is being written here. */
export async function backUp(services: Services, signal?: AbortSignal): Promise<BackupRecord> {
  const { config } = services;
  if (!config.backupRecipient) throw new UserError(NO_KEY);
  if (running) throw new UserError('A backup is being written now; wait for it to end (backups lists it when done).');
  running = writeAndVerify(services, config.backupRecipient, signal);
  try {
    return await running;
  } finally {
    running = undefined;
  }
}

async function writeAndVerify(services: Services, recipient: string, signal?: AbortSignal): Promise<BackupRecord> {
  const { config } = services;
  mkdirSync(config.backupDir, { recursive: true, mode: 0o700 });
  const name = freshName(config.backupDir, new Date());
  const file = join(config.backupDir, name);
  const once = await newKeyPair();
  const started = Date.now();
  const write = () => writeArchive({ config, store: services.store, images: imagesOf(services), file, recipients: [recipient, once.recipient], signal });
  // As a build does: the registry's storage is not garbage-collected while blobs are read from it.
  const written = services.pushes ? await services.pushes.building(write) : await write();
  const writeMs = Date.now() - started;
  const record: BackupRecord = {
    name, createdAt: written.manifest.createdAt, bytes: written.bytes, sha256: written.sha256, slipway: written.manifest.slipway, schema: written.manifest.schema,
    apps: written.manifest.apps.length, releases: written.manifest.apps.reduce((n, a) => n + a.releases.length, 0),
    images: written.manifest.images.length, missingImages: written.manifest.missingImages, blobs: written.blobs, blobBytes: written.blobBytes,
    writeMs, verifyMs: null, verified: false, verifiedAt: null, verifyError: null, copy: null, deleted: [],
  };
  const checkStarted = Date.now();
  const scratch = mkdtempSync(join(config.backupDir, '.verify-'));
  try {
    await readArchive(file, once.identity, scratch, name);
    record.verified = true;
    record.verifiedAt = new Date().toISOString();
  } catch (err) {
    record.verifyError = err instanceof Error ? err.message : String(err);
    log.error('a backup failed its verification', { name, err });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  record.verifyMs = Date.now() - checkStarted;
  const bucket = copiesOf(services);
  if (record.verified && bucket) record.copy = await copyOff(bucket, file, record, signal);
  saveRecord(config, record);
  if (record.verified) record.deleted = await applyRetention(config, bucket, Date.now());
  return record;
}

/** A name no archive in `dir` has yet. */
function freshName(dir: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  for (let n = 1; ; n++) {
    const name = `slipway-${stamp}${n === 1 ? '' : `-${n}`}.tar.age`;
    if (!existsSync(join(dir, name)) && !existsSync(join(dir, `${name}.partial`))) return name;
  }
}

function recordFile(config: Pick<Config, 'backupDir'>, name: string): string {
  return join(config.backupDir, `${name}.json`);
}

function saveRecord(config: Pick<Config, 'backupDir'>, record: BackupRecord): void {
  const { deleted: _deleted, ...kept } = record;
  writeFileSync(recordFile(config, record.name), JSON.stringify(kept, null, 2), { mode: 0o600 });
}

/** Every archive in the backup directory with its record, newest first. */
export function readRecords(config: Pick<Config, 'backupDir'>): BackupRecord[] {
  if (!existsSync(config.backupDir)) return [];
  const out: BackupRecord[] = [];
  for (const f of readdirSync(config.backupDir)) {
    if (!NAME.test(f)) continue;
    try {
      // Records written before copies existed have none.
      const kept = JSON.parse(readFileSync(recordFile(config, f), 'utf8')) as Omit<BackupRecord, 'copy'> & { copy?: BackupCopy | null };
      out.push({ ...kept, copy: kept.copy ?? null, deleted: [] });
    } catch (err) {
      // An archive without its record (copied in by hand): listed, never verified here.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      out.push({ name: f, createdAt: '', bytes: 0, sha256: '', slipway: '', schema: 0, apps: 0, releases: 0, images: 0, missingImages: [], blobs: 0, blobBytes: 0, writeMs: 0, verifyMs: null, verified: false, verifiedAt: null, verifyError: 'no record of this archive', copy: null, deleted: [] });
    }
  }
  return out.sort(newestFirst);
}

/**
 * Retention after a verified backup: the newest SLIPWAY_BACKUP_KEEP verified archives stay, the
 * newest verified one always; older verified ones, any older than SLIPWAY_BACKUP_MAX_AGE_DAYS and
 * unverified ones older than the newest verified go. Returns the names deleted.
 */
export function planRetention(records: readonly Pick<BackupRecord, 'name' | 'createdAt' | 'verified'>[], keep: number, maxAgeMs: number, now: number): string[] {
  const sorted = [...records].sort(newestFirst);
  const newest = sorted.find((r) => r.verified);
  if (!newest) return [];
  const keptVerified = new Set(sorted.filter((r) => r.verified).slice(0, keep).map((r) => r.name));
  return sorted.filter((r) => {
    if (r.name === newest.name) return false;
    const old = r.createdAt !== '' && now - Date.parse(r.createdAt) > maxAgeMs;
    if (old) return true;
    if (r.verified) return !keptVerified.has(r.name);
    return order(r.name) < order(newest.name);
  }).map((r) => r.name);
}

/** Deletes what retention lets go: the archives, their records and their copies off the machine (a copy that cannot be deleted is logged, and left). */
async function applyRetention(config: Pick<Config, 'backupDir' | 'backupKeep' | 'backupMaxAgeMs'>, bucket: ObjectStore | undefined, now: number): Promise<string[]> {
  const records = readRecords(config);
  const gone = planRetention(records, config.backupKeep, config.backupMaxAgeMs, now);
  for (const name of gone) {
    rmSync(join(config.backupDir, name), { force: true });
    rmSync(recordFile(config, name), { force: true });
    if (!bucket || !records.find((r) => r.name === name)?.copy) continue;
    await bucket.remove(name).catch((err: unknown) => log.error('an old backup\'s copy off the machine could not be deleted', { name, url: bucket.url(name), err }));
  }
  if (gone.length) log.info('old backups deleted', { deleted: gone });
  return gone;
}

/** backups (admins): every archive, newest first. */
export function listBackups(actor: Actor): BackupRecord[] {
  requireAdmin(actor, 'Only admins may list backups.');
  return readRecords(actor.services.config);
}

/**
 * backup:verify [NAME] (admins; the newest without a name). With the key (the local CLI's --key),
 * the archive is decrypted into a scratch directory and checked whole; without it (the server holds
 * only the recipient), its bytes are checked against the SHA-256 recorded when it was written and
 * verified, which shows any change since.
 */
export async function verifyBackup(actor: Actor, name: string | undefined, identity?: string): Promise<VerifyOutcome> {
  requireAdmin(actor, 'Only admins may verify backups.');
  const { config } = actor.services;
  const records = readRecords(config);
  if (name !== undefined && !NAME.test(name)) throw new UserError(`${name} is not a backup name (like slipway-20261205T101500Z.tar.age); run backups for the list.`);
  const record = name === undefined ? records[0] : records.find((r) => r.name === name);
  if (!record) throw new UserError(name === undefined ? `There is no backup in ${config.backupDir} yet; run backup:create.` : `There is no backup ${name} in ${config.backupDir}; run backups for the list.`);
  const outcome = await verifyArchive(config, record, identity);
  return outcome.ok ? withCopy(actor.services, record, outcome) : outcome;
}

/** The archive itself: decrypted and checked whole with the key, else its bytes against its recorded SHA-256. */
async function verifyArchive(config: Pick<Config, 'backupDir'>, record: BackupRecord, identity: string | undefined): Promise<VerifyOutcome> {
  const file = join(config.backupDir, record.name);
  if (identity !== undefined) {
    const scratch = mkdtempSync(join(config.backupDir, '.verify-'));
    try {
      const check = await readArchive(file, identity, scratch, record.name);
      return { name: record.name, how: 'decrypted', ok: true, detail: `decrypted and checked: ${check.files} files, ${check.blobs} image blobs, the store passes SQLite's integrity check (schema ${check.manifest.schema})` };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  const sha = hash.digest('hex');
  if (!record.sha256) return { name: record.name, how: 'checksum', ok: false, detail: 'no checksum was recorded for this archive: verify it with the key (slipway backup:verify NAME --key FILE)' };
  if (sha !== record.sha256) return { name: record.name, how: 'checksum', ok: false, detail: `its bytes changed since it was written (SHA-256 ${sha.slice(0, 12)}…, recorded ${record.sha256.slice(0, 12)}…): it will not restore` };
  const when = record.verified ? `decrypted and checked whole when written (${record.verifiedAt})` : `NOT verified when written: ${record.verifyError}`;
  return { name: record.name, how: 'checksum', ok: record.verified, detail: `unchanged since it was written (SHA-256 matches); ${when}. A full check needs the key: slipway backup:verify ${record.name} --key FILE` };
}

/** doctor's check, when backups are configured: the newest verified backup is recent enough. */
export function backupFreshness(config: Pick<Config, 'backupRecipient' | 'backupDir' | 'backupStaleMs' | 'backupS3'>, now: number): { ok: boolean; detail: string; fix?: string } | undefined {
  if (!config.backupRecipient) return undefined;
  const newest = readRecords(config).find((r) => r.verified);
  const hours = Math.round(config.backupStaleMs / 3_600_000);
  const fix = 'backup:create writes one now; SLIPWAY_BACKUP_INTERVAL_S has the self-backup round write them';
  if (!newest) return { ok: false, detail: `no verified backup of Slipway in ${config.backupDir}`, fix };
  const age = now - Date.parse(newest.createdAt);
  if (age > config.backupStaleMs) return { ok: false, detail: `the newest verified backup, ${newest.name}, is ${Math.round(age / 3_600_000)} h old (more than ${hours} h)`, fix };
  if (config.backupS3 && !newest.copy?.ok) {
    return { ok: false, detail: `the newest verified backup, ${newest.name}, has no copy off the machine${newest.copy?.error ? `: ${newest.copy.error}` : ' (it was written before SLIPWAY_BACKUP_S3_URL was set)'}`, fix: 'check the SLIPWAY_BACKUP_S3_* settings and the bucket; backup:create copies the next one' };
  }
  return { ok: true, detail: `the newest verified backup, ${newest.name}, is ${Math.round(age / 60_000)} min old (at most ${hours} h)` };
}
