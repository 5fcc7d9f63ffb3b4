import { now, type Db } from './db.ts';

/** An app's preview settings; null limit or TTL: the defaults. */
export interface PreviewSettings {
  enabled: boolean;
  maxPreviews: number | null;
  ttlSeconds: number | null;
  /** Config keys a new preview copies from its parent; every other key stays out. */
  sharedKeys: string[];
  /** Whether a new preview's Postgres databases are restored from the parent's latest backups (previews:config --fork-db) instead of starting empty. */
  forkDb: boolean;
}

/** One preview app: its own name, its parent's, the branch it runs, and its last push (null before the first succeeded). */
export interface PreviewRow {
  app: string;
  parent: string;
  branch: string;
  commit: string | null;
  pushedAt: string | null;
  createdAt: string;
}

interface SettingsRow { enabled: number; max_previews: number | null; ttl_seconds: number | null; shared_keys: string; fork_db: number }
interface Row { app: string; parent: string; branch: string; commit_sha: string | null; pushed_at: string | null; created_at: string }

const DEFAULT_SETTINGS: PreviewSettings = { enabled: false, maxPreviews: null, ttlSeconds: null, sharedKeys: [], forkDb: false };

function toRow(r: Row): PreviewRow {
  return { app: r.app, parent: r.parent, branch: r.branch, commit: r.commit_sha, pushedAt: r.pushed_at, createdAt: r.created_at };
}

/** Preview settings per app, and the preview apps themselves. */
export function previewsStore(db: Db) {
  const settings = (app: string): PreviewSettings => {
    const r = db.prepare<[string], SettingsRow>('SELECT * FROM preview_settings WHERE app = ?').get(app);
    return r ? { enabled: r.enabled === 1, maxPreviews: r.max_previews, ttlSeconds: r.ttl_seconds, sharedKeys: JSON.parse(r.shared_keys) as string[], forkDb: r.fork_db === 1 } : { ...DEFAULT_SETTINGS, sharedKeys: [] };
  };
  const put = (app: string, s: PreviewSettings): void => {
    db.prepare(`INSERT INTO preview_settings (app, enabled, max_previews, ttl_seconds, shared_keys, fork_db) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (app) DO UPDATE SET enabled = excluded.enabled, max_previews = excluded.max_previews, ttl_seconds = excluded.ttl_seconds, shared_keys = excluded.shared_keys, fork_db = excluded.fork_db`)
      .run(app, s.enabled ? 1 : 0, s.maxPreviews, s.ttlSeconds, JSON.stringify(s.sharedKeys), s.forkDb ? 1 : 0);
  };
  const get = db.prepare<[string], Row>('SELECT * FROM previews WHERE app = ?');
  return {
    /** The app's preview settings (the defaults when never set). */
    settings,
    /** Changes some of the app's preview settings. */
    configure: (app: string, change: Partial<PreviewSettings>): PreviewSettings => {
      const next = { ...settings(app), ...change };
      put(app, next);
      return next;
    },
    /** The preview row of a preview app, or undefined (a plain app). */
    get: (app: string): PreviewRow | undefined => {
      const r = get.get(app);
      return r ? toRow(r) : undefined;
    },
    /** The preview of `parent` for `branch`, or undefined. */
    byBranch: (parent: string, branch: string): PreviewRow | undefined => {
      const r = db.prepare<[string, string], Row>('SELECT * FROM previews WHERE parent = ? AND branch = ?').get(parent, branch);
      return r ? toRow(r) : undefined;
    },
    /** The previews of `parent`, or of every app, oldest first. */
    list: (parent?: string): PreviewRow[] =>
      (parent === undefined
        ? db.prepare<[], Row>('SELECT * FROM previews ORDER BY created_at, app').all()
        : db.prepare<[string], Row>('SELECT * FROM previews WHERE parent = ? ORDER BY created_at, app').all(parent)
      ).map(toRow),
    /**
     * Creates the preview app `app` (its apps row and its preview row, in one transaction) unless
     * the parent already has `max` previews: 'limit'; 'taken' when an app of that name exists.
     */
    create: (app: string, parent: string, branch: string, max: number): 'ok' | 'limit' | 'taken' =>
      db.transaction((): 'ok' | 'limit' | 'taken' => {
        const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM previews WHERE parent = ?').get(parent)!.n;
        if (count >= max) return 'limit';
        const at = now();
        if (db.prepare('INSERT OR IGNORE INTO apps (name, created_at) VALUES (?, ?)').run(app, at).changes !== 1) return 'taken';
        db.prepare('INSERT INTO previews (app, parent, branch, created_at) VALUES (?, ?, ?, ?)').run(app, parent, branch, at);
        return 'ok';
      }).immediate(),
    /** Records a push that deployed `commit` to the preview. */
    pushed: (app: string, commit: string, at: string = now()): void => {
      db.prepare('UPDATE previews SET commit_sha = ?, pushed_at = ? WHERE app = ?').run(commit, at, app);
    },
  };
}
