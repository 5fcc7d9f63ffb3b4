import { UserError } from '../errors.ts';
import { configKey, configValue, shown } from '../names.ts';
import { getConfig, getConfigValue, setConfig } from '../ops/config.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/**
 * Quotes a value for a POSIX shell that sources `config --shell`: inside single quotes nothing is
 * special (`$()`, backticks, `\\` stay text), and a single quote is closed, escaped and reopened.
 */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Parses `KEY=VALUE` words; every pair is validated before anything is written. */
export function parsePairs(words: readonly string[]): Record<string, string> {
  // A Map, then own properties: a user's key (`__proto__`) must be data, never the prototype.
  const out = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UserError(`${shown(w)} is not KEY=VALUE.`);
    const key = configKey(w.slice(0, eq));
    out.set(key, configValue(key, w.slice(eq + 1)));
  }
  return Object.fromEntries(out);
}

/** config:set and config:unset store and roll out; with this flag they only store. */
const NO_RESTART: Command['flags'] = { 'no-restart': { type: 'boolean', help: 'only store the change; the next deploy uses it' } };

export const configCommands: Command[] = [
  {
    name: 'config',
    usage: 'APP',
    summary: "Show an app's config vars",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: { shell: { type: 'boolean', help: 'print KEY=VALUE lines' } },
    run: (ctx, app, _args, flags) => {
      const vars = getConfig(actorOf(ctx), app);
      return listing(vars, (out) => {
        if (flags.shell) {
          for (const [k, v] of Object.entries(vars)) out.line(`${k}=${shellQuote(v)}`);
          return;
        }
        out.heading(`${app} Config Vars`);
        out.pairs(Object.entries(vars));
      });
    },
  },
  {
    name: 'config:get',
    usage: 'APP KEY',
    summary: 'Print one config value',
    access: 'app',
    args: { min: 2, max: 2 },
    run: (ctx, app, [key]) => ctx.out.line(getConfigValue(actorOf(ctx), app, key!)),
  },
  {
    name: 'config:set',
    usage: 'APP KEY=VALUE… [--no-restart]',
    summary: 'Set config vars (and roll out a release with them)',
    access: 'app',
    args: { min: 2, max: 200 },
    flags: NO_RESTART,
    run: async (ctx, app, pairs, flags) => {
      const r = await setConfig(actorOf(ctx), app, { set: parsePairs(pairs), restart: flags['no-restart'] !== true }, progressOf(ctx));
      ctx.out.line(`Setting ${r.set.join(', ')} for ${app}... done`);
    },
  },
  {
    name: 'config:unset',
    usage: 'APP KEY… [--no-restart]',
    summary: 'Remove config vars (and roll out a release without them)',
    access: 'app',
    args: { min: 2, max: 200 },
    flags: NO_RESTART,
    run: async (ctx, app, keys, flags) => {
      const r = await setConfig(actorOf(ctx), app, { unset: keys, restart: flags['no-restart'] !== true }, progressOf(ctx));
      ctx.out.line(`Unsetting ${r.unset.join(', ')} for ${app}... done`);
    },
  },
];
