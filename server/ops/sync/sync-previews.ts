// Previews of a forge's other branches (issue 22): when an app that follows a repository has
// previews on, each branch of that repository other than the one it follows is fetched into the
// app's repository and deployed as its preview by the very deploy a `git push paas BRANCH` runs
// (preview-deploy.ts: the same limit, shared config and announcement), as a job of kind `sync`. A
// branch deleted at the forge loses its preview and its ref here. Webhook deliveries (webhook.ts)
// and polling (sync-poll.ts) both come through here.
import { LockedError, UserError } from '../../errors.ts';
import { requireBackends, type Services, type StartedJob } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { git } from '../../git.ts';
import { branchName, shown } from '../../names.ts';
import { log } from '../../output/log.ts';
import { repoPath } from '../../repos.ts';
import { clusterRanges, fetchBranch, parseRemoteUrl, PREVIEW_SYNC_REFS, previewSyncRef, pinRemote } from '../../forge/remote.ts';
import type { SyncRow } from '../../store/syncs.ts';
import type { Progress } from '../actor.ts';
import { deployBranches } from '../previews/preview-policy.ts';
import { startPreviewDeploy, type PreviewOutcome } from '../previews/preview-deploy.ts';
import { detached, resultSentence } from './sync-run.ts';
import { beginPreviewRemoval } from '../apps/teardown.ts';

/**
 * Why a branch of the forge gets no preview (undefined: it gets one). The branch the app follows
 * deploys the app and is not asked about here; the app's own deploy branches deploy the app, so a
 * forge branch of that name is not a preview; and the name must be one Slipway takes, since it
 * becomes a ref and the preview's name.
 */
export function previewBranchRefusal(services: Pick<Services, 'store'>, row: SyncRow, branch: string): string | undefined {
  const { store } = services;
  if (!store.previews.settings(row.app).enabled) return `${row.app} has previews off (previews:enable ${row.app} turns them on).`;
  if (deployBranches(store.apps.get(row.app)?.deployBranch ?? null).includes(branch)) return `${branch} is ${row.app}'s own deploy branch here, so it has no preview.`;
  try {
    branchName(branch);
  } catch (err) {
    if (err instanceof UserError) return `${shown(branch)} is not a branch name Slipway takes (letters, digits, '.', '_', '/' and '-'), so it has no preview.`;
    throw err;
  }
  return undefined;
}

/**
 * Starts the preview deploy of the forge's `branch` as a job (kind `sync`) and returns at once
 * with it: under the preview's lock the branch is fetched to its own ref, deployed unless the
 * preview runs that commit already, and then the app's branch of that name points at it, as after
 * a push. Refusals (the limit, a held lock, no builder) are thrown before anything is written.
 * How it ended is recorded as the sync's last result.
 */
export function startBranchPreview(services: Services, row: SyncRow, identity: Identity, branch: string, progress: Progress): StartedJob<PreviewOutcome> {
  const { store, config } = services;
  const backends = requireBackends(services);
  const refusal = previewBranchRefusal(services, row, branch);
  if (refusal) throw new UserError(refusal);
  const remote = parseRemoteUrl(row.url);
  const repo = repoPath(config, row.app);
  const origin = progress.origin ?? (identity.via === 'local' ? 'cli' : identity.via);
  const started = startPreviewDeploy(services, { parent: row.app, branch, identity, transcript: progress.transcript, signal: progress.signal, detached: progress.detached }, {
    what: `sync of ${branch}`, kind: 'sync', origin, tracked: false, quarantine: {}, unlessRunning: true, backends,
    commit: async (p) => {
      p.transcript.step(`Fetching ${branch} from ${row.url}`);
      const pin = await pinRemote(remote, identity.admin, clusterRanges(config));
      return fetchBranch({ config, repo, app: row.app, remote, pin, branch, into: previewSyncRef(branch), signal: p.signal });
    },
    // refs/heads only ever name deployed code: the branch moves once its preview runs the commit.
    settle: async (commit) => { await git(['update-ref', `refs/heads/${branch}`, commit], { cwd: repo }); },
  });
  const preview = { app: started.job.app, branch };
  void started.result.then((outcome) => outcome, () => undefined).then(async (outcome) => {
    const job = await started.ended;
    try {
      store.syncs.result(row.app, resultSentence(job, outcome, origin, preview));
    } catch (err) {
      // The database closes at shutdown; the job has the outcome (a failed first deploy's preview, and its job, are gone with it).
      log.warn('could not record how a preview sync ended', { app: row.app, job: job.id, err });
    }
  });
  return started;
}

/** Deletes the branch and its fetched ref from the app's repository (either may be missing). */
async function deleteBranchRefs(services: Pick<Services, 'config'>, app: string, branch: string): Promise<void> {
  const repo = repoPath(services.config, app);
  await git(['update-ref', '-d', `refs/heads/${branch}`], { cwd: repo });
  await git(['update-ref', '-d', previewSyncRef(branch)], { cwd: repo });
}

/**
 * A branch deleted at the forge: destroys its preview (if any) and deletes the branch in the
 * app's repository. The preview's lock is taken before this returns (a LockedError at once, with
 * nothing removed); the removal goes on in the promise, which resolves with what could not be
 * removed. The refs go even when the teardown fails, so the preview reconciler finishes it.
 */
export function startBranchRemoval(services: Services, parent: string, branch: string, why: string): { preview: string | undefined; done: Promise<string[]> } {
  if (deployBranches(services.store.apps.get(parent)?.deployBranch ?? null).includes(branch)) {
    throw new UserError(`${branch} is ${parent}'s own deploy branch here; it is not deleted.`);
  }
  branchName(branch);
  const preview = services.store.previews.byBranch(parent, branch);
  const removal = preview ? beginPreviewRemoval(services, preview, why) : Promise.resolve<string[]>([]);
  const done = removal.finally(() => deleteBranchRefs(services, parent, branch));
  return { preview: preview?.app, done };
}

/** The commit of each branch in the app's repository, and of each forge branch fetched for a preview. */
async function localRefs(services: Pick<Services, 'config'>, app: string, signal?: AbortSignal): Promise<{ heads: Map<string, string>; fetched: Map<string, string> }> {
  const out = await git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/', PREVIEW_SYNC_REFS], { cwd: repoPath(services.config, app), signal });
  const heads = new Map<string, string>();
  const fetched = new Map<string, string>();
  for (const line of out.split('\n')) {
    const at = line.indexOf(' ');
    if (at < 0) continue;
    const commit = line.slice(0, at);
    const ref = line.slice(at + 1);
    if (ref.startsWith('refs/heads/')) heads.set(ref.slice('refs/heads/'.length), commit);
    else if (ref.startsWith(PREVIEW_SYNC_REFS)) fetched.set(ref.slice(PREVIEW_SYNC_REFS.length), commit);
  }
  return { heads, fetched };
}

/**
 * Polling's part for previews, given the forge's branches (`remote`: branch → commit): first the
 * previews of branches fetched from the forge before and gone from it now are destroyed (with
 * their branches here), then each other branch whose commit is neither the app's branch of that
 * name nor the one fetched last gets its preview deployed. A branch past the limit, or whose
 * preview is busy, is skipped with a logged reason and looked at again next round; the poll goes on.
 */
export async function pollBranchPreviews(services: Services, row: SyncRow, identity: Identity, remote: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<StartedJob<PreviewOutcome>[]> {
  const { app } = row;
  const local = await localRefs(services, app, signal);
  for (const branch of local.fetched.keys()) {
    if (signal?.aborted) break;
    if (remote.has(branch) || branch === row.branch || previewBranchRefusal(services, row, branch)) continue;
    try {
      const removal = startBranchRemoval(services, app, branch, `branch ${branch} deleted at the forge`);
      const notes = await removal.done;
      log.info('polling removed a deleted branch and its preview', { app, branch, preview: removal.preview, notes });
    } catch (err) {
      if (err instanceof LockedError) log.info('polling found a deleted branch\'s preview busy; trying again next round', { app, branch });
      else log.warn('polling could not remove a deleted branch\'s preview; the preview reconciler retries', { app, branch, err });
    }
  }
  const started: StartedJob<PreviewOutcome>[] = [];
  for (const [branch, commit] of remote) {
    if (signal?.aborted) break;
    if (branch === row.branch || local.heads.get(branch) === commit || local.fetched.get(branch) === commit) continue;
    if (previewBranchRefusal(services, row, branch)) continue;
    try {
      const job = startBranchPreview(services, row, identity, branch, detached('poll'));
      job.result.catch(() => {});
      log.info('polling started a preview sync', { app, branch, commit, job: job.job.id });
      started.push(job);
    } catch (err) {
      // Past the limit, or the preview busy: said in the log, and looked at again next round.
      if (!(err instanceof UserError)) throw err;
      log.info('polling skipped a branch\'s preview', { app, branch, reason: err.message });
    }
  }
  return started;
}
