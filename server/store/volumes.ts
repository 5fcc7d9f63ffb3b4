import { now, type Db } from './db.ts';

/** One of an app's volumes as stored: its claim's size and class, and where it is mounted. */
export interface VolumeRow {
  name: string;
  size: string;
  /** The StorageClass its claim names; null: the cluster's default. */
  storageClass: string | null;
  /** The process type and absolute path it is mounted at; null when it is not mounted. */
  mount: { process: string; path: string } | null;
  createdAt: string;
}

interface Raw { name: string; size: string; storage_class: string | null; process: string | null; path: string | null; created_at: string }

const row = (r: Raw): VolumeRow => ({
  name: r.name, size: r.size, storageClass: r.storage_class,
  mount: r.process !== null && r.path !== null ? { process: r.process, path: r.path } : null,
  createdAt: r.created_at,
});

/** Each app's volumes (storage:create) and their mounts (storage:mount), oldest first. */
export function volumesStore(db: Db) {
  const get = (app: string, name: string): VolumeRow | undefined => {
    const r = db.prepare<[string, string], Raw>('SELECT name, size, storage_class, process, path, created_at FROM volumes WHERE app = ? AND name = ?').get(app, name);
    return r && row(r);
  };
  return {
    list: (app: string): VolumeRow[] =>
      db.prepare<[string], Raw>('SELECT name, size, storage_class, process, path, created_at FROM volumes WHERE app = ? ORDER BY created_at, rowid').all(app).map(row),
    get,
    /** Adds a volume, unmounted; false when the app has one of that name already. */
    add: (app: string, v: { name: string; size: string; storageClass: string | null }): boolean =>
      db.prepare('INSERT OR IGNORE INTO volumes (app, name, size, storage_class, created_at) VALUES (?, ?, ?, ?, ?)').run(app, v.name, v.size, v.storageClass, now()).changes > 0,
    /** Removes a volume's row; false when there was none. */
    remove: (app: string, name: string): boolean =>
      db.prepare('DELETE FROM volumes WHERE app = ? AND name = ?').run(app, name).changes > 0,
    /** Sets (or with null, clears) where a volume is mounted. */
    setMount: (app: string, name: string, mount: { process: string; path: string } | null): void => {
      db.prepare('UPDATE volumes SET process = ?, path = ? WHERE app = ? AND name = ?').run(mount?.process ?? null, mount?.path ?? null, app, name);
    },
  };
}
