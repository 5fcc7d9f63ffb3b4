// Slipway's own backups (admins): the same objects as backups, backup:create and backup:verify print with --json.
import { Type } from 'typebox';
import { route } from './route.ts';
import { actor } from './change.ts';
import { BackupRecordSchema, VerifyOutcomeSchema } from '../shapes/self-backups.ts';
import { createBackup, listBackups, verifyBackup } from '../ops/self-backup/backups.ts';

export const selfBackupRoutes = [
  route({
    method: 'GET', url: '/backups', tag: 'admin', need: 'admin',
    summary: "Slipway's own backups, newest first (= backups --json)",
    response: { 200: Type.Array(BackupRecordSchema) },
    handle: (call) => ({ status: 200, json: listBackups(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/backups', tag: 'admin', need: 'admin',
    summary: 'Back up Slipway now, encrypted to SLIPWAY_BACKUP_KEY, and verify it; answers once written and verified (= backup:create --json)',
    response: { 201: BackupRecordSchema },
    handle: async (call) => ({ status: 201, json: await createBackup(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/backups/:name/verify', tag: 'admin', need: 'admin',
    summary: 'Check a backup against the checksum recorded when it was written and verified (= backup:verify NAME --json)',
    params: Type.Object({ name: Type.String({ pattern: '^slipway-[0-9TZ-]{16,24}\\.tar\\.age$' }) }, { additionalProperties: false }),
    response: { 200: VerifyOutcomeSchema },
    handle: async (call) => ({ status: 200, json: await verifyBackup(actor(call), call.params.name) }),
  }),
];
