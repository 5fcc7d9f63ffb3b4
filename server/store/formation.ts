import type { Db } from './db.ts';

/** How many instances of each process type an app runs (`ps:scale`); absent types use defaults. */
export function formationStore(db: Db) {
  return {
    /** The stored quantities, by process type. */
    all: (app: string): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of db.prepare<[string], { process: string; quantity: number }>('SELECT process, quantity FROM formation WHERE app = ? ORDER BY process').all(app)) out[r.process] = r.quantity;
      return out;
    },
    /** Sets quantities in one transaction; types not named keep theirs. */
    set: (app: string, quantities: Readonly<Record<string, number>>): void => {
      db.transaction(() => {
        const put = db.prepare('INSERT INTO formation (app, process, quantity) VALUES (?, ?, ?) ON CONFLICT (app, process) DO UPDATE SET quantity = excluded.quantity');
        for (const [process, quantity] of Object.entries(quantities)) put.run(app, process, quantity);
      }).immediate();
    },
    /** Replaces the whole formation (puts back what was there before a failed scale). */
    replace: (app: string, quantities: Readonly<Record<string, number>>): void => {
      db.transaction(() => {
        db.prepare('DELETE FROM formation WHERE app = ?').run(app);
        const put = db.prepare('INSERT INTO formation (app, process, quantity) VALUES (?, ?, ?)');
        for (const [process, quantity] of Object.entries(quantities)) put.run(app, process, quantity);
      }).immediate();
    },
  };
}
