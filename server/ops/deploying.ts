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

/**
 * Runs `fn` under the app's deploy lock, tracked like a push so that apps:unlock and a closed
 * connection both stop it; `fn` gets the stop signal and a transcript onto the command's output.
 */
export async function withDeployLock<T>(ctx: DeployCaller, app: string, what: string, fn: (signal: AbortSignal, t: Transcript) => Promise<T>): Promise<T> {
  const unlock = lockApp(ctx.services, app, `${what} by ${ctx.identity.name}`);
  const running = ctx.services.pushes.begin(app, ctx.identity);
  const stop = () => running.controller.abort(new Error('the client went away'));
  ctx.signal.addEventListener('abort', stop, { once: true });
  if (ctx.signal.aborted) stop();
  try {
    return await fn(running.controller.signal, lineTranscript((l) => ctx.out.line(l), () => ctx.drained()));
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    ctx.services.pushes.end(running);
    unlock();
  }
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
