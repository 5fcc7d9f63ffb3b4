import { now, type Db } from './db.ts';
import type { Sealer } from './sealing.ts';

/** A log drain as stored: where an app's lines go (drains:add), or every app's (app null, --global). */
export interface DrainRow {
  /** A UUID; the drain's token, in every line it receives, is `d.` + id. */
  id: string;
  app: string | null;
  url: string;
  /** Extra HTTP headers of an OTLP drain (`--header K=V`). */
  headers: Record<string, string>;
  createdBy: string;
  createdAt: string;
  /** The collector's count of lines sent to it when drains:info last looked, and when it last grew. */
  sentSeen: number;
  lastOkAt: string | null;
}

interface Row {
  id: string; app: string | null; url: string; headers: string; created_by: string; created_at: string; sent_seen: number; last_ok_at: string | null;
}

/** A drain's URL and headers are sealed (they may carry a password or an API key), under its id. */
const toDrainWith = (sealer: Sealer) => (r: Row): DrainRow => ({
  id: r.id, app: r.app, url: sealer.open(r.url, 'drains.url', [r.id]),
  headers: JSON.parse(sealer.open(r.headers, 'drains.headers', [r.id])) as Record<string, string>,
  createdBy: r.created_by, createdAt: r.created_at, sentSeen: r.sent_seen, lastOkAt: r.last_ok_at,
});

/** Log drains, per app and global. */
export function drainsStore(db: Db, sealer: Sealer) {
  const toDrain = toDrainWith(sealer);
  return {
    /** Every drain, global ones first, each group by creation. */
    all: (): DrainRow[] => db.prepare<[], Row>('SELECT * FROM drains ORDER BY app IS NOT NULL, app, created_at, id').all().map(toDrain),
    /** An app's drains (null: the global ones), by creation. */
    list: (app: string | null): DrainRow[] => (app === null
      ? db.prepare<[], Row>('SELECT * FROM drains WHERE app IS NULL ORDER BY created_at, id').all()
      : db.prepare<[string], Row>('SELECT * FROM drains WHERE app = ? ORDER BY created_at, id').all(app)).map(toDrain),
    /** One drain by id. */
    get: (id: string): DrainRow | undefined => {
      const r = db.prepare<[string], Row>('SELECT * FROM drains WHERE id = ?').get(id);
      return r ? toDrain(r) : undefined;
    },
    /** Adds a drain. */
    add: (d: Pick<DrainRow, 'id' | 'app' | 'url' | 'headers' | 'createdBy'>): DrainRow => {
      db.prepare('INSERT INTO drains (id, app, url, headers, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(d.id, d.app, sealer.seal(d.url, 'drains.url', [d.id]), sealer.seal(JSON.stringify(d.headers), 'drains.headers', [d.id]), d.createdBy, now());
      return toDrain(db.prepare<[string], Row>('SELECT * FROM drains WHERE id = ?').get(d.id)!);
    },
    /** Removes a drain; false if there was none. */
    remove: (id: string): boolean => db.prepare('DELETE FROM drains WHERE id = ?').run(id).changes > 0,
    /** Records the collector's count of lines sent to a drain, and `at` when it grew. */
    sawSent: (id: string, sent: number, grew: boolean): void => {
      if (grew) db.prepare('UPDATE drains SET sent_seen = ?, last_ok_at = ? WHERE id = ?').run(sent, now(), id);
      else db.prepare('UPDATE drains SET sent_seen = ? WHERE id = ?').run(sent, id);
    },
  };
}
