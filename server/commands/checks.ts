// checks and checks:set: the HTTP health checks each process type runs with. A release brings
// the ones its app.json declares; checks:set replaces one type of check for every later release
// too, and is rolled out at once (same release, new probes).
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { requireDeployer } from '../context.ts';
import type { HealthCheck } from '../deploy/deployer.ts';
import { checkPath, checkType, healthCheck } from '../ops/app-json.ts';
import { mergeChecks } from '../ops/release.ts';
import { reapply, withDeployLock } from '../ops/deploying.ts';
import { listing, type Command, type CommandContext } from './types.ts';

const NUMBERS = { port: 'port', 'initial-delay': 'initialDelay', timeout: 'timeout', attempts: 'attempts', wait: 'wait' } as const;

/** What each option means, for help and docs/commands.md; the defaults are describe()'s. */
const HELP: Record<keyof typeof NUMBERS, string> = {
  port: "the port to probe (web: its $PORT; other process types must give one)",
  'initial-delay': 'seconds before the first probe (default 0)',
  timeout: 'seconds one probe may take (default 1)',
  attempts: 'failed probes in a row that count as failing (default 3)',
  wait: 'seconds between probes (default 2)',
};

/** Stores a checks:set/checks:unset change and rolls it out when the app runs. */
async function changeChecks(ctx: CommandContext, app: string, change: () => void, undo: () => void, what: string): Promise<void> {
  const { store, deployer } = ctx.services;
  const current = store.releases.current(app);
  if (!deployer || !current?.image) return change();
  requireDeployer(ctx.services);
  await withDeployLock(ctx, app, 'checks:set', async (signal, t) => {
    ctx.out.line(`${what}...`);
    await reapply(ctx, app, current, change, undo, t, signal);
  });
}

function describe(c: HealthCheck): string {
  const parts = [c.type, `GET ${c.path}`, c.port !== undefined ? `port ${c.port}` : ''];
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
      const { store } = ctx.services;
      const current = store.releases.current(app);
      const checks = mergeChecks(current?.checks ?? {}, store.checks.all(app));
      return listing(checks, (out) => {
        out.heading(`${app} health checks`);
        const rows = Object.entries(checks).flatMap(([type, list]) => list.map((c) => [type, describe(c)]));
        if (rows.length === 0) return out.line('none declared: web is ready once it accepts TCP connections on $PORT');
        out.table(rows);
      });
    },
  },
  {
    name: 'checks:set',
    usage: 'APP TYPE startup|liveness|readiness PATH [--port N] [--initial-delay S] [--timeout S] [--attempts N] [--wait S]',
    summary: 'Set an HTTP health check of a process type (replaces app.json\'s check of that kind)',
    access: 'app',
    args: { min: 4, max: 4 },
    flags: Object.fromEntries(Object.keys(NUMBERS).map((k) => [k, { type: 'string' as const, help: HELP[k as keyof typeof NUMBERS] }])),
    run: async (ctx, app, [type, kind, path], flags) => {
      const current = ctx.services.store.releases.current(app);
      const types = current?.processes.map((p) => p.type) ?? [];
      if (current && !types.includes(type!)) throw new UserError(`There is no ${shown(type!)} process type; this app has ${types.join(', ') || 'none'}.`);
      const raw: Record<string, unknown> = { type: checkType(kind, 'checks:set'), path: checkPath(path, 'checks:set') };
      for (const [flag, field] of Object.entries(NUMBERS)) {
        const v = flags[flag];
        if (typeof v !== 'string') continue;
        if (!/^\d{1,6}$/.test(v)) throw new UserError(`checks:set: --${flag} must be a whole number, not ${shown(v)}.`);
        raw[field] = Number(v);
      }
      const check = healthCheck(raw, 'checks:set');
      if (type !== 'web' && check.port === undefined) throw new UserError('checks:set: a check of a process other than web needs --port.');
      const { store } = ctx.services;
      const before = store.checks.all(app)[type!]?.find((c) => c.type === check.type);
      const what = `Setting the ${check.type} check of ${type} to GET ${check.path}`;
      await changeChecks(ctx, app, () => store.checks.set(app, type!, check), () => (before ? store.checks.set(app, type!, before) : store.checks.remove(app, type!, check.type)), what);
      ctx.out.line(`${what}... done`);
    },
  },
  {
    name: 'checks:unset',
    usage: 'APP TYPE startup|liveness|readiness',
    summary: 'Remove a check checks:set made (the release\'s app.json check, if any, applies again)',
    access: 'app',
    args: { min: 3, max: 3 },
    run: async (ctx, app, [type, kind]) => {
      const { store } = ctx.services;
      const t = checkType(kind, 'checks:unset');
      const before = store.checks.all(app)[type!]?.find((c) => c.type === t);
      if (!before) throw new UserError(`${app} has no ${t} check of ${shown(type!)} set with checks:set.`);
      const what = `Removing the ${t} check of ${type}`;
      await changeChecks(ctx, app, () => store.checks.remove(app, type!, t), () => store.checks.set(app, type!, before), what);
      ctx.out.line(`${what}... done`);
    },
  },
];
