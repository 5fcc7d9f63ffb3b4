// What the day-2 commands (config:set, ps:scale, rollback, domains:add, …) share: finding what
// runs, taking the deploy lock the way a push does, and applying a change to what runs.
import { UserError } from '../errors.ts';
import { lineTranscript, type Transcript } from '../output/transcript.ts';
import { requireDeployer } from '../context.ts';
import { lockApp } from './lock.ts';
import { deployable } from './release.ts';
import { quotaRefusal } from '../deploy/quota.ts';
import type { Release } from '../store/releases.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import type { Output } from '../output/output.ts';
import type { JobSpec, StartedJob } from '../jobs/runner.ts';

/** What a day-2 change needs from its caller: who, the services, where its output goes, and when the caller leaves. */
export interface DeployCaller {
  identity: Identity;
  services: Services;
  out: Output;
  drained(): Promise<void>;
  signal: AbortSignal;
}

/** The release running now; a UserError if the app never deployed. */
export function deployedRelease(ctx: DeployCaller, app: string): Release {
  const r = ctx.services.store.releases.current(app);
  if (!r?.image) throw new UserError(`${app} has not been deployed yet; push it first (git push paas main).`);
  return r;
}

/** A change to roll out under an app's deploy lock, as a job (see jobs/runner.ts). */
export interface DeploySpec extends JobSpec {
  /** Who holds the lock, as apps:unlock and a refused deploy say it (default: the kind). */
  what?: string;
}

/**
 * The one way a change rolls out: takes the app's deploy lock (a held lock is refused before any
 * job is recorded), then runs `fn` as a job, which frees the lock when it ends. Returns at once;
 * the job is tracked like a push, so apps:unlock, jobs:cancel, a key losing the app and (for a
 * foreground caller, `spec.caller`) the caller going away all stop it.
 */
export function startDeploy<T>(services: Pick<Services, 'store' | 'jobs'>, spec: DeploySpec, fn: (signal: AbortSignal, t: Transcript) => Promise<T>): StartedJob<T> {
  const unlock = lockApp(services, spec.app, `${spec.what ?? spec.kind} by ${spec.identity.name}`);
  try {
    return services.jobs.start(spec, async (t, signal) => {
      try {
        return await fn(signal, t);
      } finally {
        unlock();
      }
    });
  } catch (err) {
    unlock();
    throw err;
  }
}

/**
 * Runs `fn` under the app's deploy lock as a job in the foreground: the caller sees the
 * transcript live, and going away cancels it; `fn` gets the stop signal and the transcript.
 */
export async function withDeployLock<T>(ctx: DeployCaller, app: string, what: string, fn: (signal: AbortSignal, t: Transcript) => Promise<T>): Promise<T> {
  return startDeploy(ctx.services, {
    kind: what, app, identity: ctx.identity, origin: ctx.identity.via === 'local' ? 'cli' : ctx.identity.via, caller: ctx.signal,
    echo: lineTranscript((l) => ctx.out.line(l), () => ctx.drained()),
    onStart: (job) => ctx.out.line(`-----> Job ${job.id} (${job.kind})`),
  }, fn).result;
}

/**
 * Applies a change of formation or domains to what runs: `change` writes the store, then the
 * current release is applied again (no new release, no restart unless the pods must change).
 * If that fails, `undo` puts the store back, so it always says what runs.
 */
export async function reapply(ctx: DeployCaller, app: string, current: Release, change: () => void, undo: () => void, t: Transcript, signal: AbortSignal): Promise<void> {
  const deployer = requireDeployer(ctx.services);
  const before = deployable(ctx.services, current);
  change();
  const next = deployable(ctx.services, current);
  // A formation or limits the quota cannot hold is refused now, not left as a rollout that never ends.
  const refused = next.quota && quotaRefusal(next, next.quota, before);
  if (refused) {
    undo();
    throw new UserError(refused);
  }
  try {
    await deployer.deploy(next, { previous: before, transcript: t, signal });
  } catch (err) {
    undo();
    throw err;
  }
}
