import type { EgressRule } from '../model.ts';
import { now, type Db } from './db.ts';

/** The egress:allow exceptions of each app, oldest first. */
export function egressStore(db: Db) {
  const rows = (app: string): EgressRule[] =>
    db.prepare<[string], { cidr: string; port: number }>('SELECT cidr, port FROM egress WHERE app = ? ORDER BY created_at, rowid').all(app)
      .map((r) => (r.port ? { cidr: r.cidr, port: r.port } : { cidr: r.cidr }));
  return {
    list: rows,
    /** Adds an exception; false when the app already has exactly this one. */
    add: (app: string, rule: EgressRule): boolean =>
      db.prepare('INSERT OR IGNORE INTO egress (app, cidr, port, created_at) VALUES (?, ?, ?, ?)').run(app, rule.cidr, rule.port ?? 0, now()).changes > 0,
    /** Removes an exception; false when the app has no such one. */
    remove: (app: string, rule: EgressRule): boolean =>
      db.prepare('DELETE FROM egress WHERE app = ? AND cidr = ? AND port = ?').run(app, rule.cidr, rule.port ?? 0).changes > 0,
  };
}
