import { canaryInfo, decideCanary, setCanary, unsetCanary, type CanaryState } from '../ops/releases/canary.ts';
import { figuresText, settingText } from '../ops/releases/canary-rules.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** A running canary in one line: `v5 takes 10 % of the requests beside v4 (step 1 of 3, window ends 12:05:07 UTC)`. */
export function canaryLine(c: CanaryState): string {
  const figures = c.figures ? `; last window: v${c.release} ${figuresText(c.figures.canary)}, v${c.stable} ${figuresText(c.figures.stable)}` : '';
  const state = c.state === 'running' ? `window ends ${c.windowEndsAt.slice(11, 19)} UTC` : c.state;
  return `v${c.release} takes ${c.weight} % of the requests beside v${c.stable} (step ${c.step} of ${c.steps}, ${state})${figures}`;
}

export const canaryCommands: Command[] = [
  {
    name: 'canary',
    usage: 'APP',
    summary: "Show an app's canary setting and the canary running now, with its weight and the last window's figures",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const info = canaryInfo(actorOf(ctx), app);
      return listing(info, (out) => {
        out.line(info.setting ? `Canary of ${app}: ${settingText(info.setting)}.` : `${app} has no canary: a deploy moves all requests at once (canary:set ${app} 10,50,100 makes every later deploy a canary).`);
        if (info.running) out.line(`Running: ${canaryLine(info.running)}.`);
      });
    },
  },
  defineCommand({
    name: 'canary:set',
    usage: 'APP STEPS [--step DURATION] [--margin 5xx=POINTS,p95=MS]',
    summary: "Make every later deploy of an app a canary: its web set takes these shares of the requests (10,50,100), one window each, aborted when worse than the serving one",
    access: 'app',
    args: { min: 2, max: 2 },
    flags: {
      step: { type: 'string', help: 'how long each step lasts before its verdict (30s, 5m, 1h; default 5m)' },
      margin: { type: 'string', help: 'how much worse than the serving set the canary may be: 5xx=POINTS (percentage points of 5xx, default 1) and/or p95=MS (ms of p95 latency, default 100)' },
    },
    run: (ctx, app, [steps], f) => {
      const s = setCanary(actorOf(ctx), app, { steps: steps!, step: f.step, margin: f.margin });
      ctx.out.line(`Setting the canary of ${app}... done: ${settingText(s)}, from its next deploy on.`);
    },
  }),
  {
    name: 'canary:unset',
    usage: 'APP',
    summary: 'Deploy an app without a canary again (all requests move at once)',
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      const had = unsetCanary(actorOf(ctx), app);
      ctx.out.line(had ? `Removing the canary of ${app}... done: later deploys move all requests at once.` : `${app} had no canary.`);
    },
  },
  {
    name: 'canary:promote',
    usage: 'APP',
    summary: "End an app's running canary now: its release takes all the requests",
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      const c = decideCanary(actorOf(ctx), app, 'promote');
      ctx.out.line(`Promoting the canary of ${app} (v${c.release}, at ${c.weight} %)... the deploy now moves all requests to it.`);
    },
  },
  {
    name: 'canary:abort',
    usage: 'APP',
    summary: "End an app's running canary now: every request back on the serving release, the deploy fails",
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      const c = decideCanary(actorOf(ctx), app, 'abort');
      ctx.out.line(`Aborting the canary of ${app} (v${c.release}, at ${c.weight} %)... every request goes back to v${c.stable}.`);
    },
  },
];
