import type { Db } from './db.ts';

/** One audit entry as stored: what happened, and its place in the hash chain (ops/audit/chain.ts). */
export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  credential: string | null;
  interface: string;
  source: string | null;
  action: string;
  app: string | null;
  object: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  job: string | null;
  /** Canonical JSON (keys sorted), as hashed. */
  meta: string;
  prev: string;
  hash: string;
}

/** Where the chain starts: the last pruning anchor (entries up to `upto` were deleted, the last one's hash was `hash`). */
export interface AuditAnchor {
  upto: number;
  hash: string;
  at: string;
}

/** What `audit` and GET /api/v1/audit filter by; `apps` (a list) limits the entries to those apps. */
export interface AuditFilter {
  app?: string;
  apps?: readonly string[];
  since?: string;
  actor?: string;
  action?: string;
  /** Entries with a sequence number below this one (paging newest first). */
  before?: number;
  limit: number;
}

/** The audit log's table and its pruning anchors. Entries are only ever added; the triggers refuse the rest. */
export function auditStore(db: Db) {
  const anchor = (): AuditAnchor | undefined => db.prepare<[], AuditAnchor>('SELECT upto, hash, at FROM audit_pruned ORDER BY upto DESC LIMIT 1').get();
  const last = (): AuditRow | undefined => db.prepare<[], AuditRow>('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get();
  return {
    /**
     * Appends one entry: `make` is given the head (the last entry's sequence number and hash, or
     * the anchor's, or undefined for the first entry ever) and returns the new row. Read and write
     * happen in one write transaction, so the server and the local CLI never fork the chain.
     */
    append: (make: (head: { seq: number; hash: string } | undefined) => AuditRow): AuditRow =>
      db.transaction(() => {
        const l = last();
        const a = l ? undefined : anchor();
        const row = make(l ? { seq: l.seq, hash: l.hash } : a ? { seq: a.upto, hash: a.hash } : undefined);
        db.prepare(`INSERT INTO audit (seq, at, actor, credential, interface, source, action, app, object, outcome, job, meta, prev, hash)
  VALUES (@seq, @at, @actor, @credential, @interface, @source, @action, @app, @object, @outcome, @job, @meta, @prev, @hash)`).run(row);
        return row;
      }).immediate(),
    /** The newest entry. */
    last,
    /** The newest pruning anchor, if entries were ever pruned. */
    anchor,
    /** The entry with this sequence number. */
    get: (seq: number): AuditRow | undefined => db.prepare<[number], AuditRow>('SELECT * FROM audit WHERE seq = ?').get(seq),
    /** The entry with this hash (audit:verify, locating where a chain was cut). */
    byHash: (hash: string): AuditRow | undefined => db.prepare<[string], AuditRow>('SELECT * FROM audit WHERE hash = ? ORDER BY seq LIMIT 1').get(hash),
    /** Up to `limit` entries after `seq`, oldest first (audit:verify and audit:export walk with it). */
    after: (seq: number, limit: number): AuditRow[] => db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit),
    /** Entries matching the filter, newest first. */
    list: (f: AuditFilter): AuditRow[] =>
      db.prepare<[Record<string, string | number | null>], AuditRow>(`SELECT * FROM audit
        WHERE (@app IS NULL OR app = @app)
          AND (@apps IS NULL OR app IN (SELECT value FROM json_each(@apps)))
          AND (@since IS NULL OR at >= @since)
          AND (@actor IS NULL OR actor = @actor)
          AND (@action IS NULL OR action = @action OR substr(action, 1, length(@action) + 1) = @action || ':')
          AND (@before IS NULL OR seq < @before)
        ORDER BY seq DESC LIMIT @limit`).all({
        app: f.app ?? null, apps: f.apps ? JSON.stringify(f.apps) : null, since: f.since ?? null, actor: f.actor ?? null,
        action: f.action ?? null, before: f.before ?? null, limit: f.limit,
      }),
    /** How many entries there are. */
    count: (): number => db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM audit').get()!.n,
    /** The newest entry recorded before `at` (retention: everything up to it may go). */
    lastBefore: (at: string): AuditRow | undefined => db.prepare<[string], AuditRow>('SELECT * FROM audit WHERE at < ? ORDER BY seq DESC LIMIT 1').get(at),
    /**
     * Deletes every entry up to `upto` after recording the anchor that lets the chain be checked
     * from `upto + 1` (the triggers refuse the delete without it), in one transaction.
     */
    prune: (upto: number, hash: string, at: string): number =>
      db.transaction(() => {
        db.prepare('INSERT INTO audit_pruned (upto, hash, at) VALUES (?, ?, ?)').run(upto, hash, at);
        return db.prepare('DELETE FROM audit WHERE seq <= ?').run(upto).changes;
      }).immediate(),
    /** The name of the access token with this hash, for an entry's credential (the hash itself is never shown). */
    tokenName: (hash: string): string | undefined => db.prepare<[string], { name: string }>('SELECT name FROM tokens WHERE hash = ?').get(hash)?.name,
  };
}
