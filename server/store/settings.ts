import type { Db } from './db.ts';

/** Server-wide settings changed by admins at run time (e.g. the default builder image). */
export function settingsStore(db: Db) {
  return {
    get: (key: string): string | undefined =>
      db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?').get(key)?.value,
    set: (key: string, value: string | null): void => {
      if (value === null) db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      else db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
    },
  };
}
