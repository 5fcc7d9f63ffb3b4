// What the day-2 commands (config:set, ps:scale, rollback, domains:add, …) share: finding what
// runs, taking the deploy lock the way a push does, and rolling out a new release.
import { UserError } from '../errors.ts';
import type { Deployer } from '../deploy/deployer.ts';
import { lineTranscript, type Transcript } from '../output/transcript.ts';
import { deployable, lockApp, requireDeployer as requireServerDeployer } from '../push/pipeline.ts';
import type { Release } from '../store/releases.ts';
import type { CommandContext } from './types.ts';

/** The release running now; a UserError if the app never deployed. */
export function deployedRelease(ctx: CommandContext, app: string): Release {
  const r = ctx.services.store.releases.current(app);
  if (!r?.image) throw new UserError(`${app} has not been deployed yet; push it first (git push paas main).`);
  return r;
}

/** The configured deployer; a UserError naming what to set up if there is none. */
export function requireDeployer(ctx: CommandContext): Deployer {
  return requireServerDeployer(ctx.services);
}

/**
 * Runs `fn` under the app's deploy lock, tracked like a push so that apps:unlock and a closed
 * connection both stop it; `fn` gets the stop signal and a transcript onto the command's output.
 */
export async function withDeployLock<T>(ctx: CommandContext, app: string, what: string, fn: (signal: AbortSignal, t: Transcript) => Promise<T>): Promise<T> {
  const unlock = lockApp(ctx.services, app, `${what} by ${ctx.identity.name}`);
  const running = ctx.services.pushes.begin(app, ctx.identity);
  const stop = () => running.controller.abort(new Error('the client went away'));
  ctx.signal.addEventListener('abort', stop, { once: true });
  if (ctx.signal.aborted) stop();
  try {
    return await fn(running.controller.signal, lineTranscript((l) => ctx.out.line(l)));
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    ctx.services.pushes.end(running);
    unlock();
  }
}

/** What a new release runs: the image, process types and config, no build. */
export interface ReleaseSpec {
  description: string;
  commit: string | null;
  image: string;
  processes: Release['processes'];
  config: Record<string, string>;
}

/**
 * Records a new release and rolls it out in place of the current one (which the deployer puts
 * back if the new one does not become ready). Call under withDeployLock.
 */
export async function releaseAndDeploy(ctx: CommandContext, app: string, spec: ReleaseSpec, t: Transcript, signal: AbortSignal): Promise<Release> {
  const { store } = ctx.services;
  const deployer = requireDeployer(ctx);
  const previous = store.releases.current(app);
  const release = store.releases.create({ app, ...spec });
  t.step(`Releasing v${release.version} (${spec.description})`);
  try {
    await deployer.deploy(deployable(ctx.services, release), { previous: previous && deployable(ctx.services, previous), transcript: t, signal });
  } catch (err) {
    store.releases.finish(app, release.version, 'failed');
    throw err;
  }
  store.releases.finish(app, release.version, 'succeeded');
  return release;
}

/**
 * Applies a change of formation or domains to what runs: `change` writes the store, then the
 * current release is applied again (no new release, no restart unless the pods must change).
 * If that fails, `undo` puts the store back, so it always says what runs.
 */
export async function reapply(ctx: CommandContext, app: string, current: Release, change: () => void, undo: () => void, t: Transcript, signal: AbortSignal): Promise<void> {
  const deployer = requireDeployer(ctx);
  const before = deployable(ctx.services, current);
  change();
  try {
    await deployer.deploy(deployable(ctx.services, current), { previous: before, transcript: t, signal });
  } catch (err) {
    undo();
    throw err;
  }
}
