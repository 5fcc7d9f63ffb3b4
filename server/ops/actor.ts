// What every operation is called with: who asks (an identity an adapter has checked) and the
// services it runs on. Operations never print: a rolling-out one says how it goes on the
// Transcript it is handed, whoever renders it (an SSH channel, a job's saved transcript).
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import type { Transcript } from '../output/transcript.ts';
import type { JobOrigin, JobRow } from '../store/jobs.ts';

/** Who runs an operation and on what: a checked identity and the server's services. */
export interface Actor {
  identity: Identity;
  services: Services;
  /** Aborted when the caller goes away; an operation that waits on something stops then. */
  signal?: AbortSignal;
}

/** Where a rolling-out operation reports how it goes, and what stops it. */
export interface Progress {
  transcript: Transcript;
  signal: AbortSignal;
  /**
   * The caller does not wait for the change (the API answers 202 with the job): `signal` does not
   * stop the job, which runs until it ends or jobs:cancel stops it.
   */
  detached?: boolean;
  /** Called with the job once the change is under way (the lock taken), before its work starts. */
  onJob?: (job: JobRow) => void;
  /** Where the job is recorded as coming from (default: the identity's transport). */
  origin?: JobOrigin;
}
