// Signed checkpoints of the audit log: once a day the head of the chain (its sequence number and
// hash) is signed with an ed25519 key kept in a file beside the SSH host key, outside the
// database. The signature goes into the chain as an `audit:checkpoint` entry, and the latest one
// also into a file beside the key, so a chain cut short after it is noticed too.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config.ts';
import type { Store } from '../../store/index.ts';
import { UserError } from '../../errors.ts';
import type { AuditRecorder } from '../../context.ts';

/** How often the head is signed. */
export const CHECKPOINT_EVERY_MS = 24 * 3600_000;

/** The action of a checkpoint's entry. */
export const CHECKPOINT_ACTION = 'audit:checkpoint';

/** A signed head: entry `seq` had hash `hash` at `at`. */
export interface Checkpoint {
  seq: number;
  hash: string;
  at: string;
  /** base64 ed25519 signature over checkpointText(). */
  signature: string;
}

/** The audit signing key's file (PKCS#8 PEM, 0600), beside the SSH host key. */
export function auditKeyFile(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'audit_ed25519_key');
}

/** The latest checkpoint, kept outside the database. */
export function checkpointFile(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'audit_checkpoint.json');
}

/** What a checkpoint signs. */
export function checkpointText(c: Pick<Checkpoint, 'seq' | 'hash' | 'at'>): string {
  return `slipway audit checkpoint\n${c.seq}\n${c.hash}\n${c.at}\n`;
}

/** Creates the signing key on first start; a key already there is kept. */
export function ensureAuditKey(config: Pick<Config, 'dataDir'>): void {
  const file = auditKeyFile(config);
  if (existsSync(file)) return;
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx': two processes starting at once never overwrite each other's key.
  try {
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`could not write the audit signing key ${file}`, { cause: err });
  }
}

function privateKey(config: Pick<Config, 'dataDir'>): KeyObject {
  const file = auditKeyFile(config);
  try {
    return createPrivateKey(readFileSync(file));
  } catch (err) {
    throw new UserError(`The audit signing key ${file} cannot be read; the server creates it when it starts.`, { cause: err });
  }
}

/** The public key checkpoints verify against, or undefined when the key file is missing. */
export function auditPublicKey(config: Pick<Config, 'dataDir'>): KeyObject | undefined {
  if (!existsSync(auditKeyFile(config))) return undefined;
  return createPublicKey(privateKey(config));
}

/** The public key as printed by audit:verify (the base64 of its raw 32 bytes, as in an OpenSSH ed25519 key). */
export function publicKeyText(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return `ed25519:${Buffer.from(jwk.x!, 'base64url').toString('base64')}`;
}

/** Whether `signature` is the key's signature over the checkpoint. */
export function checkpointVerifies(key: KeyObject, c: Checkpoint): boolean {
  try {
    return verify(null, Buffer.from(checkpointText(c)), key, Buffer.from(c.signature, 'base64'));
  } catch {
    // A signature that is not even base64 of the right length is one that does not verify.
    return false;
  }
}

/** The latest checkpoint from its file, or undefined when none was written yet. */
export function readCheckpointFile(config: Pick<Config, 'dataDir'>): Checkpoint | undefined {
  const file = checkpointFile(config);
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
    if (!Number.isInteger(c.seq) || typeof c.hash !== 'string' || typeof c.at !== 'string' || typeof c.signature !== 'string') throw new Error('a field is missing');
    return c;
  } catch (err) {
    throw new UserError(`The audit checkpoint file ${file} cannot be read.`, { cause: err });
  }
}

/**
 * Signs the head now: records the checkpoint as an entry and writes it to its file. Nothing is
 * signed when the log is empty. Returns the checkpoint.
 */
export function writeCheckpoint(config: Pick<Config, 'dataDir'>, store: Store, audit: AuditRecorder, at = new Date()): Checkpoint | undefined {
  const head = store.audit.last();
  if (!head) return undefined;
  const c: Omit<Checkpoint, 'signature'> = { seq: head.seq, hash: head.hash, at: at.toISOString() };
  const checkpoint: Checkpoint = { ...c, signature: sign(null, Buffer.from(checkpointText(c)), privateKey(config)).toString('base64') };
  audit.record({ actor: 'slipway', interface: 'server', action: CHECKPOINT_ACTION, outcome: 'ok', object: String(head.seq), meta: { ...checkpoint } });
  const file = checkpointFile(config);
  writeFileSync(file + '.tmp', JSON.stringify(checkpoint) + '\n', { mode: 0o600 });
  renameSync(file + '.tmp', file);
  return checkpoint;
}

/** Whether a checkpoint is due: none yet, or the last one is older than a day and entries came since. */
export function checkpointDue(config: Pick<Config, 'dataDir'>, store: Store, now: Date): boolean {
  const head = store.audit.last();
  if (!head) return false;
  const last = readCheckpointFile(config);
  if (!last) return true;
  // The checkpoint's own entry follows the head it signed: nothing new since.
  if (head.seq <= last.seq + 1) return false;
  return now.getTime() - Date.parse(last.at) >= CHECKPOINT_EVERY_MS;
}
