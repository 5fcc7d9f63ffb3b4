// checks and checks:set: the HTTP health checks each process type runs with. A release brings
// the ones its app.json declares; checks:set replaces one type of check for every later release
// too, and is rolled out at once (same release, new probes).
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import type { HealthCheck } from '../model.ts';
import { listChecks, setCheck, unsetCheck, type CheckInput } from '../ops/processes/checks.ts';
import { defineCommand, listing, type Command, type FlagSpecs } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** checks:set's options, for help and docs/commands.md; the defaults are describe()'s. */
const FLAGS = {
  port: { type: 'string', help: "the port to probe (web: its $PORT; other process types must give one)" },
  'initial-delay': { type: 'string', help: 'seconds before the first probe (default 0)' },
  timeout: { type: 'string', help: 'seconds one probe may take (default 1)' },
  attempts: { type: 'string', help: 'failed probes in a row that count as failing (default 3)' },
  wait: { type: 'string', help: 'seconds between probes (default 2)' },
} as const satisfies FlagSpecs;

/** Each option, a whole number, and the field of the check it sets. */
const NUMBERS = [['port', 'port'], ['initial-delay', 'initialDelay'], ['timeout', 'timeout'], ['attempts', 'attempts'], ['wait', 'wait']] as const;

function describe(c: HealthCheck): string {
  const parts = [c.type, `GET ${c.path}`, c.content !== undefined ? `body contains ${JSON.stringify(c.content)}` : '', c.port !== undefined ? `port ${c.port}` : ''];
  parts.push(`initialDelay ${c.initialDelay ?? 0}s`, `timeout ${c.timeout ?? 1}s`, `attempts ${c.attempts ?? 3}`, `wait ${c.wait ?? 2}s`);
  return parts.filter(Boolean).join(', ');
}

export const checkCommands: Command[] = [
  {
    name: 'checks',
    usage: 'APP',
    summary: 'Show the health checks of each process type (app.json healthchecks and checks:set)',
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const checks = listChecks(actorOf(ctx), app);
      return listing(checks, (out) => {
        out.heading(`${app} health checks`);
        const rows = Object.entries(checks).flatMap(([type, list]) => list.map((c) => [type, describe(c)]));
        if (rows.length === 0) return out.line('none declared: web is ready once it accepts TCP connections on $PORT');
        out.table(rows);
      });
    },
  },
  defineCommand({
    name: 'checks:set',
    usage: 'APP TYPE startup|liveness|readiness PATH [--port N] [--initial-delay S] [--timeout S] [--attempts N] [--wait S]',
    summary: 'Set an HTTP health check of a process type (replaces app.json\'s check of that kind)',
    access: 'app',
    args: { min: 4, max: 4 },
    flags: FLAGS,
    run: async (ctx, app, [type, kind, path], flags) => {
      const input: CheckInput = { process: type!, type: kind, path };
      for (const [flag, field] of NUMBERS) {
        const v = flags[flag];
        if (v === undefined) continue;
        if (!/^\d{1,6}$/.test(v)) throw new UserError(`checks:set: --${flag} must be a whole number, not ${shown(v)}.`);
        input[field] = Number(v);
      }
      const { process, check } = await setCheck(actorOf(ctx), app, input, progressOf(ctx));
      ctx.out.line(`Setting the ${check.type} check of ${process} to GET ${check.path}... done`);
    },
  }),
  {
    name: 'checks:unset',
    usage: 'APP TYPE startup|liveness|readiness',
    summary: 'Remove a check checks:set made (the release\'s app.json check, if any, applies again)',
    access: 'app',
    args: { min: 3, max: 3 },
    run: async (ctx, app, [process, kind]) => {
      const { type } = await unsetCheck(actorOf(ctx), app, process!, kind, progressOf(ctx));
      ctx.out.line(`Removing the ${type} check of ${process}... done`);
    },
  },
];
