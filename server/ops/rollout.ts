// The one way a change reaches what runs: under the app's lock, tracked as a running deploy (so
// apps:unlock and the caller going away stop it), reporting on a Transcript. Pushes, rebuilds,
// rollbacks, restarts and every stored setting that what runs must follow come through rollOut;
// settings through changeSetting, the one "store, re-apply, undo on failure" step.
import { UserError } from '../errors.ts';
import { requireDeployer, type Services } from '../context.ts';
import { lockApp } from './lock.ts';
import { deployable } from './release.ts';
import { quotaRefusal } from '../deploy/quota.ts';
import type { Release } from '../store/releases.ts';
import type { Actor, Progress } from './actor.ts';

/** The release running now; a UserError if the app never deployed. */
export function deployedRelease(services: Pick<Services, 'store'>, app: string): Release {
  const r = services.store.releases.current(app);
  if (!r?.image) throw new UserError(`${app} has not been deployed yet; push it first (git push paas main).`);
  return r;
}

/**
 * Runs `fn` under the app's lock (owner: `WHAT by NAME`), tracked as a running deploy so that
 * apps:unlock and the caller's signal both stop it; `fn` gets that stop signal. `tracked`: the
 * caller registered the deploy already (a push is, from the moment git starts) and its signal is it.
 */
export async function rollOut<T>(actor: Pick<Actor, 'identity' | 'services'>, app: string, what: string, progress: Progress, fn: (p: Progress) => Promise<T>, opts: { tracked?: boolean } = {}): Promise<T> {
  const { services, identity } = actor;
  const unlock = lockApp(services, app, `${what} by ${identity.name}`);
  if (opts.tracked) {
    try {
      return await fn(progress);
    } finally {
      unlock();
    }
  }
  const running = services.pushes.begin(app, identity);
  const stop = () => running.controller.abort(new Error('the client went away'));
  progress.signal.addEventListener('abort', stop, { once: true });
  if (progress.signal.aborted) stop();
  try {
    return await fn({ transcript: progress.transcript, signal: running.controller.signal });
  } finally {
    progress.signal.removeEventListener('abort', stop);
    services.pushes.end(running);
    unlock();
  }
}

/**
 * Applies a change of settings to what runs: `change` writes the store, then the current release
 * is applied again (no new release, no restart unless the pods must change). If that fails,
 * `undo` puts the store back, so it always says what runs. The caller holds the app's lock.
 */
export async function reapply(services: Services, current: Release, change: () => void, undo: () => void, p: Progress): Promise<void> {
  const deployer = requireDeployer(services);
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
    await deployer.deploy(next, { previous: before, transcript: p.transcript, signal: p.signal });
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
  /** How the change reaches what runs (default: the current release applied again); the store is written first. */
  apply?: (current: Release, p: Progress) => Promise<void>;
}

/**
 * The one "store a setting, re-apply under the app's lock, undo it when the re-apply fails" step.
 * An app that runs nothing (or a server without a cluster) only stores it, for its next deploy;
 * returns whether it was rolled out.
 */
export async function changeSetting(actor: Pick<Actor, 'identity' | 'services'>, app: string, change: SettingChange, progress: Progress): Promise<boolean> {
  const { services } = actor;
  if (change.requireRunning) {
    requireDeployer(services);
    deployedRelease(services, app);
  }
  if (!services.deployer || !services.store.releases.current(app)?.image) {
    change.write();
    return false;
  }
  await rollOut(actor, app, change.what, progress, async (p) => {
    if (change.announce) p.transcript.raw(change.announce);
    const running = deployedRelease(services, app);
    if (!change.apply) return reapply(services, running, change.write, change.undo, p);
    change.write();
    try {
      await change.apply(running, p);
    } catch (err) {
      change.undo();
      throw err;
    }
  });
  return true;
}
