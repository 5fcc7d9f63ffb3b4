// Slipway's own backups as `backups`, `backup:create` and `backup:verify` show them (ops/self-backup).
import { Type, type Static } from 'typebox';
import { Nullable } from './common.ts';

/** A verified archive's copy in an S3-compatible bucket: uploaded, then read back whole and its SHA-256 compared with the archive's. */
export const BackupCopySchema = Type.Object({
  url: Type.String({ description: 'Where the copy is (path-style: endpoint, bucket, key).' }),
  ok: Type.Boolean({ description: 'Uploaded and read back with the same SHA-256 as the archive.' }),
  copiedAt: Nullable(Type.String()), ms: Type.Integer({ description: 'The upload and the read back.' }),
  error: Nullable(Type.String({ description: 'Why the copy failed (the archive on disk stays good).' })),
}, { additionalProperties: false });
/** A backup's copy off the machine. */
export type BackupCopy = Static<typeof BackupCopySchema>;

/** One archive of Slipway in SLIPWAY_BACKUP_DIR, as recorded when it was written and verified. */
export const BackupRecordSchema = Type.Object({
  name: Type.String({ description: 'The archive file name (`slipway-20261205T101500Z.tar.age`).' }),
  createdAt: Type.String({ description: 'ISO time of the store copy.' }),
  bytes: Type.Integer({ minimum: 0, description: 'The encrypted archive on disk.' }),
  sha256: Type.String({ description: 'SHA-256 of the encrypted archive, for backup:verify without the key.' }),
  slipway: Type.String(), schema: Type.Integer({ description: "The store's schema version." }),
  apps: Type.Integer(), releases: Type.Integer(),
  images: Type.Integer({ description: 'Images (by digest) in the archive.' }),
  missingImages: Type.Array(Type.String(), { description: 'Images releases name that the registry no longer had.' }),
  blobs: Type.Integer(), blobBytes: Type.Integer({ description: 'Bytes of image blobs, each once.' }),
  writeMs: Type.Integer(), verifyMs: Nullable(Type.Integer()),
  verified: Type.Boolean({ description: 'Decrypted and checked whole right after it was written.' }),
  verifiedAt: Nullable(Type.String()), verifyError: Nullable(Type.String()),
  copy: Nullable(BackupCopySchema, { description: 'Its copy off the machine (SLIPWAY_BACKUP_S3_URL); null when none is configured or it was not verified.' }),
  deleted: Type.Array(Type.String(), { description: 'Older archives retention deleted after this one (backup:create).' }),
}, { additionalProperties: false });
/** One backup. */
export type BackupRecord = Static<typeof BackupRecordSchema>;

/** What backup:verify found. */
export const VerifyOutcomeSchema = Type.Object({
  name: Type.String(),
  how: Type.Union([Type.Literal('decrypted'), Type.Literal('checksum')], { description: '`decrypted`: with the key, checked whole; `checksum`: its bytes against the SHA-256 recorded when it was verified.' }),
  ok: Type.Boolean(), detail: Type.String(),
}, { additionalProperties: false });
/** What backup:verify found. */
export type VerifyOutcome = Static<typeof VerifyOutcomeSchema>;
