import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { checkScale, listProcesses, restart, scalableTypes, scale, setWarmWindow, stopOrStart, warmWindow } from '../ops/processes/ps.ts';
import { formatWarmWindow } from '../config.ts';
import { listing, type Command } from './types.ts';
import type { ProcessEntry } from '../shapes/processes.ts';
import { actorOf, progressOf } from './progress.ts';
import { autoscaleCommands } from './autoscale.ts';

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

/** An ISO time as the clock time of day in UTC (`12:05:07 UTC`), as ps shows a warm window's end. */
export function clockUtc(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(11, 19)} UTC`;
}

/** ps's heading of one process type: ready of desired, or for a warm set which release it runs and until when. */
function heading(p: { type: string; ready: number; desired: number; warm?: { release: number; until: string }; asleep?: { since: string } }): string {
  if (p.asleep) return `${p.type}: asleep since ${clockUtc(p.asleep.since)} (its next request wakes it; ps:sleep shows its wakes)`;
  if (!p.warm) return `${p.type}: ${p.ready}/${p.desired} ready`;
  return `${p.type} (warm: v${p.warm.release}, until ${clockUtc(p.warm.until)}; rollback to v${p.warm.release} only moves traffic)`;
}

/** ps's line of an autoscaled type: its bounds, the instances its autoscaler runs and wants, each metric now against its aim. */
export function autoscaleLine(a: NonNullable<ProcessEntry['autoscale']>): string {
  const metric = (name: string, now: number | undefined, aim: number | undefined) => (aim === undefined ? [] : [`${name} ${now === undefined ? '?' : `${now} %`} (aim ${aim} %)`]);
  const metrics = [...metric('CPU', a.cpuNow, a.cpu), ...metric('memory', a.memoryNow, a.memory)].join(', ');
  return `autoscaled ${a.min} to ${a.max}: ${a.current} running, ${a.desired} wanted; ${metrics}${a.why ? `; ${a.why}` : ''}`;
}

/** ps:warm's words for a window and where it comes from. */
function windowText(w: { seconds: number; source: 'app' | 'default' | 'preview' }): string {
  const source = { app: 'set by ps:warm', default: 'the server default, SLIPWAY_WARM_ROLLBACK', preview: "a preview's default: its share of its parent's quota holds no warm set" }[w.source];
  return `${formatWarmWindow(w.seconds)} (${source})`;
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
          out.heading(heading(p));
          if (p.autoscale) out.line(autoscaleLine(p.autoscale));
          if (p.instances.length === 0 && !p.warm && !p.asleep) {
            out.line(p.stopped ? `stopped (ps:start ${app} starts it again)` : p.desired === 0 ? `scaled to 0 (ps:scale ${app} ${p.type}=1 starts one)` : 'no instances yet');
          }
          else if (p.instances.length > 0) out.table(p.instances.map((i) => [i.name, i.release === null ? '-' : `v${i.release}`, i.state, i.ready ? 'ready' : 'not ready', `restarts ${i.restarts}`, i.startedAt ? `since ${i.startedAt}` : '']));
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
  {
    name: 'ps:warm',
    usage: 'APP [DURATION|default]',
    summary: "Show or set how long the previous release's web instances stay warm after a deploy, for an instant rollback (300, 90s, 5m, 1h; 0 turns it off)",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    run: async (ctx, app, [given]) => {
      if (given === undefined) {
        const w = warmWindow(actorOf(ctx), app);
        return listing(w, (out) => out.line(`Warm window of ${app}: ${windowText(w)}.`));
      }
      const r = await setWarmWindow(actorOf(ctx), app, given, progressOf(ctx));
      const stopped = r.dropped ? `; stopped ${r.dropped} warm set${r.dropped > 1 ? 's' : ''}` : '';
      const next = r.seconds > 0 ? ' from its next deploy on' : '';
      ctx.out.line(`Setting the warm window of ${app}... done, now ${windowText(r)}${next}${stopped}.`);
      return undefined;
    },
  },
  ...autoscaleCommands,
];
