import { now, type Db } from './db.ts';
import type { Sealer } from './sealing.ts';

/** How an app follows a repository elsewhere (sync:set), as stored. */
export interface SyncRow {
  app: string;
  url: string;
  branch: string;
  /** The deploy key's public half, for an SSH URL (the private half is a file beside the repos). */
  publicKey: string | null;
  /** The webhook's shared secret; null until sync:webhook makes one (deliveries are refused until then). */
  webhookSecret: string | null;
  /** Polling interval in seconds; null is off. */
  pollSeconds: number | null;
  /** When polling last looked (ms since the epoch). */
  polledAt: number | null;
  /** The commit the last sync fetched, and when. */
  lastCommit: string | null;
  fetchedAt: string | null;
  /** How the last sync ended, one sentence, and when. */
  lastResult: string | null;
  resultAt: string | null;
  /** The key that connected it (its syncs run with that key's rights), and over what. */
  setBy: string;
  setVia: 'ssh' | 'http' | 'local';
  createdAt: string;
}

interface Row {
  app: string; url: string; branch: string; public_key: string | null; webhook_secret: string | null;
  poll_seconds: number | null; polled_at: number | null; last_commit: string | null; fetched_at: string | null;
  last_result: string | null; result_at: string | null; set_by: string; set_via: SyncRow['setVia']; created_at: string;
}

const toSyncWith = (sealer: Sealer) => (r: Row): SyncRow => ({
  app: r.app, url: r.url, branch: r.branch, publicKey: r.public_key, webhookSecret: r.webhook_secret === null ? null : sealer.open(r.webhook_secret, 'syncs.webhook_secret', [r.app]),
  pollSeconds: r.poll_seconds, polledAt: r.polled_at, lastCommit: r.last_commit, fetchedAt: r.fetched_at,
  lastResult: r.last_result, resultAt: r.result_at, setBy: r.set_by, setVia: r.set_via, createdAt: r.created_at,
});

/** How long a webhook delivery's keys are remembered, and how many one app keeps at most (two a delivery: its id and its body's hash). */
export const DELIVERY_RETENTION_MS = 7 * 24 * 3600_000;
export const DELIVERIES_KEPT = 2000;

/** Apps connected to a repository elsewhere, and the webhook deliveries they received. */
export function syncsStore(db: Db, sealer: Sealer) {
  const toSync = toSyncWith(sealer);
  const get = (app: string): SyncRow | undefined => {
    const r = db.prepare<[string], Row>('SELECT * FROM syncs WHERE app = ?').get(app);
    return r ? toSync(r) : undefined;
  };
  return {
    get,
    /** Every connected app that polls. */
    polling: (): SyncRow[] => db.prepare<[], Row>('SELECT * FROM syncs WHERE poll_seconds IS NOT NULL ORDER BY app').all().map(toSync),
    /**
     * Connects the app (or changes where it points): a new URL or branch starts over (nothing
     * fetched yet); the webhook secret and polling interval are kept.
     */
    set: (s: Pick<SyncRow, 'app' | 'url' | 'branch' | 'publicKey' | 'setBy' | 'setVia'>): SyncRow => {
      db.prepare(`INSERT INTO syncs (app, url, branch, public_key, set_by, set_via, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (app) DO UPDATE SET url = excluded.url, branch = excluded.branch, public_key = excluded.public_key,
          set_by = excluded.set_by, set_via = excluded.set_via, last_commit = NULL, fetched_at = NULL, last_result = NULL, result_at = NULL, polled_at = NULL`)
        .run(s.app, s.url, s.branch, s.publicKey, s.setBy, s.setVia, now());
      return get(s.app)!;
    },
    /** Disconnects the app; false if it was not connected. Its deliveries go too. */
    remove: (app: string): boolean => db.transaction(() => {
      db.prepare('DELETE FROM hook_deliveries WHERE app = ?').run(app);
      return db.prepare('DELETE FROM syncs WHERE app = ?').run(app).changes > 0;
    })(),
    /** Sets the webhook secret. */
    setSecret: (app: string, secret: string): void => db.transaction(() => {
      db.prepare('UPDATE syncs SET webhook_secret = ? WHERE app = ?').run(sealer.seal(secret, 'syncs.webhook_secret', [app]), app);
    }).immediate(),
    /** Sets the polling interval (null: off). */
    setPoll: (app: string, seconds: number | null): void => {
      db.prepare('UPDATE syncs SET poll_seconds = ?, polled_at = NULL WHERE app = ?').run(seconds, app);
    },
    /** Records that polling looked at the app at `at` (ms). */
    polled: (app: string, at: number): void => {
      db.prepare('UPDATE syncs SET polled_at = ? WHERE app = ?').run(at, app);
    },
    /** Records the commit a sync fetched. */
    fetched: (app: string, commit: string): void => {
      db.prepare('UPDATE syncs SET last_commit = ?, fetched_at = ? WHERE app = ?').run(commit, now(), app);
    },
    /** Records how a sync ended. */
    result: (app: string, sentence: string): void => {
      db.prepare('UPDATE syncs SET last_result = ?, result_at = ? WHERE app = ?').run(sentence, now(), app);
    },
    /**
     * Claims a webhook delivery for the app by its keys (its id, its body's hash): true when none
     * was seen within the retention, and then all are kept; false, and nothing kept, when any
     * was. Old keys (past the retention, or beyond the newest DELIVERIES_KEPT) are forgotten as
     * new ones come.
     */
    claimDelivery: (app: string, keys: string | readonly string[], at: number = Date.now()): boolean => db.transaction(() => {
      const all = [...new Set([keys].flat())];
      db.prepare('DELETE FROM hook_deliveries WHERE app = ? AND received_at < ?').run(app, at - DELIVERY_RETENTION_MS);
      const seen = db.prepare<[string, string], { id: string }>('SELECT id FROM hook_deliveries WHERE app = ? AND id = ?');
      if (all.some((k) => seen.get(app, k))) return false;
      const insert = db.prepare('INSERT INTO hook_deliveries (app, id, received_at) VALUES (?, ?, ?)');
      for (const k of all) insert.run(app, k, at);
      db.prepare(`DELETE FROM hook_deliveries WHERE app = ? AND rowid NOT IN
        (SELECT rowid FROM hook_deliveries WHERE app = ? ORDER BY received_at DESC, rowid DESC LIMIT ?)`).run(app, app, DELIVERIES_KEPT);
      return true;
    }).immediate(),
    /** Gives a claimed delivery's keys back (its sync could not start, so the forge may deliver it again). */
    releaseDelivery: (app: string, keys: string | readonly string[]): void => {
      const remove = db.prepare('DELETE FROM hook_deliveries WHERE app = ? AND id = ?');
      for (const k of new Set([keys].flat())) remove.run(app, k);
    },
  };
}
