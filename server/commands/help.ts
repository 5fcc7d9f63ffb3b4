// What `help` prints, and the spelling of a command's options that docs/commands.md shares. Takes
// the commands a caller may see as an argument: the registry holds them and imports this file.
import { UsageError } from '../errors.ts';
import { shown } from '../names.ts';
import type { Output } from '../output/output.ts';
import type { Command } from './types.ts';

/** What `--json` does, in help and docs/commands.md. */
const JSON_HELP = 'print the result as JSON (where the HTTP API serves the same resource, the same object)';

/** A command's namespace: its name up to the first colon (`ps:scale` → `ps`, `logs` → `logs`). */
export function namespaceOf(name: string): string {
  return name.split(':', 1)[0]!;
}

/** A command as typed: its name and usage (`ps:scale APP TYPE=COUNT…`). */
export function commandLine(c: Command): string {
  return `${c.name}${c.usage ? ' ' + c.usage : ''}`;
}

/** Each option of a command as users spell it (`-t, --tail`, `--num VALUE`, `--json`) with its help. */
export function optionsOf(c: Command): [string, string][] {
  const options = Object.entries(c.flags ?? {}).map(([name, f]): [string, string] => [`${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ' VALUE' : ''}`, f.help]);
  return c.json ? [...options, ['--json', JSON_HELP]] : options;
}

/**
 * Writes `help` for the commands a caller may see: all of them in one table, or with a namespace
 * only that namespace's, each with its usage, summary and options. A namespace the caller has no
 * command in is unknown to them (a deployer's `help nodes` names no admin command).
 */
export function showHelp(out: Output, visible: readonly Command[], namespace?: string): void {
  if (namespace === undefined) {
    out.line('Usage: ssh git@HOST COMMAND [ARGS]');
    out.line();
    out.table(visible.map((c) => [commandLine(c), c.summary]));
    out.line();
    out.line('Run "help NAMESPACE" (help ps, help config) for one namespace\'s commands with their options.');
    return;
  }
  const group = visible.filter((c) => namespaceOf(c.name) === namespace);
  if (group.length === 0) {
    const known = [...new Set(visible.map((c) => namespaceOf(c.name)))].sort();
    throw new UsageError(`Unknown namespace ${shown(namespace)}; the namespaces are ${known.join(', ')}.`);
  }
  out.line('Usage: ssh git@HOST COMMAND [ARGS]');
  for (const c of group) {
    out.line();
    out.heading(commandLine(c));
    out.line(c.summary);
    const options = optionsOf(c);
    if (options.length) out.table(options.map(([spelled, help]) => [`  ${spelled}`, help]));
  }
}
