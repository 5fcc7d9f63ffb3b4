// Slipway's own backups (issue 38): `backups`, `backup:create`, `backup:verify` (admins, over SSH,
// the API and the local CLI), and the local CLI's `backup:keygen FILE` and `restore ARCHIVE --key
// FILE`, which work on files of the machine they run on and so are refused over SSH. The local CLI
// runs those two without opening the store: restore needs an empty data directory.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.ts';
import type { Services } from '../context.ts';
import type { Config } from '../config.ts';
import { createBackup, listBackups, verifyBackup } from '../ops/self-backup/backups.ts';
import { withCopyFetched } from '../ops/self-backup/copies.ts';
import { identityIn, writeKeyFile } from '../ops/self-backup/age.ts';
import { requireEmpty, restoreArchive } from '../ops/self-backup/restore.ts';
import type { BackupRecord } from '../shapes/self-backups.ts';
import { defineCommand, listing, type Command, type CommandContext } from './types.ts';
import { actorOf } from './progress.ts';
import { humanBytes } from './gc.ts';

/** The commands the local CLI runs without opening the store. */
export const STORELESS = new Set(['backup:keygen', 'restore']);

/** What a storeless command is handed: the config alone (the data dir may not exist yet). */
export function configOnly(config: Readonly<Config>): Services {
  // No store is open to record into (restore makes the store); both work on this machine's files only.
  return { config, audit: { record: () => undefined } } as unknown as Services;
}

function localOnly(ctx: CommandContext, usage: string): void {
  if (ctx.identity.via !== 'local') throw new UserError(`${usage.split(' ')[0]} works on this machine's files: run it with the local CLI on the server (slipway ${usage}).`);
}

/** One backup as a line of `backups`. */
function row(r: BackupRecord): string[] {
  const state = r.verified ? 'verified' : `NOT verified${r.verifyError ? `: ${r.verifyError}` : ''}`;
  const copy = r.copy ? (r.copy.ok ? 'copied' : 'NOT copied') : '-';
  return [r.name, humanBytes(r.bytes), r.createdAt || '-', `${r.apps}`, `${r.images}`, state, copy];
}

/** Why backup:create failed, when it did: the archive's verification, else its copy off the machine. */
function createFailure(r: BackupRecord): UserError | undefined {
  if (!r.verified) return new UserError(`${r.name} was written but failed its verification: ${r.verifyError}`);
  if (r.copy && !r.copy.ok) return new UserError(`${r.name} was written and verified here, but its copy to ${r.copy.url} failed: ${r.copy.error}`);
  return undefined;
}

export const backupCommands: Command[] = [
  {
    name: 'backups',
    usage: '',
    summary: "List Slipway's own backups: name, size, time, apps, images, verified or not, copied off the machine or not",
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const all = listBackups(actorOf(ctx));
      return listing(all, (out) => {
        if (!all.length) out.line(`No backups in ${ctx.services.config.backupDir} yet; backup:create writes one.`);
        else out.table(all.map(row), ['NAME', 'SIZE', 'CREATED', 'APPS', 'IMAGES', 'STATE', 'COPY']);
      });
    },
  },
  {
    name: 'backup:create',
    usage: '',
    summary: 'Back up Slipway now (store, repositories, host key, settings, kept images), encrypted to SLIPWAY_BACKUP_KEY, verify it, and copy it to SLIPWAY_BACKUP_S3_URL if set',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: async (ctx) => {
      const r = await createBackup(actorOf(ctx));
      return listing(r, (out) => {
        out.line(`Backed up as ${r.name} (${humanBytes(r.bytes)}: ${r.apps} apps, ${r.releases} releases, ${r.images} images, ${r.blobs} blobs) in ${(r.writeMs / 1000).toFixed(1)} s.`);
        if (r.missingImages.length) out.line(`Not in the registry any more, so not in the backup: ${r.missingImages.join(', ')}.`);
        if (r.verified) out.line(`Verified in ${((r.verifyMs ?? 0) / 1000).toFixed(1)} s: it decrypts, every file and image blob matches its checksum, the store passes its integrity check.`);
        if (r.copy?.ok) out.line(`Copied to ${r.copy.url} and read back whole (the same SHA-256) in ${(r.copy.ms / 1000).toFixed(1)} s.`);
        if (r.deleted.length) out.line(`Retention deleted ${r.deleted.join(', ')}.`);
      }, createFailure(r));
    },
  },
  defineCommand({
    name: 'backup:verify',
    usage: '[NAME] [--key FILE]',
    summary: 'Check a backup again (the newest by default): against its recorded checksum, or with --key (local CLI) decrypted and checked whole',
    access: 'admin',
    args: { min: 0, max: 1 },
    flags: { key: { type: 'string', help: "the backup key file (local CLI only): decrypt the archive and check everything in it" } },
    json: true,
    run: async (ctx, [name], flags) => {
      let identity: string | undefined;
      if (flags.key !== undefined) {
        localOnly(ctx, 'backup:verify NAME --key FILE');
        const file = resolve(flags.key);
        let text: string;
        try { text = readFileSync(file, 'utf8'); } catch (err) {
          throw new UserError(`The key file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
        }
        identity = identityIn(text, file);
      }
      const v = await verifyBackup(actorOf(ctx), name, identity);
      return listing(v, (out) => out.line(`${v.name}: ${v.ok ? 'ok' : 'FAILED'}: ${v.detail}.`), v.ok ? undefined : new UserError(`${v.name} failed its check.`));
    },
  }),
  {
    name: 'backup:keygen',
    usage: 'FILE',
    summary: 'Make a backup key (local CLI; keep FILE off the server) and print the recipient for SLIPWAY_BACKUP_KEY',
    access: 'admin',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, [file]) => {
      localOnly(ctx, 'backup:keygen FILE');
      const k = await writeKeyFile(resolve(file!));
      return listing(k, (out) => {
        out.line(`Wrote the backup key to ${k.file} (mode 0600). Keep it off the server, and keep a copy: without it no backup can be restored.`);
        out.line(`Set on the server: SLIPWAY_BACKUP_KEY=${k.recipient}`);
      });
    },
  },
  defineCommand({
    name: 'restore',
    usage: 'ARCHIVE --key FILE [--from-s3]',
    summary: 'Restore a backup into an empty data dir (local CLI) and push its images into the registry; the next start deploys every app again. With --from-s3, ARCHIVE is a name in SLIPWAY_BACKUP_S3_URL, or latest',
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: {
      key: { type: 'string', help: 'the backup key file backup:keygen wrote' },
      'from-s3': { type: 'boolean', help: 'ARCHIVE is a backup in SLIPWAY_BACKUP_S3_URL (or latest): downloaded beside the data dir first' },
    },
    json: true,
    run: async (ctx, [archive], flags) => {
      localOnly(ctx, 'restore ARCHIVE --key FILE');
      if (flags.key === undefined) throw new UserError('restore needs the key: slipway restore ARCHIVE --key FILE.');
      const { config, images } = ctx.services;
      const restore = (file: string) => restoreArchive({ config, archive: file, keyFile: flags.key!, ...(images ? { images } : {}) });
      // Refused before a download, not after it.
      if (flags['from-s3']) requireEmpty(resolve(config.dataDir));
      const r = flags['from-s3'] ? await withCopyFetched(ctx.services, archive!, restore) : await restore(archive!);
      return listing(r, (out) => {
        out.line(`Restored ${r.apps.length} apps (${r.releases} releases) from a backup of ${r.manifest.createdAt} (Slipway ${r.manifest.slipway}, schema ${r.manifest.schema}) into ${r.dataDir} in ${(r.ms / 1000).toFixed(1)} s.`);
        out.line(`Images: ${r.images} pushed into ${r.registry} (${r.blobsPushed} blobs sent, ${r.blobsPresent} already there).`);
        if (r.retargeted > 0) out.line(`The backup's images were named for the registry ${r.manifest.registry}: ${r.retargeted} references now name ${r.registry}.`);
        out.line(`The settings it ran with are in ${r.dataDir}/restored-settings.json (the registry credential among them). Start Slipway: it deploys every app's current release again.`);
      });
    },
  }),
];
