import { now, type Db } from './db.ts';

/** Where a job was started from: an SSH command, the git push, the HTTP API, the local CLI, a forge's webhook, polling a forge, or a round of Slipway's own (`schedule`: the db-backups round's backups and drills). */
export type JobOrigin = 'ssh' | 'http' | 'api' | 'push' | 'cli' | 'webhook' | 'poll' | 'schedule';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
/** The statuses a job ends in. */
export type JobEnd = Exclude<JobStatus, 'queued' | 'running'>;

/** What a job the server stopped under says. */
export const INTERRUPTED = 'The server stopped while this job ran; it did not finish.';

/** A change that rolls out, as stored: who started it, how it ended, and where its transcript is. */
export interface JobRow {
  id: string;
  kind: string;
  app: string;
  by: string;
  origin: JobOrigin;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  release: number | null;
  error: string | null;
  logFile: string;
  /** How its starter proved who it is (`key`, `local`, `token NAME`, `session …`); null for jobs recorded before schema 31. */
  credential: string | null;
}

interface Row {
  id: string; kind: string; app: string; by_key: string; origin: JobOrigin; status: JobStatus;
  created_at: string; started_at: string | null; finished_at: string | null; release: number | null; error: string | null; log_file: string;
  credential: string | null;
}
const toJob = (r: Row): JobRow => ({
  id: r.id, kind: r.kind, app: r.app, by: r.by_key, origin: r.origin, status: r.status,
  createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at, release: r.release, error: r.error, logFile: r.log_file,
  credential: r.credential,
});

/** Jobs and where their transcripts are kept. */
export function jobsStore(db: Db) {
  const get = (id: string): JobRow | undefined => {
    const r = db.prepare<[string], Row>('SELECT * FROM jobs WHERE id = ?').get(id);
    return r ? toJob(r) : undefined;
  };
  return {
    /** Records a queued job. */
    create: (job: Pick<JobRow, 'id' | 'kind' | 'app' | 'by' | 'origin' | 'logFile'> & { credential?: string | null }): JobRow => {
      db.prepare("INSERT INTO jobs (id, kind, app, by_key, origin, status, created_at, log_file, credential) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)")
        .run(job.id, job.kind, job.app, job.by, job.origin, now(), job.logFile, job.credential ?? null);
      return get(job.id)!;
    },
    /** Marks a queued job running. */
    start: (id: string): JobRow => {
      db.prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'").run(now(), id);
      return get(id)!;
    },
    /** Records how a job ended; a job that already ended keeps its first end. Undefined if the row is gone (its app was destroyed). */
    finish: (id: string, status: JobEnd, result: { release?: number | null; error?: string | null } = {}): JobRow | undefined => {
      db.prepare("UPDATE jobs SET status = ?, finished_at = ?, release = ?, error = ? WHERE id = ? AND status IN ('queued', 'running')")
        .run(status, now(), result.release ?? null, result.error ?? null, id);
      return get(id);
    },
    get,
    /** Every app's newest job of one of `kinds`, by app: one query whatever the number of apps (apps:list). */
    newestOfKinds: (kinds: readonly string[]): Map<string, JobRow> => {
      if (kinds.length === 0) return new Map();
      const marks = kinds.map(() => '?').join(', ');
      const rows = db.prepare<string[], Row>(`SELECT jobs.* FROM jobs JOIN (SELECT MAX(rowid) AS newest FROM jobs WHERE kind IN (${marks}) GROUP BY app) n ON jobs.rowid = n.newest`).all(...kinds);
      return new Map(rows.map((r) => [r.app, toJob(r)]));
    },
    /** An app's jobs, newest first. */
    list: (app: string, limit: number): JobRow[] =>
      db.prepare<[string, number], Row>('SELECT * FROM jobs WHERE app = ? ORDER BY rowid DESC LIMIT ?').all(app, limit).map(toJob),
    /**
     * Marks every job a previous server left queued or running as interrupted (it died with them);
     * returns them. Their transcripts stay where they are.
     */
    interruptAbandoned: (): JobRow[] =>
      db.transaction(() => {
        const ids = db.prepare<[], { id: string }>("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all().map((r) => r.id);
        const at = now();
        const mark = db.prepare("UPDATE jobs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?");
        for (const id of ids) mark.run(at, INTERRUPTED, id);
        return ids.map((id) => get(id)!);
      }).immediate(),
    /**
     * Forgets an app's finished jobs beyond the newest `keep` (every one counted, finished or not);
     * returns the rows removed, whose transcripts the caller deletes.
     */
    prune: (app: string, keep: number): JobRow[] =>
      db.transaction(() => {
        const old = db.prepare<[string, string, number], Row>("SELECT * FROM jobs WHERE app = ? AND status NOT IN ('queued', 'running') AND rowid NOT IN (SELECT rowid FROM jobs WHERE app = ? ORDER BY rowid DESC LIMIT ?)")
          .all(app, app, keep).map(toJob);
        const del = db.prepare('DELETE FROM jobs WHERE id = ?');
        for (const j of old) del.run(j.id);
        return old;
      }).immediate(),
  };
}
