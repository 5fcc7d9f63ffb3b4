// ps:sleep and ps:wake (issue 40): an app's web instances stop after an idle time and come back on
// the next request, which the waker holds meanwhile (ops/processes/sleep.ts).
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';
import { formatSleepAfter, setSleepAfter, sleepState, wakeNow, type SleepState } from '../ops/processes/sleep.ts';
import type { Output } from '../output/output.ts';

/** ps:sleep's words for an idle time and where it comes from. */
function afterText(s: Pick<SleepState, 'seconds' | 'source'>): string {
  if (s.seconds === 0) return s.source === 'app' ? 'never (set by ps:sleep)' : 'never (an app sleeps only when told: ps:sleep APP --after 30m)';
  const source = { app: 'set by ps:sleep', preview: "a preview's default, SLIPWAY_PREVIEW_SLEEP_AFTER", default: '' }[s.source];
  return `after ${formatSleepAfter(s.seconds)} without a request (${source})`;
}

/** A wake's time to a ready instance in words. */
function wakeTime(ms: number | null, error: string | null): string {
  if (error) return `failed: ${error}`;
  return ms === null ? 'not timed' : `ready in ${(ms / 1000).toFixed(2)} s`;
}

/** ps:sleep's text: the setting, the state, the newest wakes. */
function showState(out: Output, app: string, s: SleepState): void {
  out.line(`${app} sleeps ${afterText(s)}.`);
  out.line(s.asleepSince ? `It sleeps since ${s.asleepSince} (0 web instances; its next request wakes it).` : 'It is awake.');
  if (s.wakes.length) {
    out.heading('Wakes');
    out.table(s.wakes.map((w) => [w.startedAt, w.trigger, `asleep since ${w.asleepSince}`, wakeTime(w.readyMs, w.error)]), ['Woke at', 'By', 'Slept', 'Time']);
  }
}

export const sleepCommands: Command[] = [
  defineCommand({
    name: 'ps:sleep',
    usage: 'APP [--after DURATION|0|default]',
    summary: "Show or set how long an app goes without a request before its web instances stop (it sleeps at zero; its next request is held while it wakes): 90s, 30m, 2h, 1d; 0 never",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      after: { type: 'string', help: 'the idle time: 1800, 90s, 30m, 2h, 1d (at most 30d); 0: never; default: a preview\'s default, or never' },
    },
    run: async (ctx, app, _args, flags) => {
      if (flags.after === undefined) {
        const s = sleepState(actorOf(ctx), app);
        return listing(s, (out) => showState(out, app, s));
      }
      const r = await setSleepAfter(actorOf(ctx), app, flags.after);
      return listing(r, (out) => out.line(`Setting the idle time of ${app}... done, it now sleeps ${afterText(r)}${r.woke ? '; woke it' : ''}.`));
    },
  }),
  defineCommand({
    name: 'ps:wake',
    usage: 'APP',
    summary: 'Wake a sleeping app now: its web instances start again (a request to it does the same)',
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const w = await wakeNow(actorOf(ctx), app);
      return listing({ woke: w !== null, wake: w }, (out) => out.line(w ? `Waking ${app}... done, ${wakeTime(w.readyMs, w.error)}.` : `${app} is awake.`));
    },
  }),
];
