// One-off commands in a new pod of the current release (Heroku's `run`): its image and config,
// attached to the caller's streams, or in the background.
import { UserError } from '../../errors.ts';
import { requireDeployer } from '../../context.ts';
import { deployable } from '../releases/release.ts';
import type { DeployableRelease } from '../../model.ts';
import type { ProcessIo } from '../../kube/process-io.ts';
import type { Actor } from '../actor.ts';

/** Longest a one-off command may run (1 day). */
export const MAX_RUN_TIMEOUT_S = 86_400;

/** A one-off command: its words and how long it may run. */
export interface RunInput {
  command: readonly string[];
  timeoutSeconds: number;
}

/** The current release of an app as the deployer runs it, or a sentence saying there is none. */
function currentRelease(actor: Actor, app: string): DeployableRelease {
  const current = actor.services.store.releases.current(app);
  if (!current?.image) throw new UserError(`${app} has no release yet; push code to it first (git push).`);
  return deployable(actor.services, current);
}

/** Checks a one-off command before anything starts. */
function checkInput(input: RunInput): void {
  if (input.command.length === 0) throw new UserError('Give the command to run.');
  if (!Number.isInteger(input.timeoutSeconds) || input.timeoutSeconds < 1 || input.timeoutSeconds > MAX_RUN_TIMEOUT_S) throw new UserError(`The timeout must be from 1 second to ${MAX_RUN_TIMEOUT_S / 3600} h.`);
}

/** run: the command in a new pod attached to `io` until it ends or `signal` aborts; resolves with its exit code. */
export async function runAttached(actor: Actor, app: string, input: RunInput, io: ProcessIo | undefined, signal: AbortSignal): Promise<{ exitCode: number }> {
  checkInput(input);
  const deployer = requireDeployer(actor.services);
  const release = currentRelease(actor, app);
  if (!io) throw new UserError('run needs a byte stream to attach to; use run:detached here.');
  return { exitCode: await deployer.oneOff.run(release, { command: input.command, timeoutSeconds: input.timeoutSeconds, io, signal }) };
}

/** run:detached: the command in a new pod in the background; its output goes to `logs APP -p POD`. */
export async function runDetached(actor: Actor, app: string, input: RunInput): Promise<{ pod: string }> {
  checkInput(input);
  const deployer = requireDeployer(actor.services);
  return { pod: await deployer.oneOff.runDetached(currentRelease(actor, app), { command: input.command, timeoutSeconds: input.timeoutSeconds }) };
}
