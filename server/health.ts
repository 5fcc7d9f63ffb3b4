// What `doctor` checks are made of: the shape every check of a dependency (Docker, pack, the
// registry, the cluster, the disk) has, so the command and the tests share one interface.

/** What one check found: one line for the user, and what to do when it failed. */
export interface CheckOutcome { ok: boolean; detail: string; fix?: string }

/** One thing the platform needs, checked on its own (a thrown error counts as a failure). */
export interface DoctorCheck {
  name: string;
  run(signal: AbortSignal): Promise<CheckOutcome>;
  /** What to do when `run` throws (it could not even find out). */
  fix?: string;
}
