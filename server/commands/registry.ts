import { UsageError, UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { authorizeApp, requireAdmin } from '../ops/access.ts';
import type { Command, CommandContext, ParsedFlags } from './types.ts';
import { dokkuDataHint } from './dokku-data.ts';
import { appCommands } from './apps.ts';
import { configCommands } from './config.ts';
import { keyCommands } from './keys.ts';
import { tokenCommands } from './tokens.ts';
import { releaseCommands } from './releases.ts';
import { buildCommands } from './builds.ts';
import { syncCommands } from './sync.ts';
import { previewCommands } from './previews.ts';
import { psCommands } from './ps.ts';
import { metricsCommands } from './metrics.ts';
import { domainCommands } from './domains.ts';
import { certCommands } from './certs.ts';
import { logCommands } from './logs.ts';
import { doctorCommands } from './doctor.ts';
import { resourceCommands } from './resources.ts';
import { checkCommands } from './checks.ts';
import { runCommands } from './run.ts';
import { cronCommands } from './cron.ts';
import { gcCommands } from './gc.ts';
import { egressCommands } from './egress.ts';
import { jobCommands } from './jobs.ts';
import { storageCommands } from './storage.ts';
import { addonsCommands } from './addons.ts';
import { sleepCommands } from './sleep.ts';
import { pgCommands } from './pg.ts';
import { pgDumpCommands } from './pg-dumps.ts';
import { redisCommands } from './redis.ts';
import { dashboardCommands } from './dashboard.ts';
import { nodeCommands } from './nodes.ts';
import { roundCommands } from './rounds.ts';
import { backupCommands } from './backups.ts';
import { secretCommands } from './secrets.ts';
import { commandLine, showHelp } from './help.ts';
import { refuseChangeWhileUpgrading } from './upgrading.ts';
import { audited } from './audited.ts';
import { auditCommands } from './audit.ts';
import { drainCommands } from './drains.ts';
import { canaryCommands } from './canary.ts';

const metaCommands: Command[] = [
  {
    name: 'help',
    usage: '[NAMESPACE]',
    summary: 'List the commands you may run; with a namespace (ps, config…), its commands with their options',
    access: 'any',
    args: { min: 0, max: 1 },
    // Admin-only commands are left out for other keys, in the list and in a namespace alike.
    run: (ctx, [namespace]) => showHelp(ctx.out, commands.filter((c) => c.access !== 'admin' || ctx.identity.admin), namespace),
  },
  {
    name: 'version',
    usage: '',
    summary: 'Show the Slipway version',
    access: 'any',
    args: { min: 0, max: 0 },
    run: (ctx) => ctx.out.line(`slipway ${ctx.services.config.version}`),
  },
];

/** Every command, in help order. */
export const commands: readonly Command[] = [
  ...appCommands,
  ...configCommands,
  ...releaseCommands,
  ...canaryCommands,
  ...psCommands,
  ...metricsCommands,
  ...resourceCommands,
  ...checkCommands,
  ...runCommands,
  ...cronCommands,
  ...logCommands,
  ...domainCommands,
  ...certCommands,
  ...egressCommands,
  ...storageCommands,
  ...addonsCommands,
  ...pgCommands,
  ...pgDumpCommands,
  ...redisCommands,
  ...buildCommands,
  ...syncCommands,
  ...previewCommands,
  ...jobCommands,
  ...keyCommands,
  ...tokenCommands,
  ...dashboardCommands,
  ...doctorCommands,
  ...nodeCommands,
  ...roundCommands,
  ...backupCommands,
  ...secretCommands,
  ...gcCommands,
  ...auditCommands,
  ...metaCommands,
  ...drainCommands,
  ...sleepCommands,
];

const byName = new Map(commands.map((c) => [c.name, c]));

function usageOf(c: Command): string {
  return `usage: ${commandLine(c)}`;
}

/** Splits words into positional arguments and the command's declared flags. */
export function parseArgs(c: Command, words: readonly string[]): { args: string[]; flags: ParsedFlags } {
  const args: string[] = [];
  const flags: ParsedFlags = {};
  const declared: NonNullable<Command['flags']> = { ...c.flags, ...(c.json ? { json: { type: 'boolean', help: '' } } : {}) };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') { args.push(...words.slice(i + 1)); break; }
    // Past this many positional arguments every word is one, options included (`run APP ls -la`).
    if (c.args.verbatimAfter !== undefined && args.length >= c.args.verbatimAfter) { args.push(...words.slice(i)); break; }
    if (w.startsWith('-') && w.length > 1) {
      // `--name`, `--name=value`, or a declared one-letter alias `-x` (its value, if any, is the next word).
      const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(w);
      const letter = /^-([A-Za-z])$/.exec(w)?.[1];
      const name = m ? m[1]! : Object.keys(declared).find((k) => letter !== undefined && declared[k]!.short === letter);
      // Own properties only: `--constructor` must be an unknown option, not Object's member.
      const spec = name === undefined || !Object.hasOwn(declared, name) ? undefined : declared[name];
      if (name === undefined || !spec) throw new UsageError(`Unknown option ${shown(w)} for ${c.name}; ${usageOf(c)}`);
      const inline = m?.[2];
      const shownName = m ? `--${name}` : w;
      if (spec.type === 'boolean') {
        if (inline !== undefined) throw new UsageError(`Option ${shownName} takes no value; ${usageOf(c)}`);
        flags[name] = true;
      } else {
        const value = inline ?? words[++i];
        if (value === undefined) throw new UsageError(`Option ${shownName} needs a value; ${usageOf(c)}`);
        flags[name] = value;
      }
      continue;
    }
    args.push(w);
  }
  if (args.length < c.args.min || args.length > c.args.max) throw new UsageError(usageOf(c));
  return { args, flags };
}

/** Runs one command line (already split into words) for an identity; resolves with its exit code, throws UserError/UsageError. */
export async function dispatch(ctx: CommandContext, words: readonly string[]): Promise<number> {
  const [name, ...rest] = words;
  if (!name) throw new UsageError('No command given. Run "help" for the list.');
  const c = byName.get(name);
  if (!c) throw new UsageError(dokkuDataHint(name) ?? `Unknown command ${shown(name)}. Run "help" for the list.`);
  const { args, flags } = parseArgs(c, rest);
  return audited(ctx, c, words, args, () => runParsed(ctx, c, args, flags));
}

/** Checks access and runs a parsed command; resolves with its exit code. */
async function runParsed(ctx: CommandContext, c: Command, args: string[], flags: ParsedFlags): Promise<number> {
  if (c.access === 'admin') requireAdmin(ctx, `Only admins may run ${c.name}.`);
  refuseChangeWhileUpgrading(ctx, c);
  let outcome;
  if (c.access === 'app') {
    const app = authorizeApp(ctx, args[0]!);
    // Tracked while it runs: a key that loses the app stops its `logs -t`, `run` or deploy.
    const session = ctx.services.sessions.begin(app, ctx.identity, ctx.signal);
    const revoked = () => (session.controller.signal.aborted && !ctx.signal.aborted && session.controller.signal.reason instanceof UserError ? session.controller.signal.reason : undefined);
    try {
      outcome = await c.run({ ...ctx, signal: session.controller.signal }, app, args.slice(1), flags);
    } catch (err) {
      throw revoked() ?? err;
    } finally {
      ctx.services.sessions.end(session);
    }
    const why = revoked();
    if (why) throw why;
  } else {
    outcome = await c.run(ctx, args, flags);
  }
  if (!outcome) return 0;
  if ('exitCode' in outcome) return outcome.exitCode;
  if (flags.json) ctx.out.json(outcome.data);
  else outcome.text(ctx.out);
  if (outcome.failure) throw outcome.failure;
  return 0;
}
