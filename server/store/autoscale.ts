import type { Db } from './db.ts';

/** An autoscaled process type's rule as stored (ps:autoscale). */
export interface AutoscaleRow {
  process: string;
  min: number;
  max: number;
  /** Percent of each instance's CPU limit to aim at, or null. */
  cpu: number | null;
  /** Percent of each instance's memory limit to aim at, or null. */
  memory: number | null;
}

/** Which of an app's process types an autoscaler counts, and how (ps:autoscale, ps:autoscale:off). */
export function autoscaleStore(db: Db) {
  return {
    /** The app's rules, by process type. */
    all: (app: string): AutoscaleRow[] =>
      db.prepare<[string], AutoscaleRow>('SELECT process, min, max, cpu, memory FROM autoscale WHERE app = ? ORDER BY process').all(app),
    /** Sets one type's rule (replacing the one it had). */
    set: (app: string, row: AutoscaleRow): void => {
      db.prepare('INSERT INTO autoscale (app, process, min, max, cpu, memory) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app, process) DO UPDATE SET min = excluded.min, max = excluded.max, cpu = excluded.cpu, memory = excluded.memory')
        .run(app, row.process, row.min, row.max, row.cpu, row.memory);
    },
    /** Removes one type's rule; false when it had none. */
    remove: (app: string, process: string): boolean => db.prepare('DELETE FROM autoscale WHERE app = ? AND process = ?').run(app, process).changes > 0,
    /** Replaces every rule of the app (puts back what was there before a failed change). */
    replace: (app: string, rows: readonly AutoscaleRow[]): void => {
      db.transaction(() => {
        db.prepare('DELETE FROM autoscale WHERE app = ?').run(app);
        const put = db.prepare('INSERT INTO autoscale (app, process, min, max, cpu, memory) VALUES (?, ?, ?, ?, ?, ?)');
        for (const r of rows) put.run(app, r.process, r.min, r.max, r.cpu, r.memory);
      }).immediate();
    },
  };
}
