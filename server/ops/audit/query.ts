// Reading the audit log: `audit`, `audit:export` and GET /api/v1/audit. Admins (and an admin
// key's tokens) see every entry; anyone else the entries of the apps they may use.
import { UsageError } from '../../errors.ts';
import { reachesAllApps } from '../../auth/access.ts';
import type { Actor } from '../actor.ts';
import type { AuditRow } from '../../store/audit.ts';
import type { AuditEntry } from '../../shapes/audit.ts';

/** Entries `audit` shows at most, newest first. */
export const AUDIT_LISTED = 200;

/** What a reader asks for; `app` was access-checked by the adapter. */
export interface AuditQuery {
  app?: string;
  since?: string;
  actor?: string;
  action?: string;
  limit?: number;
}

/** `--since`: an ISO 8601 date or time, or an age such as `30m`, `12h`, `7d`. */
export function parseSince(raw: string, now = new Date()): string {
  const age = /^(\d{1,6})([smhd])$/.exec(raw);
  if (age) return new Date(now.getTime() - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd']).toISOString();
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+Z?)?$/.test(raw) && !Number.isNaN(Date.parse(raw))) return new Date(raw).toISOString();
  throw new UsageError(`--since takes a date or time (2026-12-01, 2026-12-01T10:00:00Z) or an age (30m, 12h, 7d), not "${raw.slice(0, 40)}".`);
}

/** An entry as the interfaces show it. */
export function entryJson(r: AuditRow): AuditEntry {
  return {
    seq: r.seq, at: r.at, actor: r.actor, credential: r.credential, interface: r.interface as AuditEntry['interface'], source: r.source,
    action: r.action, app: r.app, object: r.object, outcome: r.outcome, job: r.job, meta: JSON.parse(r.meta) as Record<string, unknown>, prev: r.prev, hash: r.hash,
  };
}

/** The apps a reader is limited to, or undefined for every entry. */
function visibleApps(actor: Actor): string[] | undefined {
  if (reachesAllApps(actor.identity)) return undefined;
  return actor.services.store.apps.list(actor.identity.name).map((a) => a.name);
}

/** The newest entries matching the query that the actor may see. */
export function listAudit(actor: Actor, q: AuditQuery): AuditEntry[] {
  const apps = visibleApps(actor);
  return actor.services.store.audit.list({
    ...(q.app ? { app: q.app } : {}), ...(apps ? { apps } : {}), ...(q.since ? { since: q.since } : {}),
    ...(q.actor ? { actor: q.actor } : {}), ...(q.action ? { action: q.action } : {}), limit: q.limit ?? AUDIT_LISTED,
  }).map(entryJson);
}

/** Every matching entry the actor may see, oldest first, as JSON lines handed to `write` a page at a time. */
export async function exportAudit(actor: Actor, q: Omit<AuditQuery, 'limit'>, write: (lines: string[]) => Promise<void> | void): Promise<number> {
  const apps = visibleApps(actor);
  const pages: AuditRow[][] = [];
  let before: number | undefined;
  for (;;) {
    const page = actor.services.store.audit.list({
      ...(q.app ? { app: q.app } : {}), ...(apps ? { apps } : {}), ...(q.since ? { since: q.since } : {}),
      ...(q.actor ? { actor: q.actor } : {}), ...(q.action ? { action: q.action } : {}), ...(before !== undefined ? { before } : {}), limit: 5000,
    });
    if (page.length === 0) break;
    pages.push(page);
    before = page[page.length - 1]!.seq;
  }
  let n = 0;
  for (const page of pages.reverse()) {
    const lines = page.reverse().map((r) => JSON.stringify(entryJson(r)));
    n += lines.length;
    await write(lines);
  }
  return n;
}
