// audit:verify: walks the chain from its start (the first entry, or the last pruning anchor) to
// its head, checks every checkpoint's signature and the hash it signed, and names the first entry
// that was edited, inserted or removed.
import type { Config } from '../../config.ts';
import type { Store } from '../../store/index.ts';
import type { AuditAnchor, AuditRow } from '../../store/audit.ts';
import { entryHash, GENESIS } from './chain.ts';
import { auditPublicKey, checkpointVerifies, CHECKPOINT_ACTION, publicKeyText, readCheckpointFile, type Checkpoint } from './checkpoint.ts';
import { PRUNE_ACTION } from './prune.ts';

/** Where and how the chain is broken. */
export interface AuditBreak {
  /** The first entry that is not as it was recorded (edited, inserted, or the first of those removed). */
  seq: number;
  kind: 'edited' | 'inserted' | 'removed' | 'rewritten' | 'forged-checkpoint';
  message: string;
}

/** What audit:verify found. */
export interface AuditVerdict {
  ok: boolean;
  /** Entries walked. */
  entries: number;
  first: number | null;
  head: { seq: number; hash: string } | null;
  /** Where the chain starts after pruning. */
  prunedUpTo: number | null;
  /** Checkpoints found in the chain whose signature verified. */
  checkpoints: number;
  lastCheckpoint: Checkpoint | null;
  /** The key checkpoints are checked with; null when the key file is missing (then signatures are not checked). */
  publicKey: string | null;
  broken: AuditBreak | null;
}

/** Entries read at a time. */
const PAGE = 5000;
/** How far back an entry's own number is looked for when it was moved up (entries inserted before it). */
const MAX_SHIFT = 64;

/** Where the chain breaks at `r`, which follows `prev`; undefined when `r` follows it as recorded. */
function breakAt(store: Store, prev: { seq: number; hash: string }, r: AuditRow): AuditBreak | undefined {
  if (entryHash(r) !== r.hash) {
    // Entries inserted before this one renumber it: its hash then matches its old number.
    for (let d = 1; d <= MAX_SHIFT && r.seq - d > 0; d++) {
      if (entryHash({ ...r, seq: r.seq - d }) !== r.hash) continue;
      const before = store.audit.byHash(r.prev);
      const seq = before ? before.seq + 1 : prev.seq;
      return { seq, kind: 'inserted', message: `Entry ${seq} was inserted: ${d === 1 ? 'it is' : `it and the ${d - 1} after it are`} not in the chain as recorded, and entry ${r.seq} was renumbered from ${r.seq - d}.` };
    }
    return { seq: r.seq, kind: 'edited', message: `Entry ${r.seq} was edited: its hash does not match its content.` };
  }
  if (r.prev !== prev.hash) {
    if (r.seq > prev.seq + 1) return { seq: prev.seq + 1, kind: 'removed', message: `Entry ${prev.seq + 1} was removed${r.seq > prev.seq + 2 ? ` (entries ${prev.seq + 1} to ${r.seq - 1} are missing)` : ''}.` };
    const before = store.audit.byHash(r.prev);
    if (before && before.seq < prev.seq) return { seq: before.seq + 1, kind: 'inserted', message: `Entry ${before.seq + 1} was inserted: entry ${r.seq} follows entry ${before.seq} in the chain.` };
    return { seq: prev.seq, kind: 'edited', message: `Entry ${prev.seq} was edited (and its hash recomputed): entry ${r.seq} was chained to another one.` };
  }
  if (r.seq !== prev.seq + 1) return { seq: r.seq, kind: 'edited', message: `Entry ${r.seq} was edited: it follows entry ${prev.seq} in the chain but is numbered ${r.seq}.` };
  return undefined;
}

/** A checkpoint entry's checkpoint, or undefined when its metadata is not one. */
function checkpointOf(r: AuditRow): Checkpoint | undefined {
  try {
    const m = JSON.parse(r.meta) as Partial<Checkpoint>;
    if (Number.isInteger(m.seq) && typeof m.hash === 'string' && typeof m.at === 'string' && typeof m.signature === 'string') return m as Checkpoint;
  } catch {
    // Not JSON: treated as a checkpoint without a valid signature below.
  }
  return undefined;
}

/** Walks the chain and its checkpoints; `broken` names the first bad entry. */
export function verifyAudit(config: Pick<Config, 'dataDir'>, store: Store): AuditVerdict {
  const key = auditPublicKey(config);
  const anchor: AuditAnchor | undefined = store.audit.anchor();
  let prev = anchor ? { seq: anchor.upto, hash: anchor.hash } : { seq: 0, hash: GENESIS };
  const verdict: AuditVerdict = {
    ok: true, entries: 0, first: null, head: null, prunedUpTo: anchor?.upto ?? null, checkpoints: 0, lastCheckpoint: null,
    publicKey: key ? publicKeyText(key) : null, broken: null,
  };
  const fail = (b: AuditBreak): AuditVerdict => ({ ...verdict, ok: false, broken: b });
  // Checkpoints that matched, so a mismatch narrows where a rewrite began.
  let lastGood = prev.seq;
  let anchorRecorded = anchor === undefined;
  const checkSigned = (c: Checkpoint, where: string): AuditBreak | undefined => {
    if (key && !checkpointVerifies(key, c)) return { seq: c.seq, kind: 'forged-checkpoint', message: `${where} is not signed by this server's audit key.` };
    if (anchor && c.seq <= anchor.upto) return undefined;
    const signed = store.audit.get(c.seq);
    if (!signed) return undefined;
    if (signed.hash !== c.hash) {
      const seq = Math.min(lastGood + 1, c.seq);
      return { seq, kind: 'rewritten', message: `An entry from ${seq} to ${c.seq} was changed and every hash after it recomputed: ${where} signed another hash for entry ${c.seq}.` };
    }
    lastGood = Math.max(lastGood, c.seq);
    return undefined;
  };
  for (let rows = store.audit.after(prev.seq, PAGE); rows.length > 0; rows = store.audit.after(prev.seq, PAGE)) {
    for (const r of rows) {
      const b = breakAt(store, prev, r);
      if (b) return fail(b);
      verdict.entries++;
      verdict.first ??= r.seq;
      if (r.action === CHECKPOINT_ACTION && r.actor === 'slipway') {
        const c = checkpointOf(r);
        if (!c) return fail({ seq: r.seq, kind: 'forged-checkpoint', message: `Entry ${r.seq} is a checkpoint without a signature.` });
        const cb = checkSigned(c, `The checkpoint in entry ${r.seq}`);
        if (cb) return fail(cb);
        verdict.checkpoints++;
        verdict.lastCheckpoint = c;
      }
      if (anchor && r.action === PRUNE_ACTION && r.actor === 'slipway') {
        const m = JSON.parse(r.meta) as { upto?: number; hash?: string };
        if (m.upto === anchor.upto && m.hash === anchor.hash) anchorRecorded = true;
      }
      prev = { seq: r.seq, hash: r.hash };
    }
  }
  verdict.head = verdict.entries > 0 ? prev : null;
  if (!anchorRecorded) return fail({ seq: anchor!.upto, kind: 'removed', message: `Entries up to ${anchor!.upto} were deleted without a recorded pruning (no ${PRUNE_ACTION} entry names that anchor).` });
  const file = readCheckpointFile(config);
  if (file) {
    const cb = checkSigned(file, 'The checkpoint file');
    if (cb) return fail(cb);
    if ((!anchor || file.seq > anchor.upto) && file.seq > prev.seq) {
      return fail({ seq: prev.seq + 1, kind: 'removed', message: `Entry ${prev.seq + 1} was removed: the chain ends at ${prev.seq}, but the checkpoint of ${file.at} signed entry ${file.seq}.` });
    }
    if (!verdict.lastCheckpoint || file.seq > verdict.lastCheckpoint.seq) verdict.lastCheckpoint = file;
  }
  return verdict;
}
