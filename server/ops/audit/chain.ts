// The audit log's hash chain: each entry's hash is SHA-256 over the hash of the entry before it
// and a canonical encoding of the entry itself (every column but the hash, in a fixed order, its
// metadata as JSON with sorted keys). Changing, inserting or removing an entry changes a hash
// that a later entry, or a signed checkpoint, holds.
import { createHash } from 'node:crypto';
import type { AuditRow } from '../../store/audit.ts';

/** The `prev` of the very first entry. */
export const GENESIS = '0'.repeat(64);

/** JSON with every object's keys sorted, so one value has one encoding. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** An entry's hash: SHA-256 of its predecessor's hash, a newline, and the entry's canonical encoding. */
export function entryHash(e: Omit<AuditRow, 'hash'>): string {
  const fields = [e.seq, e.at, e.actor, e.credential, e.interface, e.source, e.action, e.app, e.object, e.outcome, e.job, e.meta];
  return createHash('sha256').update(e.prev).update('\n').update(JSON.stringify(fields)).digest('hex');
}
