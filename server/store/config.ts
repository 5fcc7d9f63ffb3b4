import type { Db } from './db.ts';
import type { Sealer } from './sealing.ts';

/** An app's config vars (environment). Values are secrets: never logged, stored sealed (store/sealing.ts). */
export function configStore(db: Db, sealer: Sealer) {
  return {
    /**
     * The app's vars by key. Built with Object.fromEntries, which defines own properties: a key
     * like `__proto__` is stored as data, not assigned as the prototype. Look keys up with
     * Object.hasOwn (`toString` is inherited, not a var).
     */
    all: (app: string): Record<string, string> =>
      Object.fromEntries(db.prepare<[string], { key: string; value: string }>('SELECT key, value FROM config WHERE app = ? ORDER BY key').all(app).map((r) => [r.key, sealer.open(r.value, 'config.value', [app, r.key])])),
    /** Sets and unsets in one transaction. */
    change: (app: string, set: Readonly<Record<string, string>>, unset: readonly string[] = []): void => {
      db.transaction(() => {
        const put = db.prepare('INSERT INTO config (app, key, value) VALUES (?, ?, ?) ON CONFLICT (app, key) DO UPDATE SET value = excluded.value');
        for (const [k, v] of Object.entries(set)) put.run(app, k, sealer.seal(v, 'config.value', [app, k]));
        const del = db.prepare('DELETE FROM config WHERE app = ? AND key = ?');
        for (const k of unset) del.run(app, k);
      }).immediate();
    },
  };
}
