// ps:autoscale and ps:autoscale:off: thin adapters over ops/processes/autoscale.ts.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { autoscaleOff, autoscaleRules, setAutoscale } from '../ops/processes/autoscale.ts';
import { defineCommand, listing, type Command, type FlagSpecs } from './types.ts';
import { actorOf, progressOf } from './progress.ts';
import type { AutoscaleRule } from '../shapes/processes.ts';

/** ps:autoscale's options. */
const FLAGS = {
  min: { type: 'string', help: 'fewest instances (default 1)' },
  max: { type: 'string', help: 'most instances (the app\'s quota must hold them)' },
  cpu: { type: 'string', help: 'average CPU use to aim at, in percent of the CPU limit (70)' },
  memory: { type: 'string', help: 'average memory use to aim at, in percent of the memory limit (80)' },
} as const satisfies FlagSpecs;

/** An option's word as a whole number (checked by the operation); absent stays absent. */
function number(option: string, word: string | undefined): number | undefined {
  if (word === undefined) return undefined;
  if (!/^\d{1,6}$/.test(word)) throw new UserError(`--${option} takes a whole number, not ${shown(word)}.`);
  return Number(word);
}

/** One rule in words: `web: 1 to 5 instances, CPU at 70 %`. */
export function ruleText(r: AutoscaleRule): string {
  const metrics = [r.cpu !== null && `CPU at ${r.cpu} %`, r.memory !== null && `memory at ${r.memory} %`].filter(Boolean).join(' and ');
  return `${r.process}: ${r.min} to ${r.max} instances, aiming at ${metrics} of their limits`;
}

export const autoscaleCommands: Command[] = [
  defineCommand({
    name: 'ps:autoscale',
    usage: 'APP [TYPE --max N [--min N] [--cpu PERCENT] [--memory PERCENT]]',
    summary: "Show the app's autoscaled process types, or autoscale one between --min and --max instances on its average CPU and/or memory use (percent of its limits)",
    access: 'app',
    args: { min: 1, max: 2 },
    json: true,
    flags: FLAGS,
    run: async (ctx, app, [type], flags) => {
      if (type === undefined) {
        if ([flags.min, flags.max, flags.cpu, flags.memory].some((v) => v !== undefined)) throw new UserError(`Name the process type to autoscale (for example ps:autoscale ${app} web --max 5 --cpu 70).`);
        const rules = autoscaleRules(actorOf(ctx), app);
        return listing(rules, (out) => {
          if (rules.length === 0) return out.line(`${app} has no autoscaled process type (ps:autoscale ${app} web --max 5 --cpu 70 makes one).`);
          for (const r of rules) out.line(ruleText(r));
        });
      }
      const max = number('max', flags.max);
      if (max === undefined) throw new UserError(`Give --max, the most instances of ${type} (for example ps:autoscale ${app} ${type} --max 5 --cpu 70).`);
      const r = await setAutoscale(actorOf(ctx), app, type, { max, min: number('min', flags.min), cpu: number('cpu', flags.cpu), memory: number('memory', flags.memory) }, progressOf(ctx));
      ctx.out.line(`Autoscaling ${app}... done, ${ruleText(r)}.`);
      return undefined;
    },
  }),
  {
    name: 'ps:autoscale:off',
    usage: 'APP TYPE',
    summary: 'Stop autoscaling a process type: it keeps the instances it runs, and ps:scale sets them again',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [type]) => {
      const r = await autoscaleOff(actorOf(ctx), app, type!, progressOf(ctx));
      ctx.out.line(`Turning autoscaling of ${r.process} off... done, ${r.process} stays at ${r.instances} (ps:scale ${app} ${r.process}=N changes it).`);
    },
  },
];
