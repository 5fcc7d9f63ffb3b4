// Processes: ps, scale, restart/stop/start, the warm window, metrics, logs (-t follows them live),
// cron tasks, and `run`, which goes through SSH for a real terminal (the API has no exec stream).
import { ClientError, UsageError } from '../errors.ts';
import { call, events, send, seg, type Reply } from '../http.ts';
import { streamError } from '../jobs.ts';
import { findLogin } from '../logins.ts';
import { DEFAULT_SSH_PORT } from '../context.ts';
import { cell } from '../out.ts';
import { sshAttached } from '../ssh.ts';
import { answered, change, int, pairs, read, str } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';

const PROCESS_FLAG = { process: { type: 'string', short: 'p', help: 'one process type (default: all)' } } as const;

/** restart, stop and start: one process type (an argument or -p) or all, as a job. */
function verb(v: 'restart' | 'stop' | 'start', summary: string): ClientCommand {
  return change({
    name: `ps:${v}`, usage: '[TYPE]', summary, route: `POST /apps/{app}/${v}`, args: { min: 0, max: 1 }, flags: PROCESS_FLAG,
    body: (r) => { const p = r.args[0] ?? str(r, 'process'); return p ? { process: p } : {}; },
  });
}

/** The SSH port of the command's server: its login's, else the default (a CI job with SLIPWAY_TOKEN has no login). */
export function sshPortOf(r: Run): number {
  const login = r.ctx.env.token ? undefined : findLogin(r.ctx.env.configDir, r.server.host);
  return login?.sshPort ?? DEFAULT_SSH_PORT;
}

/** Follows an SSE stream of lines (`logs -t`) until the server ends it or the user stops it. */
async function followLines(r: Run, res: Reply): Promise<void> {
  for await (const e of events(res)) {
    if (e.event === 'line') r.ctx.out.line(e.data);
    else if (e.event === 'error') throw new ClientError(streamError(e.data));
    else if (e.event === 'metrics') r.ctx.out.line(r.json ? e.data : cell(JSON.parse(e.data)));
  }
}

export const psCommands: ClientCommand[] = [
  read({ name: 'ps', summary: "The app's process types with desired and ready instances", route: 'GET /apps/{app}/processes' }),
  change({
    name: 'ps:scale', usage: 'TYPE=COUNT…', summary: 'Scale process types (web=2), followed live', route: 'PATCH /apps/{app}/formation', args: { min: 1, max: Infinity },
    body: (r) => Object.fromEntries(Object.entries(pairs(r.args, 'slipway ps:scale TYPE=COUNT…')).map(([k, v]) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`${k}=${v}: the count is a whole number.`);
      return [k, Number(v)];
    })),
  }),
  verb('restart', 'Restart one process type or all, followed live'),
  verb('stop', 'Stop one process type or all (scale to zero, keeping the formation)'),
  verb('start', 'Start stopped process types again'),
  {
    name: 'ps:warm', usage: '[DURATION|default]', summary: "How long the previous release's web instances stay warm after a deploy; with DURATION (300, 90s, 5m, 1h; 0 off), set it",
    routes: ['GET /apps/{app}/warm', 'PATCH /apps/{app}/warm'], app: true, args: { min: 0, max: 1 }, flags: { 'no-wait': { type: 'boolean', help: 'print the job and return, without following it' } },
    run: async (r) => {
      const d = r.args[0];
      const a = d === undefined ? await call(r.server, 'GET', `/apps/${seg(r.app)}/warm`) : await call(r.server, 'PATCH', `/apps/${seg(r.app)}/warm`, { body: { duration: /^\d+$/.test(d) ? Number(d) : d } });
      return answered(r, a.status, a.json);
    },
  },
  {
    name: 'ps:autoscale', usage: '[TYPE --max N [--min N] [--cpu PERCENT] [--memory PERCENT]]', summary: "The app's autoscaled process types; with TYPE, autoscale it between --min and --max on its average CPU and/or memory use (percent of its limits)",
    routes: ['GET /apps/{app}/autoscale', 'PATCH /apps/{app}/autoscale/{process}'], app: true, args: { min: 0, max: 1 },
    flags: {
      min: { type: 'string', help: 'fewest instances (default 1)' }, max: { type: 'string', help: 'most instances' },
      cpu: { type: 'string', help: 'average CPU use to aim at, in percent of the limit' }, memory: { type: 'string', help: 'average memory use to aim at, in percent of the limit' },
      'no-wait': { type: 'boolean', help: 'print the job and return, without following it' },
    },
    run: async (r) => {
      const type = r.args[0];
      if (type === undefined) {
        const a = await call(r.server, 'GET', `/apps/${seg(r.app)}/autoscale`);
        return answered(r, a.status, a.json);
      }
      const max = int(r, 'max');
      if (max === undefined) throw new UsageError('Give --max, the most instances (for example slipway ps:autoscale web --max 5 --cpu 70).');
      const body = { max, ...Object.fromEntries((['min', 'cpu', 'memory'] as const).flatMap((k) => { const v = int(r, k); return v === undefined ? [] : [[k, v]]; })) };
      const a = await call(r.server, 'PATCH', `/apps/${seg(r.app)}/autoscale/${seg(type)}`, { body });
      return answered(r, a.status, a.json);
    },
  },
  change({ name: 'ps:autoscale:off', usage: 'TYPE', summary: 'Stop autoscaling a process type (it keeps the instances it runs), followed live', route: 'DELETE /apps/{app}/autoscale/{process}' }),
  {
    name: 'ps:metrics', usage: '[-t]', summary: "CPU and memory of the app's pods by process type; -t keeps reading", routes: ['GET /apps/{app}/metrics'], app: true, args: { min: 0, max: 0 },
    flags: { tail: { type: 'boolean', short: 't', help: 'keep reading' } },
    run: async (r) => {
      if (r.flags.tail) return followLines(r, await send(r.server, 'GET', `/apps/${seg(r.app)}/metrics`, { query: { follow: true } }));
      const a = await call(r.server, 'GET', `/apps/${seg(r.app)}/metrics`);
      if (r.json) r.ctx.out.json(a.json);
      else r.ctx.out.line(cell(a.json));
    },
  },
  {
    name: 'logs', usage: '[-t] [-n LINES] [-p TYPE|run|cron|POD]', summary: "The app's recent log lines; -t follows new ones live", routes: ['GET /apps/{app}/logs'], app: true, args: { min: 0, max: 0 },
    flags: { tail: { type: 'boolean', short: 't', help: 'keep following new lines' }, num: { type: 'string', short: 'n', help: 'how many recent lines' }, ...PROCESS_FLAG },
    run: async (r) => {
      const query = { tail: int(r, 'num'), ps: str(r, 'process'), follow: r.flags.tail === true };
      const res = await send(r.server, 'GET', `/apps/${seg(r.app)}/logs`, { query });
      if (r.flags.tail) return followLines(r, res);
      r.ctx.out.raw(await res.text());
    },
  },
  read({ name: 'cron', summary: "The app's scheduled tasks", route: 'GET /apps/{app}/cron' }),
  change({ name: 'cron:run', usage: 'ID', summary: 'Run a scheduled task now', route: 'POST /apps/{app}/cron/{id}/run' }),
  change({ name: 'cron:suspend', usage: 'ID', summary: 'Suspend a scheduled task', route: 'POST /apps/{app}/cron/{id}/suspend' }),
  change({ name: 'cron:resume', usage: 'ID', summary: 'Resume a suspended scheduled task', route: 'POST /apps/{app}/cron/{id}/resume' }),
  {
    name: 'run', usage: '[--timeout T] [--] COMMAND [ARGS…]', summary: 'Run a one-off command in a new container of the app, on your terminal (through SSH)', routes: [], app: true, args: { min: 1, max: Infinity, verbatimAfter: 0 },
    run: (r) => sshAttached(r.ctx.env, r.server.host, sshPortOf(r), ['run', r.app, ...r.args]),
  },
  {
    name: 'run:detached', usage: '[--timeout T] [--] COMMAND [ARGS…]', summary: 'Start a one-off command in the background (through SSH); its output goes to logs -p POD', routes: [], app: true, args: { min: 1, max: Infinity, verbatimAfter: 0 },
    run: (r) => sshAttached(r.ctx.env, r.server.host, sshPortOf(r), ['run:detached', r.app, ...r.args]),
  },
];
