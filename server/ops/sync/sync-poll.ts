// Polling, for forges that cannot reach this server: every app with sync:poll set is looked at
// once its interval has passed (git ls-remote of the branch), and synced when the branch moved to
// a commit that was neither fetched last nor deployed. One sync per app at a time: the app's lock.
// With previews on, the forge's other branches are looked at too (sync-previews.ts).
import type { Services, StartedJob } from '../../context.ts';
import { LockedError, UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { clusterRanges, parseRemoteUrl, remoteBranches, remoteCommit, pinRemote } from '../../forge/remote.ts';
import type { Identity } from '../../auth/identity.ts';
import type { SyncRow } from '../../store/syncs.ts';
import { detached, ownerGone, startSync, syncIdentity, type SyncOutcome } from './sync-run.ts';
import { pollBranchPreviews } from './sync-previews.ts';

/** How often polling looks for apps whose interval has passed (the shortest interval is a minute). */
export const POLL_TICK_MS = 30_000;

/**
 * One round at time `now` (ms): each polling app whose interval has passed is looked at, one after
 * another; returns the syncs it started, its previews' too (tests wait on them). A failure with one
 * app is recorded and logged, and the round goes on with the next.
 */
export async function pollSyncs(services: Services, now: number = Date.now(), signal?: AbortSignal): Promise<StartedJob<SyncOutcome>[]> {
  const started: StartedJob<SyncOutcome>[] = [];
  for (const row of services.store.syncs.polling()) {
    if (signal?.aborted) break;
    if (row.polledAt !== null && now - row.polledAt < row.pollSeconds! * 1000) continue;
    services.store.syncs.polled(row.app, now);
    try {
      started.push(...await pollOne(services, row, signal));
    } catch (err) {
      if (signal?.aborted) break;
      if (!(err instanceof UserError)) log.warn('polling a repository failed', { app: row.app, err });
      services.store.syncs.result(row.app, `Polling failed: ${err instanceof UserError ? err.message : 'internal error; the server log has the details'}`);
    }
  }
  return started;
}

/**
 * Looks at one app's branch and starts its sync when the branch moved; with previews on, the
 * forge's other branches too (one ls-remote of every branch), for their previews.
 */
async function pollOne(services: Services, row: SyncRow, signal?: AbortSignal): Promise<StartedJob<SyncOutcome>[]> {
  const { store, config } = services;
  const identity = syncIdentity(services, row);
  if (!identity) {
    store.syncs.result(row.app, ownerGone(row));
    return [];
  }
  const remote = parseRemoteUrl(row.url);
  const pin = await pinRemote(remote, identity.admin, clusterRanges(config));
  const branches = store.previews.settings(row.app).enabled ? await remoteBranches({ config, app: row.app, remote, pin, signal }) : undefined;
  const commit = branches ? branches.get(row.branch) : await remoteCommit({ config, app: row.app, remote, pin, branch: row.branch, signal });
  const started: StartedJob<SyncOutcome>[] = [];
  if (commit) {
    const job = startIfMoved(services, row, identity, commit);
    if (job) started.push(job);
  } else {
    store.syncs.result(row.app, `Polling found no branch ${row.branch} at ${row.url}.`);
  }
  if (branches) started.push(...await pollBranchPreviews(services, row, identity, branches, signal));
  return started;
}

/** Starts the app's sync when its branch is at a commit that was neither fetched last nor deployed. */
function startIfMoved(services: Services, row: SyncRow, identity: Identity, commit: string): StartedJob<SyncOutcome> | undefined {
  // A commit fetched before is not tried again (a failed build would fail every round); a new one is.
  if (commit === row.lastCommit || commit === services.store.releases.current(row.app)?.commit) return undefined;
  try {
    const job = startSync({ identity, services }, row.app, detached('poll'));
    job.result.catch(() => {});
    log.info('polling started a sync', { app: row.app, commit, job: job.job.id });
    return job;
  } catch (err) {
    // Another deploy holds the app: the next round after the interval looks again.
    if (err instanceof LockedError) {
      log.info('polling found the app locked; trying again next interval', { app: row.app });
      return undefined;
    }
    throw err;
  }
}
