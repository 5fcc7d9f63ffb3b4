// A job as every interface shows it: `jobs:info --json` prints this object and the HTTP API
// answers with it, so both come from this one serializer.
import type { JobRow, JobStatus } from '../store/jobs.ts';
import type { Job } from '../shapes/jobs.ts';

/** The public object of a stored job: no file paths, no origin. */
export function jobJson(row: JobRow): Job {
  return {
    id: row.id, kind: row.kind, app: row.app, by: row.by, status: row.status,
    createdAt: row.createdAt, startedAt: row.startedAt, finishedAt: row.finishedAt, release: row.release, error: row.error,
    credential: row.credential,
  };
}

/** Whether a job has ended (nothing more is written to it). */
export function hasEnded(status: JobStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

// Lower-case letters and digits: URL-safe, and never read as an option (`-x`) by a command line.
const ID = /^[a-z0-9]{12}$/;

/** Whether `s` has the shape of a job id (anything else is not looked up). */
export function isJobId(s: string): boolean {
  return ID.test(s);
}
