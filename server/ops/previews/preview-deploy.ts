// What a push of a branch other than the deploy branch does once previews are on: builds and
// deploys that branch's preview app (making it, within the limit, on its first push) or, for a
// deleted branch, removes it. The same lock, job, build and announcement as any push. A forge's
// branch (sync-previews.ts) takes the same deploy, with its commit fetched first.
import { UserError } from '../../errors.ts';
import type { PushBackends, Services, StartedJob } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import type { Transcript } from '../../output/transcript.ts';
import type { Quarantine } from '../../../hooks/wire.ts';
import { log } from '../../output/log.ts';
import { previewAppName, shown } from '../../names.ts';
import type { PreviewRow } from '../../store/previews.ts';
import type { JobOrigin } from '../../store/jobs.ts';
import type { Progress } from '../actor.ts';
import { startRollOut } from '../rollout.ts';
import { buildAndDeploy } from '../builds/build-and-deploy.ts';
import { destroyPreview } from '../apps/teardown.ts';
import { makePreviewDatabases } from '../data/previews.ts';
import { limitRefusal, previewLimit, sharedConfig } from './preview-policy.ts';

/** A push of one branch of `parent` that previews take. */
export interface PreviewPush {
  parent: string;
  branch: string;
  identity: Identity;
  transcript: Transcript;
  signal: AbortSignal;
}

/**
 * The branch's preview, made on its first push: an app of its own with the parent's shared config
 * keys and nothing else. Refused, with nothing written, past the parent's limit.
 */
function previewFor(services: Services, push: PreviewPush): { preview: PreviewRow; created: boolean } {
  const { store } = services;
  const existing = store.previews.byBranch(push.parent, push.branch);
  if (existing) return { preview: existing, created: false };
  const settings = store.previews.settings(push.parent);
  const name = previewAppName(push.parent, push.branch);
  const made = store.previews.create(name, push.parent, push.branch, previewLimit(settings));
  if (made === 'limit') throw new UserError(limitRefusal(push.parent, previewLimit(settings)));
  if (made === 'taken') throw new UserError(`The preview of ${shown(push.branch)} would be the app ${name}, which exists already as an app of its own; nothing was deployed.`);
  store.config.change(name, sharedConfig(store.config.all(push.parent), settings.sharedKeys));
  services.events.publish({ type: 'app', app: name, change: 'created' });
  return { preview: store.previews.get(name)!, created: true };
}

/** What a preview deploy did: the commit, and the preview's new release (null: that commit runs already). */
export interface PreviewOutcome {
  commit: string;
  release: number | null;
}

/** Where a preview deploy's commit comes from, and how its job is recorded. */
export interface PreviewSource {
  /** The lock owner's first words (`push of 3f2c1ab`, `sync of feature`). */
  what: string;
  kind: 'push' | 'sync';
  origin: JobOrigin;
  /** A push's deploy is registered already, from the moment git starts; it says no job line. */
  tracked: boolean;
  /** The builder and deployer, checked once by whoever started the deploy (requireBackends). */
  backends: PushBackends;
  /** The commit to deploy: a push's is known, a sync fetches it here, under the preview's lock. */
  commit(p: Progress): Promise<string>;
  quarantine: Quarantine;
  /** Deploy nothing when the commit is the one the preview runs (a sync); a push always deploys. */
  unlessRunning: boolean;
  /** Under the lock, once the commit runs: a sync points the parent's branch at it, as git does after a push. */
  settle?(commit: string): Promise<void>;
}

/**
 * Starts the deploy of the branch's preview as a job and returns at once with it, printing the
 * preview's own URL; the limit's refusal (and a held lock) are thrown before anything is written.
 * A preview made by this deploy is removed again when its deploy fails, so a refused first push
 * leaves neither a branch nor an app.
 */
export function startPreviewDeploy(services: Services, push: PreviewPush & { detached?: boolean }, source: PreviewSource): StartedJob<PreviewOutcome> {
  const { preview, created } = previewFor(services, push);
  const removeIfMade = async (err: unknown): Promise<never> => {
    if (created) {
      await destroyPreview(services, preview, 'its first deploy failed').catch((cleanup: unknown) =>
        log.warn('could not remove a preview whose first deploy failed; the preview reconciler retries', { app: preview.app, err: cleanup }));
    }
    throw err;
  };
  let started: StartedJob<PreviewOutcome>;
  try {
    const progress = { transcript: push.transcript, signal: push.signal, detached: push.detached, origin: source.origin };
    started = startRollOut({ identity: push.identity, services }, preview.app, source.what, progress, async (p) => {
      const commit = await source.commit(p);
      const short = commit.slice(0, 7);
      let release: number | null = null;
      if (source.unlessRunning && services.store.previews.get(preview.app)?.commit === commit) {
        p.transcript.detail(`${short} is what ${preview.app} runs already: nothing to deploy.`);
      } else {
        // Its own empty databases first (the parent's data stays with the parent), so its release
        // phase and code find their DATABASE_URL.
        await makePreviewDatabases({ identity: push.identity, services }, push.parent, preview.app, p);
        p.transcript.step(`Deploying preview ${preview.app} of ${push.parent} (${short}) from ${push.branch}`);
        release = await buildAndDeploy(services, {
          app: preview.app, commit, description: `Deploy ${short} from ${push.branch}`, quarantine: source.quarantine,
          by: push.identity, transcript: p.transcript, signal: p.signal, backends: source.backends,
        });
        services.store.previews.pushed(preview.app, commit);
      }
      await source.settle?.(commit);
      return { commit, release };
    }, { tracked: source.tracked, kind: source.kind, origin: source.origin });
  } catch (err) {
    // Not started (a held lock, the jobs' store): a preview made just now goes again.
    void removeIfMade(err).catch(() => {});
    throw err;
  }
  const result = started.result.catch(removeIfMade);
  return { ...started, result };
}

/**
 * Builds and deploys `commit` of the branch as its preview, a push's job; throwing rejects the
 * push. A preview made by this push is removed again when its deploy fails.
 */
export async function deployPreview(services: Services, push: PreviewPush & { commit: string; quarantine: Quarantine; backends: PushBackends }): Promise<void> {
  await startPreviewDeploy(services, push, {
    what: `push of ${push.commit.slice(0, 7)}`, kind: 'push', origin: 'push', tracked: true, backends: push.backends,
    commit: async () => push.commit, quarantine: push.quarantine, unlessRunning: false,
  }).result;
}

/** A deleted branch: its preview (if it has one) is removed before git deletes the ref. */
export async function removeBranchPreview(services: Services, push: PreviewPush): Promise<void> {
  const t = push.transcript;
  const preview = services.store.previews.byBranch(push.parent, push.branch);
  if (!preview) {
    t.step(`${push.branch} has no preview; deleting the branch`);
    return;
  }
  t.step(`Destroying preview ${preview.app} of ${push.branch}`);
  for (const note of await destroyPreview(services, preview, `branch ${push.branch} deleted by ${push.identity.name}`)) t.detail(note);
  t.detail('Done; the branch is deleted.');
}
