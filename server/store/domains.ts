import { now, type Db } from './db.ts';

/** Custom host names of apps; a host belongs to at most one app (it is the table's key). */
export function domainsStore(db: Db) {
  return {
    /** An app's custom domains, oldest first. */
    list: (app: string): string[] =>
      db.prepare<[string], { host: string }>('SELECT host FROM domains WHERE app = ? ORDER BY created_at, rowid').all(app).map((r) => r.host),
    /** The app a host belongs to, if any. */
    owner: (host: string): string | undefined =>
      db.prepare<[string], { app: string }>('SELECT app FROM domains WHERE host = ?').get(host)?.app,
    /** Adds a host to an app: 'ok', 'mine' (the app has it already) or 'taken' (another app has it). */
    add: (app: string, host: string): 'ok' | 'mine' | 'taken' =>
      db.transaction(() => {
        const owner = db.prepare<[string], { app: string }>('SELECT app FROM domains WHERE host = ?').get(host)?.app;
        if (owner !== undefined) return owner === app ? 'mine' as const : 'taken' as const;
        db.prepare('INSERT INTO domains (host, app, created_at) VALUES (?, ?, ?)').run(host, app, now());
        return 'ok' as const;
      }).immediate(),
    /** Removes a host from an app; false if the app did not have it. */
    remove: (app: string, host: string): boolean =>
      db.prepare('DELETE FROM domains WHERE app = ? AND host = ?').run(app, host).changes === 1,
  };
}
