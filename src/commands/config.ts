import { UserError } from '../errors.ts';
import { configKey, configValue, shown } from '../names.ts';
import type { Command } from './types.ts';

/** Parses `KEY=VALUE` words; every pair is validated before anything is written. */
export function parsePairs(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UserError(`${shown(w)} is not KEY=VALUE.`);
    const key = configKey(w.slice(0, eq));
    out[key] = configValue(key, w.slice(eq + 1));
  }
  return out;
}

export const configCommands: Command[] = [
  {
    name: 'config',
    usage: 'APP',
    summary: "Show an app's config vars",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: { shell: { type: 'boolean', help: 'print KEY=VALUE lines' } },
    run: (ctx, [app], flags) => {
      const vars = ctx.services.store.config.all(app!);
      if (flags.json) return ctx.out.json(vars);
      if (flags.shell) {
        for (const [k, v] of Object.entries(vars)) ctx.out.line(`${k}=${JSON.stringify(v)}`);
        return;
      }
      ctx.out.heading(`${app} Config Vars`);
      ctx.out.pairs(Object.entries(vars));
    },
  },
  {
    name: 'config:get',
    usage: 'APP KEY',
    summary: 'Print one config value',
    access: 'app',
    args: { min: 2, max: 2 },
    run: (ctx, [app, rawKey]) => {
      const key = configKey(rawKey!);
      const vars = ctx.services.store.config.all(app!);
      if (!(key in vars)) throw new UserError(`${key} is not set for ${app}.`);
      ctx.out.line(vars[key]);
    },
  },
  {
    name: 'config:set',
    usage: 'APP KEY=VALUE…',
    summary: 'Set config vars',
    access: 'app',
    args: { min: 2, max: 200 },
    run: (ctx, [app, ...pairs]) => {
      const set = parsePairs(pairs);
      ctx.services.store.config.change(app!, set);
      ctx.out.line(`Setting ${Object.keys(set).join(', ')} for ${app}... done`);
    },
  },
  {
    name: 'config:unset',
    usage: 'APP KEY…',
    summary: 'Remove config vars',
    access: 'app',
    args: { min: 2, max: 200 },
    run: (ctx, [app, ...keys]) => {
      const valid = keys.map(configKey);
      ctx.services.store.config.change(app!, {}, valid);
      ctx.out.line(`Unsetting ${valid.join(', ')} for ${app}... done`);
    },
  },
];
