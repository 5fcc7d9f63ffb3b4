import { UserError } from '../errors.ts';
import { configKey, configValue, shown } from '../names.ts';
import { deployedRelease, withDeployLock } from '../ops/deploying.ts';
import { releaseAndDeploy } from '../ops/release.ts';
import { listing, type Command, type CommandContext } from './types.ts';

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

/**
 * Stores a config change and, when the app runs a release and a cluster is configured, rolls out
 * a new release with it (the same image, the new config). If that release does not become ready
 * the deployer restores the previous one, and the change is taken back here too: the stored
 * config stays what runs, as after a failed push.
 */
async function changeConfig(ctx: CommandContext, app: string, set: Record<string, string>, unset: string[], description: string, noRestart: boolean): Promise<void> {
  const { store, deployer } = ctx.services;
  const running = store.releases.current(app);
  if (noRestart || !deployer || !running?.image) return store.config.change(app, set, unset);
  await withDeployLock(ctx, app, 'config change', async (signal, t) => {
    const before = store.config.all(app);
    store.config.change(app, set, unset);
    const current = deployedRelease(ctx, app);
    try {
      await releaseAndDeploy(ctx.services, app, { description, commit: current.commit, image: current.image!, processes: current.processes, config: store.config.all(app), checks: current.checks }, { transcript: t, signal, describe: true, runRelease: true });
    } catch (err) {
      const touched = [...Object.keys(set), ...unset];
      store.config.change(app, Object.fromEntries(touched.filter((k) => Object.hasOwn(before, k)).map((k) => [k, before[k]!])), touched.filter((k) => !Object.hasOwn(before, k)));
      throw err;
    }
  });
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
      const vars = ctx.services.store.config.all(app);
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
    run: (ctx, app, [rawKey]) => {
      const key = configKey(rawKey!);
      const vars = ctx.services.store.config.all(app);
      if (!Object.hasOwn(vars, key)) throw new UserError(`${key} is not set for ${app}.`);
      ctx.out.line(vars[key]);
    },
  },
  {
    name: 'config:set',
    usage: 'APP KEY=VALUE… [--no-restart]',
    summary: 'Set config vars (and roll out a release with them)',
    access: 'app',
    args: { min: 2, max: 200 },
    flags: NO_RESTART,
    run: async (ctx, app, pairs, flags) => {
      const set = parsePairs(pairs);
      await changeConfig(ctx, app, set, [], `Set ${Object.keys(set).join(', ')} config vars`, flags['no-restart'] === true);
      ctx.out.line(`Setting ${Object.keys(set).join(', ')} for ${app}... done`);
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
      const valid = keys.map(configKey);
      await changeConfig(ctx, app, {}, valid, `Remove ${valid.join(', ')} config vars`, flags['no-restart'] === true);
      ctx.out.line(`Unsetting ${valid.join(', ')} for ${app}... done`);
    },
  },
];
