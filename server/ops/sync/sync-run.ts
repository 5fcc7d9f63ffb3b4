// A sync: fetch the tracked branch of the repository an app follows into its repo, then build and
// deploy it exactly as a push would (build-and-deploy.ts), under the app's lock, as a job. The
// same for sync:run, a webhook delivery and polling; only who starts it and how it is followed
// differ.
import { UserError } from '../../errors.ts';
import { requireBackends, type Services, type StartedJob } from '../../context.ts';
import { mayUseApp } from '../../auth/access.ts';
import type { Identity } from '../../auth/identity.ts';
import { git } from '../../git.ts';
import { repoPath, setHead } from '../../repos.ts';
import { clusterRanges, fetchBranch, parseRemoteUrl, pinRemote } from '../../forge/remote.ts';
import { log } from '../../output/log.ts';
import { lineTranscript } from '../../output/transcript.ts';
import type { JobOrigin } from '../../store/jobs.ts';
import type { SyncRow } from '../../store/syncs.ts';
import { buildAndDeploy } from '../builds/build-and-deploy.ts';
import { startRollOut } from '../rollout.ts';
import { notConnected } from './sync.ts';
import type { Actor, Progress } from '../actor.ts';

/** What a sync did: the commit it fetched, and the release it made (null: that commit runs already). */
export interface SyncOutcome {
  commit: string;
  release: number | null;
}

/**
 * Who a webhook's or a poll's sync runs as: the key that connected the app, with the rights it has
 * now (a key's rights are checked when it acts); undefined when it was removed or lost the app.
 */
export function syncIdentity(services: Pick<Services, 'store'>, row: SyncRow): Identity | undefined {
  if (row.setVia === 'local') return { name: row.setBy, admin: true, via: 'local' };
  const key = services.store.keys.byName(row.setBy);
  if (!key) return undefined;
  const identity: Identity = { name: key.name, admin: key.admin, via: row.setVia };
  return mayUseApp(services.store, identity, row.app) ? identity : undefined;
}

/** The sentence recorded when the connecting key may no longer sync the app. */
export function ownerGone(row: SyncRow): string {
  return `The key ${row.setBy} that connected ${row.app} was removed or lost access to it, so nothing is synced; run sync:set again with a key that has access.`;
}

/** How a job started by no caller (a webhook, polling) reports: to its job only. */
export function detached(origin: JobOrigin): Progress {
  return { transcript: lineTranscript(() => {}), signal: new AbortController().signal, detached: true, origin };
}

/** The one sentence sync:info shows for how a sync ended; `preview` names the preview a forge branch's sync deployed. */
export function resultSentence(job: { id: string; status: string; error: string | null }, outcome: SyncOutcome | undefined, origin: string, preview?: { app: string; branch: string }): string {
  const by = `(job ${job.id}, ${origin})`;
  const of = preview ? `Preview ${preview.app} of ${preview.branch}: ` : '';
  if (job.status !== 'succeeded' || !outcome) return `${of}${job.status === 'cancelled' ? 'Cancelled' : 'Failed'}: ${job.error ?? 'no reason recorded'} ${by}`;
  const short = outcome.commit.slice(0, 7);
  return outcome.release === null ? `${of}Up to date: ${short} was deployed already ${by}` : `${of}Deployed ${short} as v${outcome.release} ${by}`;
}

/**
 * Starts a sync of the app as a job and returns at once with it (the lock is taken first: a held
 * one is a LockedError and nothing is recorded). The job fetches the branch and, unless its commit
 * is the one deployed, builds and deploys it; on success the app's repo's branch points at it.
 */
export function startSync(actor: Pick<Actor, 'identity' | 'services'>, app: string, progress: Progress): StartedJob<SyncOutcome> {
  const { services } = actor;
  const { store, config } = services;
  const row = store.syncs.get(app);
  if (!row) throw new UserError(notConnected(app));
  const backends = requireBackends(services);
  const remote = parseRemoteUrl(row.url);
  const repo = repoPath(config, app);
  let outcome: SyncOutcome | undefined;
  const started = startRollOut(actor, app, 'sync', progress, async (p) => {
    const t = p.transcript;
    t.step(`Fetching ${row.branch} from ${row.url}`);
    const pin = await pinRemote(remote, actor.identity.admin, clusterRanges(config));
    const commit = await fetchBranch({ config, repo, app, remote, pin, branch: row.branch, signal: p.signal });
    store.syncs.fetched(app, commit);
    const short = commit.slice(0, 7);
    if (store.releases.current(app)?.commit === commit) {
      t.detail(`${short} is what ${app} runs already: nothing to deploy.`);
      outcome = { commit, release: null };
      return outcome;
    }
    t.step(`Deploying ${app} (${short}) from ${row.branch}`);
    const release = await buildAndDeploy(services, { app, commit, description: `Sync ${short}`, quarantine: {}, by: actor.identity, transcript: t, signal: p.signal, backends });
    // As after a push: the app's branch names the deployed commit, and clones check it out.
    const local = store.apps.get(app)?.deployBranch ?? (await git(['symbolic-ref', '--short', 'HEAD'], { cwd: repo })).trim();
    await git(['update-ref', `refs/heads/${local}`, commit], { cwd: repo });
    await setHead(config, app, local);
    outcome = { commit, release };
    return outcome;
  }, { kind: 'sync' });
  void started.ended.then((job) => {
    try {
      store.syncs.result(app, resultSentence(job, outcome, progress.origin ?? actor.identity.via));
    } catch (err) {
      // The database closes at shutdown; the job itself has the outcome.
      log.warn('could not record how a sync ended', { app, job: job.id, err });
    }
  });
  return started;
}

/** sync:run: one sync, followed by the caller as a push is (its transcript, its verdict). */
export async function runSync(actor: Actor, app: string, progress: Progress): Promise<SyncOutcome> {
  return startSync(actor, app, progress).result;
}
