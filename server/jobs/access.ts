// Who may see a job, and following one for as long as that holds: the one rule for `jobs:*` over
// SSH and the API's /jobs routes. A job is named by its id alone, so the rights on its app are
// checked here, and a job the caller may not see is "not found", exactly as an id that does not exist.
import type { Identity } from '../auth/identity.ts';
import type { Services } from '../context.ts';
import { mayUseApp, reachesAllApps } from '../auth/access.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { shown } from '../names.ts';
import type { Store } from '../store/index.ts';
import type { JobRow } from '../store/jobs.ts';
import { isJobId, jobJson } from './job.ts';
import type { Job } from '../shapes/jobs.ts';

/** A job that does not exist or that the caller may not see (the two are not told apart to non-admins). */
export class JobNotFoundError extends NotFoundError {
  constructor(id: string, admin: boolean) {
    super(shown(id));
    this.message = admin ? `There is no job ${shown(id)}.` : `There is no job ${shown(id)}, or your key has no access to its app.`;
    this.name = 'JobNotFoundError';
  }
}

/** What the job rules need: the store, the runner, and the commands in flight (to stop a follower who loses the app). */
type JobServices = Pick<Services, 'jobs' | 'sessions'> & { store: Pick<Store, 'apps' | 'keys' | 'previews'> };

/** How many jobs a listing gives, newest first (`jobs APP`, GET /apps/APP/jobs). */
export const JOBS_LISTED = 50;

/** An app's newest jobs, newest first, as every interface shows them; the caller checked the app's rights. */
export function listJobs(services: { store: Pick<Store, 'jobs'> }, app: string): Job[] {
  return services.store.jobs.list(app, JOBS_LISTED).map(jobJson);
}

/** The job with this id if `identity` may see it (admins: every job; others: jobs of apps they use); else JobNotFoundError. */
export function visibleJob(services: Pick<JobServices, 'store' | 'jobs'>, identity: Identity, id: string): JobRow {
  const job = isJobId(id) ? services.jobs.get(id) : undefined;
  if (!job || !mayUseApp(services.store, identity, job.app)) throw new JobNotFoundError(id, reachesAllApps(identity));
  return job;
}

/**
 * Follows a job (see JobRunner.follow) for as long as `identity` may use its app: a key that loses
 * the app stops following at once, with the sentence saying so, as `logs -t` does. Resolves with
 * the job as it stands when following ended (its end, unless `signal` aborted first).
 */
export async function followJob(services: JobServices, identity: Identity, job: JobRow, onLines: (lines: string[]) => Promise<void> | void, signal: AbortSignal): Promise<JobRow> {
  const session = services.sessions.begin(job.app, identity, signal);
  let ended: JobRow;
  try {
    ended = await services.jobs.follow(job, onLines, session.controller.signal);
  } finally {
    services.sessions.end(session);
  }
  const why: unknown = session.controller.signal.reason;
  if (session.controller.signal.aborted && !signal.aborted && why instanceof UserError) throw why;
  return ended;
}
