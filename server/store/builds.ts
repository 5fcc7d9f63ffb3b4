import { now, type Db } from './db.ts';

export type BuildStatus = 'running' | 'succeeded' | 'failed';
export interface Build { id: number; app: string; commit: string; status: BuildStatus; logFile: string; image: string | null; startedAt: string; finishedAt: string | null }
interface Row { id: number; app: string; commit_sha: string; status: BuildStatus; log_file: string; image: string | null; started_at: string; finished_at: string | null }
const toBuild = (r: Row): Build => ({ id: r.id, app: r.app, commit: r.commit_sha, status: r.status, logFile: r.log_file, image: r.image, startedAt: r.started_at, finishedAt: r.finished_at });

/** Builds and where their full logs are kept. */
export function buildsStore(db: Db) {
  return {
    /** Records a running build; `logFileFor` names its log from the new id. */
    start: (app: string, commit: string, logFileFor: (id: number) => string): Build =>
      db.transaction(() => {
        const id = Number(db.prepare("INSERT INTO builds (app, commit_sha, status, log_file, started_at) VALUES (?, ?, 'running', '', ?)").run(app, commit, now()).lastInsertRowid);
        db.prepare('UPDATE builds SET log_file = ? WHERE id = ?').run(logFileFor(id), id);
        return toBuild(db.prepare<[number], Row>('SELECT * FROM builds WHERE id = ?').get(id)!);
      }).immediate(),
    finish: (id: number, status: Exclude<BuildStatus, 'running'>, image: string | null = null): void => {
      db.prepare('UPDATE builds SET status = ?, image = ?, finished_at = ? WHERE id = ?').run(status, image, now(), id);
    },
    get: (app: string, id: number): Build | undefined => {
      const r = db.prepare<[string, number], Row>('SELECT * FROM builds WHERE app = ? AND id = ?').get(app, id);
      return r ? toBuild(r) : undefined;
    },
    latest: (app: string): Build | undefined => {
      const r = db.prepare<[string], Row>('SELECT * FROM builds WHERE app = ? ORDER BY id DESC LIMIT 1').get(app);
      return r ? toBuild(r) : undefined;
    },
    list: (app: string, limit = 20): Build[] =>
      db.prepare<[string, number], Row>('SELECT * FROM builds WHERE app = ? ORDER BY id DESC LIMIT ?').all(app, limit).map(toBuild),
    /** Marks builds left running by a server that died as failed. */
    failAbandoned: (): number =>
      db.prepare("UPDATE builds SET status = 'failed', finished_at = ? WHERE status = 'running'").run(now()).changes,
  };
}
