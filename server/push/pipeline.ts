import { NotFoundError } from '../errors.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import { requireBackends } from '../context.ts';
import type { Transcript } from '../output/transcript.ts';
import { setHead } from '../repos.ts';
import { pushTarget, type RefUpdate } from './receive.ts';
import type { Quarantine } from '../../hooks/wire.ts';
import { rollOut, startRollOut } from '../ops/rollout.ts';
import { buildAndDeploy } from '../ops/builds/build-and-deploy.ts';
import { deployPreview, removeBranchPreview } from '../ops/previews/preview-deploy.ts';
import { observePush, secondsSince, type Outcome } from '../observe/metrics.ts';
import { inSpan, pastSpan } from '../observe/traces.ts';
import { pushOptions } from '../ops/releases/canary.ts';
import { detachable } from '../output/transcript.ts';

/** One push as the pre-receive hook hands it over. */
export interface PushRequest {
  app: string;
  identity: Identity;
  updates: readonly RefUpdate[];
  quarantine: Quarantine;
  /** The push's options (`git push -o canary=10`); none when absent. */
  pushOptions?: readonly string[];
  transcript: Transcript;
  signal: AbortSignal;
  /** When the push started (`performance.now()` as git receive-pack started), for push-to-live. */
  startedAt?: number;
}

/**
 * The push, top to bottom: receive → lock → extract → build → release → deploy → announce; a push
 * of another branch with previews on goes to that branch's preview instead.
 * Throwing rejects the push: git then leaves every ref as it was.
 */
export async function runPipeline(services: Services, push: PushRequest): Promise<void> {
  const start = performance.now();
  // The builder's name once the walk has checked it (requireBackends); none when it has not.
  const seen = { backend: 'none' };
  let outcome: Outcome = 'failed';
  try {
    // One trace per push, from git receive-pack's start: receive (the upload), then the stages.
    await inSpan('push', { 'slipway.app': push.app }, async () => {
      if (push.startedAt !== undefined) pastSpan('receive', { 'slipway.app': push.app }, push.startedAt, start);
      await pipeline(services, push, seen);
    }, push.startedAt);
    outcome = 'succeeded';
  } catch (err) {
    if (push.signal.aborted) outcome = 'cancelled';
    throw err;
  } finally {
    observePush(seen.backend, outcome, secondsSince(start));
  }
}

async function pipeline(services: Services, push: PushRequest, seen: { backend: string }): Promise<void> {
  const { store } = services;
  const { app } = push;

  // receive: which branch and commit this push deploys.
  const appRow = store.apps.get(app);
  if (!appRow) throw new NotFoundError(app);
  const target = pushTarget(push.updates, appRow.deployBranch, store.previews.settings(app).enabled);
  // Said before the lock and the upload's extraction: nothing can be deployed without them.
  const backends = requireBackends(services);
  seen.backend = backends.builder.name;
  // Another branch, with previews on: its own preview app, deployed or removed (ops/previews/preview-deploy.ts).
  const previewPush = { parent: app, branch: target.branch, identity: push.identity, transcript: push.transcript, signal: push.signal };
  if (target.kind === 'preview-removal') return removeBranchPreview(services, previewPush);
  if (target.kind === 'preview') return deployPreview(services, { ...previewPush, commit: target.commit, quarantine: push.quarantine, backends });
  const short = target.commit.slice(0, 7);
  // Push options are checked before the lock: a bad one refuses the push with nothing done.
  const { canary, detach } = pushOptions(services, app, push.pushOptions ?? []);

  // lock: one deploy per app at a time; a second push is turned away at once. The push is a job
  // whose client is the pusher: it sees the job's transcript live, and its leaving cancels it.
  const deploy = (onCanaryStarted?: () => void) => async (p: { transcript: Transcript; signal: AbortSignal }) => {
    p.transcript.step(`Deploying ${app} (${short}) from ${target.branch}`);
    await buildAndDeploy(services, {
      app, commit: target.commit, description: `Deploy ${short}`, quarantine: push.quarantine,
      by: push.identity, transcript: p.transcript, signal: p.signal, backends, startedAt: push.startedAt,
      ...(canary ? { canary } : {}), ...(onCanaryStarted ? { onCanaryStarted } : {}),
    });
    await setHead(services.config, app, target.branch);
  };
  if (!detach) {
    await rollOut({ identity: push.identity, services }, app, `push of ${short}`, { transcript: push.transcript, signal: push.signal }, deploy(), { tracked: true, kind: 'push', origin: 'push' });
    return;
  }
  // `-o detach`: the job is the pusher's until its canary takes its first share of the requests;
  // then the push ends (git updates the branch) and the job carries on by itself, as an API
  // deploy does. Until then a failure is the push's, as without it.
  const echo = detachable(push.transcript);
  let started = () => {};
  const live = new Promise<true>((resolve) => { started = () => resolve(true); });
  const job = startRollOut({ identity: push.identity, services }, app, `push of ${short}`, { transcript: echo.transcript, signal: push.signal, detached: true, origin: 'push' }, deploy(() => started()), { tracked: true, kind: 'push', origin: 'push' });
  const canaryLive = await Promise.race([live, job.result.then(() => false)]);
  echo.detach();
  // A deploy with nothing serving yet (the app's first) runs no canary: it ended as any push does.
  if (!canaryLive) {
    push.transcript.detail(`Not detached: nothing of ${app} served before this deploy, so it ran no canary and the push waited for it`);
    return;
  }
  // The job's own end is recorded in it; nobody waits on it here.
  job.result.catch(() => {});
  push.transcript.step(`Detached: the canary carries on as job ${job.job.id}; canary ${app} shows it, jobs:follow ${job.job.id} follows it, canary:promote ${app} or canary:abort ${app} ends it`);
}
