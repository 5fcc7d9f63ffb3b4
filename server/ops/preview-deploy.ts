// What a push of a branch other than the deploy branch does once previews are on: builds and
// deploys that branch's preview app (making it, within the limit, on its first push) or, for a
// deleted branch, removes it. The same lock, job, build and announcement as any push.
import { UserError } from '../errors.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import type { Transcript } from '../output/transcript.ts';
import type { Quarantine } from '../../hooks/wire.ts';
import { log } from '../output/log.ts';
import { previewAppName, shown } from '../names.ts';
import type { PreviewRow } from '../store/previews.ts';
import { rollOut } from './rollout.ts';
import { buildAndDeploy } from './build-and-deploy.ts';
import { collectAfterDeploy } from './collect.ts';
import { destroyPreview } from './teardown.ts';
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

/**
 * Builds and deploys `commit` of the branch as its preview, printing the preview's own URL;
 * throwing rejects the push. A preview made by this push is removed again when its deploy fails,
 * so a refused first push leaves neither a branch nor an app.
 */
export async function deployPreview(services: Services, push: PreviewPush & { commit: string; quarantine: Quarantine }): Promise<void> {
  const { preview, created } = previewFor(services, push);
  const short = push.commit.slice(0, 7);
  try {
    await rollOut({ identity: push.identity, services }, preview.app, `push of ${short}`, { transcript: push.transcript, signal: push.signal }, async (p) => {
      p.transcript.step(`Deploying preview ${preview.app} of ${push.parent} (${short}) from ${push.branch}`);
      await buildAndDeploy(services, {
        app: preview.app, commit: push.commit, description: `Deploy ${short} from ${push.branch}`, quarantine: push.quarantine,
        by: push.identity, transcript: p.transcript, signal: p.signal,
      });
      services.store.previews.pushed(preview.app, push.commit);
    }, { tracked: true, kind: 'push', origin: 'push' });
  } catch (err) {
    if (created) {
      await destroyPreview(services, preview, 'its first push failed').catch((cleanup: unknown) =>
        log.warn('could not remove a preview whose first push failed; the preview reconciler retries', { app: preview.app, err: cleanup }));
    }
    throw err;
  }
  void collectAfterDeploy(services, preview.app);
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
