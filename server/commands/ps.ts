import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { checkScale, listProcesses, restart, scalableTypes, scale, stopOrStart } from '../ops/ps.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/**
 * Parses `ps:scale` words (`web=2 worker=0`) against the process types the app has; every word is
 * checked before anything is written.
 */
export function parseFormation(words: readonly string[], types: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of words) {
    const m = /^([A-Za-z0-9._-]+)=(\d{1,6})$/.exec(w);
    if (!m) throw new UserError(`${shown(w)} is not TYPE=COUNT (for example web=2).`);
    const [, type, count] = m;
    checkScale(type!, Number(count), types);
    out[type!] = Number(count);
  }
  return out;
}

export const psCommands: Command[] = [
  {
    name: 'ps',
    usage: 'APP',
    summary: "Show an app's processes: desired and ready instances, their states and restarts",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const status = await listProcesses(actorOf(ctx), app);
      return listing(status, (out) => {
        if (status.length === 0) return out.line(`${app} runs no processes; push it first (git push paas main).`);
        for (const p of status) {
          out.heading(`${p.type}: ${p.ready}/${p.desired} ready`);
          if (p.instances.length === 0) {
            out.line(p.stopped ? `stopped (ps:start ${app} starts it again)` : p.desired === 0 ? `scaled to 0 (ps:scale ${app} ${p.type}=1 starts one)` : 'no instances yet');
          }
          else out.table(p.instances.map((i) => [i.name, i.release === null ? '-' : `v${i.release}`, i.state, i.ready ? 'ready' : 'not ready', `restarts ${i.restarts}`, i.startedAt ? `since ${i.startedAt}` : '']));
          out.line();
        }
      });
    },
  },
  {
    name: 'ps:scale',
    usage: 'APP TYPE=COUNT…',
    summary: 'Set how many instances of each process type run (web=2 worker=0)',
    access: 'app',
    args: { min: 2, max: 50 },
    run: async (ctx, app, words) => {
      // The words are checked against the types the app runs; scale checks them again, for every adapter.
      const types = scalableTypes(actorOf(ctx), app);
      const r = await scale(actorOf(ctx), app, types.length ? parseFormation(words, types) : {}, progressOf(ctx));
      const summary = Object.entries(r.formation).map(([k, v]) => `${k} at ${v}`).join(', ');
      if (r.stopped.length) {
        ctx.out.line(`Scaling ${app}... done; ${r.stopped.join(', ')} ${r.stopped.length > 1 ? 'are' : 'is'} stopped and run${r.stopped.length > 1 ? '' : 's'} at that count after ps:start ${app}.`);
      } else {
        ctx.out.line(`Scaling ${app}... done, now running ${summary}.`);
      }
    },
  },
  {
    name: 'ps:stop',
    usage: 'APP [TYPE]',
    summary: 'Stop an app (or one process type): 0 instances, keeping the formation for ps:start',
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => {
      await stopOrStart(actorOf(ctx), app, type, true, progressOf(ctx));
      ctx.out.line(`Stopping ${type ?? 'all processes'} of ${app}... done`);
    },
  },
  {
    name: 'ps:start',
    usage: 'APP [TYPE]',
    summary: 'Start what ps:stop stopped, at the formation it had',
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => {
      await stopOrStart(actorOf(ctx), app, type, false, progressOf(ctx));
      ctx.out.line(`Starting ${type ?? 'stopped processes'} of ${app}... done`);
    },
  },
  {
    name: 'ps:restart',
    usage: 'APP [TYPE]',
    summary: "Restart an app's instances (all, or one process type) without a new release",
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => {
      await restart(actorOf(ctx), app, type, progressOf(ctx));
      ctx.out.line(`Restarting ${type ?? 'all processes'} of ${app}... done`);
    },
  },
];
