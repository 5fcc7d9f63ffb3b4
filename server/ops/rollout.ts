// The one way a change reaches what runs: under the app's lock, as a job (so apps:unlock,
// jobs:cancel and the caller going away stop it, and its transcript is kept), reporting on a Transcript. Pushes, rebuilds,
// rollbacks, restarts and every stored setting that what runs must follow come through rollOut;
// settings through changeSetting, the one "store, re-apply, undo on failure" step.
import { UserError } from '../errors.ts';
import { requireDeployer, type Services, type StartedJob } from '../context.ts';
import { lockApp } from './lock.ts';
import { afterRollOut, beforeRollOut } from './after-rollout.ts';
import { deployable } from './releases/release.ts';
import { quotaRefusal } from '../deploy/quota.ts';
import type { Release } from '../store/releases.ts';
import type { Deployer } from '../deploy/deployer.ts';
import type { Actor, Progress } from './actor.ts';
import type { Identity } from '../auth/identity.ts';
import type { JobOrigin } from '../store/jobs.ts';

/** The release running now; a UserError if the app never deployed. */
export function deployedRelease(services: Pick<Services, 'store'>, app: string): Release {
  const r = services.store.releases.current(app);
  if (!r?.image) throw new UserError(`${app} has not been deployed yet; push it first (git push paas main).`);
  return r;
}

/** How a rollout is recorded as a job (defaults: the kind is `what`, the origin the identity's transport). */
export interface RollOutOptions {
  /** The push's deploy is registered already, from the moment git starts; it says no job line. */
  tracked?: boolean;
  kind?: string;
  origin?: JobOrigin;
  /** A job that changes nothing that runs (a backup): not under the app's lock, so deploys go on beside it. */
  unlocked?: boolean;
}

/** Where a job started by `identity` comes from, unless its caller says (the API, a push). */
function originOf(identity: Identity): JobOrigin {
  return identity.via === 'local' ? 'cli' : identity.via;
}

/**
 * Runs `fn` under the app's lock (owner: `WHAT by NAME`; none with `opts.unlocked`) as a job (jobs/runner.ts) and returns at
 * once with it: recorded with its transcript, tracked as a running deploy so that apps:unlock,
 * jobs:cancel, a key losing the app and (unless `progress.detached`) the caller's signal stop it.
 * The job frees the lock when it ends, then runs the reactions to a successful rollout
 * (after-rollout.ts). A held lock is refused before any job is recorded.
 */
export function startRollOut<T>(actor: Pick<Actor, 'identity' | 'services'>, app: string, what: string, progress: Progress, fn: (p: Progress) => Promise<T>, opts: RollOutOptions = {}): StartedJob<T> {
  const { services, identity } = actor;
  const unlock = opts.unlocked ? () => {} : lockApp(services, app, `${what} by ${identity.name}`);
  const before = beforeRollOut(services, app);
  try {
    return services.jobs.start({
      kind: opts.kind ?? what, app, identity, origin: opts.origin ?? progress.origin ?? originOf(identity),
      ...(progress.detached ? {} : { caller: progress.signal }),
      echo: progress.transcript,
      onStart: (job) => {
        // A push's transcript stays as pushers know it; any other caller learns the job's id.
        if (!opts.tracked) progress.transcript.step(`Job ${job.id} (${job.kind})`);
        progress.onJob?.(job);
      },
    }, async (t, signal) => {
      let value: T;
      try {
        value = await fn({ transcript: t, signal });
      } finally {
        unlock();
      }
      afterRollOut(services, app, before);
      return value;
    });
  } catch (err) {
    unlock();
    throw err;
  }
}

/** startRollOut, waiting for the job's end: its value, or its error. */
export async function rollOut<T>(actor: Pick<Actor, 'identity' | 'services'>, app: string, what: string, progress: Progress, fn: (p: Progress) => Promise<T>, opts: RollOutOptions = {}): Promise<T> {
  return startRollOut(actor, app, what, progress, fn, opts).result;
}

/**
 * Applies a change of settings to what runs: `change` writes the store, then the current release
 * is applied again (no new release, no restart unless the pods must change). If that fails,
 * `undo` puts the store back, so it always says what runs. The caller holds the app's lock.
 */
export async function reapply(services: Services, current: Release, change: () => void, undo: () => void, p: Progress, deployer: Deployer = requireDeployer(services)): Promise<void> {
  const before = deployable(services, current);
  change();
  const next = deployable(services, current);
  // A formation or limits the quota cannot hold is refused now, not left as a rollout that never ends.
  const refused = next.quota && quotaRefusal(next, next.quota, before);
  if (refused) {
    undo();
    throw new UserError(refused);
  }
  try {
    await deployer.rollout.deploy(next, { previous: before, transcript: p.transcript, signal: p.signal });
  } catch (err) {
    undo();
    throw err;
  }
}

/** A stored setting that what runs must follow: how to write it, how to take it back, how it reaches the app. */
export interface SettingChange {
  /** The lock owner's first words, as apps:info shows them (`domains:add`). */
  what: string;
  /** Writes the store (may throw a UserError; nothing is applied then). */
  write(): void;
  /** Puts back what `write` changed. */
  undo(): void;
  /** A line said once the lock is held, before the rollout (`Scaling app: web at 2...`). */
  announce?: string;
  /** Refuse with deployedRelease's sentence, instead of only storing, when the app runs nothing. */
  requireRunning?: boolean;
  /** How the change reaches what runs (default: the current release applied again) on the deployer changeSetting checked; the store is written first. */
  apply?: (current: Release, p: Progress, deployer: Deployer) => Promise<void>;
}

/**
 * The one "store a setting, re-apply under the app's lock, undo it when the re-apply fails" step.
 * An app that runs nothing (or a server without a cluster) only stores it, for its next deploy;
 * returns whether it was rolled out.
 */
export async function changeSetting(actor: Pick<Actor, 'identity' | 'services'>, app: string, change: SettingChange, progress: Progress): Promise<boolean> {
  const { services } = actor;
  // Asked for once: the rollout below runs on this one.
  const deployer = services.deployer;
  if (change.requireRunning) {
    requireDeployer({ deployer });
    deployedRelease(services, app);
  }
  if (!deployer || !services.store.releases.current(app)?.image) {
    change.write();
    return false;
  }
  await rollOut(actor, app, change.what, progress, async (p) => {
    if (change.announce) p.transcript.raw(change.announce);
    const running = deployedRelease(services, app);
    if (!change.apply) return reapply(services, running, change.write, change.undo, p, deployer);
    change.write();
    try {
      await change.apply(running, p, deployer);
    } catch (err) {
      change.undo();
      throw err;
    }
  });
  return true;
}
