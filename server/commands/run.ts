// One-off commands in a new pod of the current release (Heroku's `run`, Dokku's `run`): the
// release's image and config, the launcher's environment, the caller's streams and exit code.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { durationSeconds } from '../config.ts';
import { MAX_RUN_TIMEOUT_S, runAttached, runDetached } from '../ops/processes/run.ts';
import { defineCommand, type Command, type FlagSpecs } from './types.ts';
import { actorOf } from './progress.ts';

/** Seconds a one-off pod may run when --timeout is not given (1 h). */
export const DEFAULT_RUN_TIMEOUT_S = 3600;

/** Parses --timeout: whole seconds, or with an `s`, `m` or `h` suffix (`90`, `10m`, `2h`). */
export function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_RUN_TIMEOUT_S;
  const seconds = durationSeconds(raw) ?? NaN;
  if (!(seconds >= 1 && seconds <= MAX_RUN_TIMEOUT_S)) throw new UserError(`${shown(raw)} is not a timeout: give seconds (or 10m, 2h), at most ${MAX_RUN_TIMEOUT_S / 3600} h.`);
  return seconds;
}

const flags = {
  timeout: { type: 'string', help: `stop the command after this long (seconds, or 10m, 2h; default ${DEFAULT_RUN_TIMEOUT_S / 3600} h)` },
} as const satisfies FlagSpecs;

export const runCommands: Command[] = [
  defineCommand({
    name: 'run',
    usage: 'APP [--timeout T] [--] COMMAND [ARGS…]',
    summary: "Run a one-off command in a new pod of the app's current release, attached to this terminal",
    access: 'app',
    // Everything after the command's first word is its own, options included (`run APP ls -la`).
    args: { min: 2, max: 10_000, verbatimAfter: 2 },
    flags,
    run: async (ctx, app, command, f) => {
      return runAttached(actorOf(ctx), app, { command, timeoutSeconds: parseTimeout(f.timeout) }, ctx.raw, ctx.signal);
    },
  }),
  defineCommand({
    name: 'run:detached',
    usage: 'APP [--timeout T] [--] COMMAND [ARGS…]',
    summary: 'Start a one-off command in the background; its output goes to `logs APP -p POD`',
    access: 'app',
    args: { min: 2, max: 10_000, verbatimAfter: 2 },
    flags,
    run: async (ctx, app, command, f) => {
      const { pod } = await runDetached(actorOf(ctx), app, { command, timeoutSeconds: parseTimeout(f.timeout) });
      ctx.out.line(pod);
      return { exitCode: 0 };
    },
  }),
];
