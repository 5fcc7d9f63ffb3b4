// Backups of Slipway copied off the machine (SLIPWAY_BACKUP_S3_URL): each verified archive is
// uploaded to an S3-compatible bucket and read back whole, its SHA-256 the archive's; backup:verify
// reads the copy again; the local CLI's `restore NAME --from-s3` fetches one.
import { mkdtempSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { S3Bucket, type ObjectStore } from '../../s3.ts';
import type { BackupCopy, BackupRecord, VerifyOutcome } from '../../shapes/self-backups.ts';
import { NAME, newestFirst } from './names.ts';

/** Where verified backups are copied off the machine: the services' own (tests), the configured bucket, or nowhere. */
export function copiesOf(services: Pick<Services, 'config' | 'backupCopies'>): ObjectStore | undefined {
  return services.backupCopies ?? (services.config.backupS3 ? new S3Bucket(services.config.backupS3) : undefined);
}

/** An error as one line: an S3 service's code (AccessDenied, NoSuchBucket) before its message. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}

/** Copies the verified archive `file` off the machine and reads it back: ok only when the copy's SHA-256 is the archive's. */
export async function copyOff(bucket: ObjectStore, file: string, record: Pick<BackupRecord, 'name' | 'sha256' | 'bytes'>, signal?: AbortSignal): Promise<BackupCopy> {
  const started = Date.now();
  const url = bucket.url(record.name);
  try {
    await bucket.put(file, record.name, signal);
    const back = await bucket.sha256(record.name, signal);
    if (back.sha256 !== record.sha256) throw new Error(`the copy read back differs from the archive (${back.bytes} bytes, SHA-256 ${back.sha256.slice(0, 12)}…; the archive: ${record.bytes} bytes, ${record.sha256.slice(0, 12)}…)`);
    return { url, ok: true, copiedAt: new Date().toISOString(), ms: Date.now() - started, error: null };
  } catch (err) {
    log.error('a backup could not be copied off the machine', { name: record.name, url, err });
    return { url, ok: false, copiedAt: null, ms: Date.now() - started, error: reason(err) };
  }
}

/**
 * The local CLI's `restore NAME --from-s3`: the copy NAME (`latest`: the newest there) downloaded
 * from SLIPWAY_BACKUP_S3_URL into a new folder beside the data directory; `use` restores from it,
 * and the folder goes whatever happens.
 */
export async function withCopyFetched<T>(services: Pick<Services, 'config' | 'backupCopies'>, name: string, use: (file: string) => Promise<T>): Promise<T> {
  const bucket = copiesOf(services);
  if (!bucket) throw new UserError('restore --from-s3 needs SLIPWAY_BACKUP_S3_URL and SLIPWAY_BACKUP_S3_CREDENTIALS (and SLIPWAY_BACKUP_S3_CA for a private authority), the bucket the backups were copied to.');
  if (name !== 'latest' && !NAME.test(name)) throw new UserError(`${name} is not a backup name (like slipway-20261205T101500Z.tar.age) or latest.`);
  const names = await bucket.list().catch((err: unknown) => {
    throw new UserError(`The bucket ${bucket.url('')} cannot be listed: ${reason(err)}.`, { cause: err });
  });
  const there = names.filter((n) => NAME.test(n)).map((n) => ({ name: n })).sort(newestFirst).map((n) => n.name);
  const pick = name === 'latest' ? there[0] : there.find((n) => n === name);
  if (!pick) throw new UserError(name === 'latest' ? `There is no backup in ${bucket.url('')}.` : `There is no backup ${name} in ${bucket.url('')} (it holds ${there.length ? there.slice(0, 5).join(', ') : 'none'}).`);
  return withDownload(services.config, bucket, pick, '.slipway-download-', use);
}

/**
 * Runs `use` with a new folder beside the data directory (`prefix` and random letters: on the
 * data's disk, not in /tmp, which may be small); the folder goes whatever happens.
 */
export async function besideData<T>(config: Pick<Services['config'], 'dataDir'>, prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(dirname(resolve(config.dataDir)), prefix));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `key` downloaded from `bucket` into a folder beside the data directory (besideData) for `use`; a failed download is one sentence. */
export async function withDownload<T>(config: Pick<Services['config'], 'dataDir'>, bucket: ObjectStore, key: string, prefix: string, use: (file: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
  return besideData(config, prefix, async (dir) => {
    const file = join(dir, basename(key));
    await bucket.get(key, file, signal).catch((err: unknown) => {
      throw new UserError(`${bucket.url(key)} could not be downloaded: ${reason(err)}.`, { cause: err });
    });
    return use(file);
  });
}

/** The copy off the machine of a backup that checked out, read back and checked against the archive's SHA-256, added to `outcome`. */
export async function withCopy(services: Pick<Services, 'config' | 'backupCopies'>, record: BackupRecord, outcome: VerifyOutcome): Promise<VerifyOutcome> {
  const bucket = copiesOf(services);
  if (!bucket || !record.copy?.ok) return outcome;
  const back = await bucket.sha256(record.name).catch((err: unknown) => reason(err));
  if (typeof back === 'string') return { ...outcome, ok: false, detail: `${outcome.detail}; but its copy ${record.copy.url} cannot be read: ${back}` };
  if (back.sha256 !== record.sha256) return { ...outcome, ok: false, detail: `${outcome.detail}; but its copy ${record.copy.url} changed since it was written (SHA-256 ${back.sha256.slice(0, 12)}…, recorded ${record.sha256.slice(0, 12)}…)` };
  return { ...outcome, detail: `${outcome.detail}; its copy ${record.copy.url} was read back whole and matches` };
}
