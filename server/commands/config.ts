import { UsageError, UserError } from '../errors.ts';
import { configKey, configValue, shown } from '../names.ts';
import { exportConfig, getConfig, getConfigValue, importConfig, setConfig } from '../ops/config/config.ts';
import { EXPORT_FORMATS, MAX_CONFIG_INPUT, configLines, decodeBase64Value, encodeBase64Value, type ExportFormat } from '../ops/config/config-format.ts';
import { defineCommand, listing, type Command, type FlagSpecs } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/**
 * Parses `KEY=VALUE` words; every pair is validated before anything is written. With `encoded`
 * (config:set --encoded, Dokku's) each VALUE is base64 and is decoded strictly.
 */
export function parsePairs(words: readonly string[], opts: { encoded?: boolean } = {}): Record<string, string> {
  // A Map, then own properties: a user's key (`__proto__`) must be data, never the prototype.
  const out = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UserError(`${shown(w)} is not KEY=VALUE.`);
    const key = configKey(w.slice(0, eq));
    const raw = w.slice(eq + 1);
    out.set(key, configValue(key, opts.encoded ? decodeBase64Value(key, raw) : raw));
  }
  return Object.fromEntries(out);
}

/** The `--format` of config:export, checked. */
function exportFormat(raw: string | undefined): ExportFormat {
  if (raw === undefined) return 'shell';
  const f = EXPORT_FORMATS.find((x) => x === raw);
  if (!f) throw new UsageError(`--format takes ${EXPORT_FORMATS.join(' or ')}.`);
  return f;
}

/** config:set and config:unset store and roll out; with this flag they only store. */
const NO_RESTART = { 'no-restart': { type: 'boolean', help: 'only store the change; the next deploy uses it' } } as const satisfies FlagSpecs;

export const configCommands: Command[] = [
  defineCommand({
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
          for (const l of configLines(vars)) out.line(l);
          return;
        }
        out.heading(`${app} Config Vars`);
        out.pairs(Object.entries(vars));
      });
    },
  }),
  defineCommand({
    name: 'config:get',
    usage: 'APP KEY [--encoded]',
    summary: 'Print one config value',
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { encoded: { type: 'boolean', help: 'print the value base64-encoded' } },
    run: (ctx, app, [key], flags) => {
      const value = getConfigValue(actorOf(ctx), app, key!);
      ctx.out.line(flags.encoded ? encodeBase64Value(value) : value);
    },
  }),
  defineCommand({
    name: 'config:set',
    usage: 'APP KEY=VALUE… [--encoded] [--no-restart]',
    summary: 'Set config vars (and roll out a release with them)',
    access: 'app',
    args: { min: 2, max: 200 },
    flags: { ...NO_RESTART, encoded: { type: 'boolean', help: 'every VALUE is base64 (for values with newlines or quotes)' } },
    run: async (ctx, app, pairs, flags) => {
      const r = await setConfig(actorOf(ctx), app, { set: parsePairs(pairs, { encoded: flags.encoded === true }), restart: flags['no-restart'] !== true }, progressOf(ctx));
      ctx.out.line(`Setting ${r.set.join(', ')} for ${app}... done`);
    },
  }),
  defineCommand({
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
  }),
  defineCommand({
    name: 'config:export',
    usage: 'APP [--format shell|exports]',
    summary: "Print an app's config vars as KEY='value' lines that config:import reads back",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: { format: { type: 'string', help: "`shell` (default): KEY='value'; `exports`: export KEY='value'" } },
    run: (ctx, app, _args, flags) => {
      for (const l of exportConfig(actorOf(ctx), app, exportFormat(flags.format))) ctx.out.line(l);
    },
  }),
  defineCommand({
    name: 'config:import',
    usage: "APP [--no-restart]  (KEY='value' lines on stdin, as config:export prints them)",
    summary: 'Set every config var read from stdin, in one release',
    access: 'app',
    args: { min: 1, max: 1 },
    flags: NO_RESTART,
    run: async (ctx, app, _args, flags) => {
      const r = await importConfig(actorOf(ctx), app, await ctx.stdin(MAX_CONFIG_INPUT), { restart: flags['no-restart'] !== true }, progressOf(ctx));
      ctx.out.line(`Setting ${r.set.join(', ')} for ${app}... done`);
    },
  }),
];
