import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { requireDeployer } from '../context.ts';
import type { Command } from './types.ts';
import { RUN_PROCESS, isRunPodName } from '../deploy/workload.ts';

/** Lines shown when -n is not given (Heroku's default). */
export const DEFAULT_LOG_LINES = 100;
/** Most lines -n may ask for. */
export const MAX_LOG_LINES = 10_000;

/** Parses the -n/--num value: a whole number of lines from 1 to MAX_LOG_LINES. */
export function parseLineCount(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LOG_LINES;
  if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LOG_LINES) {
    throw new UserError(`${shown(raw)} is not a number of lines (1-${MAX_LOG_LINES}).`);
  }
  return Number(raw);
}

export const logCommands: Command[] = [
  {
    name: 'logs',
    usage: 'APP [-t] [-p TYPE|run|POD] [-n LINES]',
    summary: "Show an app's recent log lines; -t keeps streaming them",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: {
      tail: { type: 'boolean', short: 't', help: 'keep streaming new lines' },
      ps: { type: 'string', short: 'p', help: 'only this process type, one-off pods (run) or one run:detached pod' },
      num: { type: 'string', short: 'n', help: `how many recent lines (default ${DEFAULT_LOG_LINES})` },
    },
    run: async (ctx, app, _args, flags) => {
      const lines = parseLineCount(flags.num as string | undefined);
      const asked = flags.ps as string | undefined;
      // A run:detached pod's name (`run-x7k2p`) selects that pod; `run` selects every one-off pod.
      const pod = asked !== undefined && isRunPodName(asked) ? asked : undefined;
      const process = pod ? RUN_PROCESS : asked;
      const deployer = requireDeployer(ctx.services);
      const current = ctx.services.store.releases.current(app);
      const types = current?.processes.map((p) => p.type) ?? [];
      if (process !== undefined && process !== RUN_PROCESS && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
      await deployer.logs(app, { ...(process !== undefined ? { process } : {}), ...(pod ? { pod } : {}), lines, follow: flags.tail === true, signal: ctx.signal }, (l) => {
        ctx.out.line(l);
        return ctx.drained();
      });
    },
  },
];
