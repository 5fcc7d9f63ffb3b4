// How the API runs an operation: as the caller (an Actor), and for a change that rolls out, as a
// job that outlives the request. The job is started detached: the HTTP client going away (a
// closed browser tab) does not stop it; jobs:cancel or POST /jobs/ID/cancel does.
import type { ApiCall, Reply } from './route.ts';
import type { Actor, Progress } from '../ops/actor.ts';
import { LockedError } from '../errors.ts';
import { lockedSentence } from '../ops/lock.ts';
import { lineTranscript } from '../output/transcript.ts';
import { jobJson } from '../jobs/job.ts';

/** The operation's caller: the checked identity, the services, and the request's signal. */
export function actor(call: ApiCall): Actor {
  return { identity: call.identity, services: call.services, signal: call.signal };
}

/** Whether a change to the app's settings rolls out now (a cluster, and a release running) or is only stored. */
export function rollsOut(call: ApiCall, app: string): boolean {
  return call.services.deployer !== undefined && call.services.store.releases.current(app)?.image != null;
}

/** Progress nobody reads, for an operation that only stores (it reports nothing then). */
export function discardProgress(): Progress {
  return { transcript: lineTranscript(() => {}), signal: new AbortController().signal };
}

/**
 * Starts `work` as a job and answers 202 with it. A lock someone holds is refused first (409),
 * before a job is recorded; the job itself takes the lock and fails the same way if it lost a race.
 */
export function startChange(call: ApiCall, app: string, kind: string, work: (p: Progress) => Promise<unknown>): Reply {
  const lock = call.services.store.apps.get(app)?.lock;
  if (lock) throw new LockedError(lockedSentence(app, lock.owner, lock.at));
  const started = call.services.jobs.start({ kind, app, identity: call.identity, origin: 'api' }, (transcript, signal) => work({ transcript, signal }));
  return { status: 202, json: { job: jobJson(started.job) } };
}
