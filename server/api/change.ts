// How the API runs an operation: as the caller (an Actor), and for a change that rolls out, as a
// detached job: the operation checks its input and takes the app's lock first (a bad value is a
// 422, a held lock a 409, nothing recorded), then the API answers 202 with the job as soon as it
// is under way. The HTTP client going away (a closed browser tab) does not stop it; jobs:cancel
// or POST /jobs/ID/cancel does.
import type { ApiCall } from './route.ts';
import type { Actor, Progress } from '../ops/actor.ts';
import { lineTranscript } from '../output/transcript.ts';
import { jobJson } from '../jobs/job.ts';
import type { Job } from '../shapes/jobs.ts';
import type { JobRow } from '../store/jobs.ts';

/** The operation's caller: the checked identity, the services, and the request's signal (for reads that wait). */
export function actor(call: ApiCall): Actor {
  return { identity: call.identity, services: call.services, signal: call.signal };
}

/** Progress nobody reads, for an operation the request itself waits for (a backup); it stops when the client goes away. */
export function quietProgress(call: ApiCall): Progress {
  return { transcript: lineTranscript(() => {}), signal: call.signal };
}

/** The answer of a change that rolls out: 202 and its job. */
export interface AcceptedReply { status: 202; json: { job: Job } }

/** The answer of a change only stored: its status and what the operation returned. */
export interface StoredReply<S extends number, J> { status: S; json: J }

/** How to answer a change that ended without a job: this status, with the operation's result or `json(result)`. */
export interface Stored<T, S extends number, J> { status: S; json?: (result: T) => J }

/**
 * Runs a change: 202 with its job once it rolls out, or `stored.status` with the operation's result
 * (or `stored.json(result)`) when the operation ended without one (a setting only stored, the app
 * not deployed yet). Errors before the job (the operation's checks, a held lock) are the
 * request's; after it, they are the job's.
 */
export function runChange<T>(work: (actor: Actor, p: Progress) => Promise<T>, call: ApiCall): Promise<AcceptedReply>;
export function runChange<T, S extends number, J = T>(work: (actor: Actor, p: Progress) => Promise<T>, call: ApiCall, stored: Stored<T, S, J>): Promise<NoInfer<AcceptedReply | StoredReply<S, J>>>;
export async function runChange<T, S extends number, J>(work: (actor: Actor, p: Progress) => Promise<T>, call: ApiCall, stored?: Stored<T, S, J>): Promise<AcceptedReply | StoredReply<S, J>> {
  let onJob!: (job: JobRow) => void;
  const started = new Promise<JobRow>((resolve) => { onJob = resolve; });
  // Nothing stops a detached job but jobs:cancel (and apps:unlock, a revoked key, shutdown).
  const progress: Progress = { transcript: lineTranscript(() => {}), signal: new AbortController().signal, detached: true, origin: 'api', onJob };
  const done = work({ identity: call.identity, services: call.services }, progress);
  const first = await Promise.race([started.then((job) => ({ job })), done.then((result) => ({ result }))]);
  if ('job' in first) {
    // Its outcome is recorded in the job (and the log); nobody here waits for it.
    done.catch(() => {});
    return { status: 202, json: { job: jobJson(first.job) } };
  }
  if (!stored) throw new Error('the operation ended without starting a job');
  // Without `json`, J is T (its default): the result is the body as it is.
  return { status: stored.status, json: stored.json ? stored.json(first.result) : first.result as unknown as J };
}
