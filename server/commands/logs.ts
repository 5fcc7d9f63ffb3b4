import { UsageError, UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { appLogs, DEFAULT_LOG_LINES, MAX_LOG_LINES } from '../ops/processes/logs.ts';
import { defineCommand, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** Parses the -n/--num value: a whole number of lines from 1 to MAX_LOG_LINES. */
export function parseLineCount(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LOG_LINES;
  if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LOG_LINES) {
    throw new UserError(`${shown(raw)} is not a number of lines (1-${MAX_LOG_LINES}).`);
  }
  return Number(raw);
}

export const logCommands: Command[] = [
  defineCommand({
    name: 'logs',
    usage: 'APP [-t] [-p|--process TYPE|run|cron|POD] [-n LINES]',
    summary: "Show an app's recent log lines; -t keeps streaming them",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: {
      tail: { type: 'boolean', short: 't', help: 'keep streaming new lines' },
      ps: { type: 'string', short: 'p', help: 'only this process type, one-off pods (run), scheduled tasks (cron) or one run:detached pod' },
      process: { type: 'string', help: 'the same as -p' },
      num: { type: 'string', short: 'n', help: `how many recent lines (default ${DEFAULT_LOG_LINES})` },
    },
    run: async (ctx, app, _args, flags) => {
      const lines = parseLineCount(flags.num);
      if (flags.ps !== undefined && flags.process !== undefined && flags.ps !== flags.process) throw new UsageError('Give the process type once: -p or --process, not both.');
      const ps = flags.ps ?? flags.process;
      const stream = appLogs(actorOf(ctx), app, { ...(ps !== undefined ? { ps } : {}), lines, follow: flags.tail === true });
      await stream((l) => {
        ctx.out.line(l);
        return ctx.drained();
      }, ctx.signal);
    },
  }),
];
