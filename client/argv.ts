// The command line: the options every command takes (--app/-a, --remote/-r, --host, --json,
// --help), the command's name, its own options as it declares them, and its arguments.
import type { Globals } from './context.ts';
import { UsageError } from './errors.ts';
import type { ClientCommand, FlagSpec, Flags } from './commands/types.ts';

/** The options every command takes. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  app: { type: 'string', short: 'a', help: 'the app (default: SLIPWAY_APP, then the git remotes)' },
  remote: { type: 'string', short: 'r', help: 'the git remote naming the app' },
  host: { type: 'string', help: 'the server, when you are logged in to several' },
  json: { type: 'boolean', help: "print the API's JSON" },
  help: { type: 'boolean', short: 'h', help: 'show the usage' },
};

/** A parsed command line. */
export interface Parsed { name: string | undefined; args: string[]; flags: Flags; globals: Globals & { help: boolean; version: boolean } }

/** `slipway NAME USAGE` for a command. */
export function usageOf(c: ClientCommand): string {
  return `slipway ${c.name}${c.usage ? ` ${c.usage}` : ''}`;
}

/** Splits argv into globals, the command's name, its flags and its arguments; `find` looks a name up. */
export function parseArgv(argv: readonly string[], find: (name: string) => ClientCommand | undefined): Parsed & { command: ClientCommand | undefined } {
  const flags: Flags = {};
  const globals: Flags = {};
  const args: string[] = [];
  let name: string | undefined;
  let command: ClientCommand | undefined;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    // Past the positional arguments a command takes as they are (run's COMMAND…), every word is one;
    // the options every command takes may still come first (`run -a APP ls -la`).
    if (command?.args.verbatimAfter !== undefined && args.length >= command.args.verbatimAfter) {
      if (w === '--') { args.push(...argv.slice(i + 1)); break; }
      if (!isGlobal(w)) { args.push(...argv.slice(i)); break; }
    } else if (w === '--' && name !== undefined) { args.push(...argv.slice(i + 1)); break; }
    if (w === '--version' && name === undefined) { version = true; continue; }
    if (w.startsWith('-') && w.length > 1) {
      const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(w);
      const letter = /^-([A-Za-z])$/.exec(w)?.[1];
      const lookup = (specs: Record<string, FlagSpec>) => (m ? (Object.hasOwn(specs, m[1]!) ? m[1] : undefined) : Object.keys(specs).find((k) => specs[k]!.short === letter));
      const own = command?.flags ? lookup(command.flags) : undefined;
      const global = own === undefined ? lookup(GLOBAL_FLAGS) : undefined;
      const key = own ?? global;
      if (key === undefined) throw new UsageError(`Unknown option ${w}${command ? ` for ${command.name}; usage: ${usageOf(command)}` : ''}.`);
      const spec = own !== undefined ? command!.flags![key]! : GLOBAL_FLAGS[key]!;
      const target = own !== undefined ? flags : globals;
      if (spec.type === 'boolean') {
        if (m?.[2] !== undefined) throw new UsageError(`Option --${key} takes no value.`);
        target[key] = true;
      } else {
        const value = m?.[2] ?? argv[++i];
        if (value === undefined) throw new UsageError(`Option ${w} needs a value.`);
        target[key] = value;
      }
      continue;
    }
    if (name === undefined) {
      name = w;
      command = find(w);
      continue;
    }
    args.push(w);
  }
  const s = (k: string) => (typeof globals[k] === 'string' ? globals[k] : undefined);
  return {
    name, command, args, flags,
    globals: { ...(s('app') ? { app: s('app') } : {}), ...(s('remote') ? { remote: s('remote') } : {}), ...(s('host') ? { host: s('host') } : {}), json: globals.json === true, help: globals.help === true, version },
  };
}

/** Whether a word is one of the options every command takes (so `run -a APP ls` still finds the app). */
function isGlobal(w: string): boolean {
  return /^(-a|-r|-h|--app|--remote|--host|--json|--help)(=|$)/.test(w);
}
