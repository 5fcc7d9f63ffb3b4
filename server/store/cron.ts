import { now, type Db } from './db.ts';

/** The scheduled tasks cron:suspend paused, by app and task id; kept across releases until cron:resume. */
export function cronStore(db: Db) {
  return {
    /** The ids of the app's suspended tasks. */
    suspended: (app: string): string[] =>
      db.prepare<[string], { id: string }>('SELECT id FROM cron_suspended WHERE app = ? ORDER BY id').all(app).map((r) => r.id),
    /** Suspends (true) or resumes (false) a task; false when it already was so. */
    setSuspended: (app: string, id: string, suspended: boolean): boolean =>
      (suspended
        ? db.prepare('INSERT OR IGNORE INTO cron_suspended (app, id, created_at) VALUES (?, ?, ?)').run(app, id, now())
        : db.prepare('DELETE FROM cron_suspended WHERE app = ? AND id = ?').run(app, id)).changes > 0,
  };
}
