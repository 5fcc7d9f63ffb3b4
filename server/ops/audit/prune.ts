// Retention: entries older than SLIPWAY_AUDIT_RETENTION_DAYS go, by the one path the store
// allows. First an `audit:prune` entry records "pruned up to N, whose hash was H" in the chain;
// then, in one transaction, the anchor (N, H) is stored and entries up to N deleted. The chain is
// then checked from N + 1, whose `prev` is H, and the anchor is only believed when the chain
// holds the entry that announced it.
import type { Store } from '../../store/index.ts';
import type { AuditRecorder } from '../../context.ts';

/** The action of a pruning's entry. */
export const PRUNE_ACTION = 'audit:prune';

/** Deletes the entries recorded before `now - retentionMs`; returns how many went. */
export function pruneAudit(store: Store, audit: AuditRecorder, retentionMs: number, now = new Date()): number {
  const before = new Date(now.getTime() - retentionMs).toISOString();
  const last = store.audit.lastBefore(before);
  if (!last) return 0;
  audit.record({ actor: 'slipway', interface: 'server', action: PRUNE_ACTION, outcome: 'ok', object: String(last.seq), meta: { upto: last.seq, hash: last.hash, before } });
  return store.audit.prune(last.seq, last.hash, now.toISOString());
}
