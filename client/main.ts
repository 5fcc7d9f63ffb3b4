#!/usr/bin/env node
// The Slipway client: the HTTP API from a laptop or a CI runner, with the app found from the git
// remotes and the login made with the SSH key. `npm run -s cli -- ARGS` in a checkout; the
// package (client/package.json) installs it as `slipway`.
import { parseArgv, GLOBAL_FLAGS, usageOf } from './argv.ts';
import { clientCommands } from './commands/index.ts';
import type { ClientCommand } from './commands/types.ts';
import { completionScript } from './completion.ts';
import { Context } from './context.ts';
import { readEnv } from './env.ts';
import { ClientError, UsageError } from './errors.ts';
import { closeConnections } from './http.ts';
import { following } from './jobs.ts';
import { errorLine, processOut, type Out } from './out.ts';
import { version } from './version.ts';

const byName = new Map(clientCommands.map((c) => [c.name, c]));

/** `completion SHELL` as the scripts list it (main answers it before any command: it needs no server). */
const COMPLETION: ClientCommand = { name: 'completion', usage: 'bash|zsh|fish', summary: 'Print the shell completion script', routes: [], app: false, local: true, args: { min: 1, max: 1 }, run: async () => {} };

/** Heroku's and Dokku's other spellings of the same commands. */
const ALIASES: Record<string, string> = {
  'apps:list': 'apps', 'config:show': 'config', 'ps:list': 'ps', 'releases:list': 'releases', 'domains:list': 'domains',
  'logs:tail': 'logs', 'addons:list': 'addons', 'tokens:list': 'tokens', 'keys:list': 'keys', 'jobs:list': 'jobs',
  'apps:open': 'open', 'create': 'apps:create', 'destroy': 'apps:destroy', 'info': 'apps:info', 'restart': 'ps:restart',
  'scale': 'ps:scale', 'storage': 'storage:list', 'builds:info': 'builds:output',
};

/** The command list, or (with a name or a namespace) their usage and options. */
function help(out: Out, topic: string | undefined): void {
  const shown = topic ? clientCommands.filter((c) => c.name === topic || c.name.startsWith(`${topic}:`)) : clientCommands;
  if (topic && shown.length === 0) throw new UsageError(`No command or namespace ${topic}; slipway help lists them.`);
  if (!topic) {
    out.line('Usage: slipway COMMAND [ARGS] [--app APP | --remote NAME] [--json]');
    out.line('The app comes from SLIPWAY_APP, --app, --remote (or git config slipway.remote), else the repository\'s one Slipway remote.');
    out.line('');
  }
  const width = Math.min(24, Math.max(...shown.map((c) => c.name.length)));
  for (const c of shown) {
    if (topic) out.line(`  ${usageOf(c)}\n      ${c.summary}`);
    else out.line(`  ${c.name.padEnd(width)}  ${c.summary}`);
    if (topic) for (const [k, f] of Object.entries(c.flags ?? {})) out.line(`      ${f.short ? `-${f.short}, ` : ''}--${k}${f.type === 'string' ? ' VALUE' : ''}  ${f.help}`);
  }
  if (!topic) {
    out.line(`  ${'completion'.padEnd(width)}  ${COMPLETION.summary} (bash, zsh, fish)`);
    out.line('');
    out.line('Options of every command:');
    for (const [k, f] of Object.entries(GLOBAL_FLAGS)) out.line(`  ${f.short ? `-${f.short}, ` : '    '}--${k}${f.type === 'string' ? ' VALUE' : ''}  ${f.help}`);
  }
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: readonly string[], out: Out = processOut(), cwd = process.cwd()): Promise<number> {
  const p = parseArgv(argv, (n) => byName.get(ALIASES[n] ?? n));
  if (p.globals.version) { out.line(`slipway client ${version()}`); return 0; }
  if (p.name === undefined || p.name === 'help') { help(out, p.name === 'help' ? p.args[0] : undefined); return 0; }
  if (p.name === 'completion') {
    if (p.args.length !== 1) throw new UsageError('usage: slipway completion bash|zsh|fish');
    out.raw(completionScript(p.args[0]!, [...clientCommands, COMPLETION]));
    return 0;
  }
  const c: ClientCommand | undefined = p.command;
  if (!c) throw new UsageError(`Unknown command ${p.name}; slipway help lists them.`);
  if (p.globals.help) { help(out, c.name); return 0; }
  if (p.args.length < c.args.min || p.args.length > c.args.max) throw new UsageError(`usage: ${usageOf(c)}`);
  const ctx = new Context(readEnv(), cwd, p.globals, out);
  const target = c.app ? await ctx.target() : undefined;
  const server = target?.server ?? (c.local ? { host: '', api: '', token: '' } : ctx.server());
  try {
    const code = await c.run({ ctx, server, app: target?.app ?? '', args: p.args, flags: p.flags, json: p.globals.json });
    return code ?? 0;
  } finally {
    closeConnections();
  }
}

if (import.meta.main) {
  const out = processOut();
  // A reader that went away (`slipway logs | head`) ends the output, not with an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); });
  // A job runs on the server whether or not anyone follows it: Ctrl-C stops following, not the job.
  process.once('SIGINT', () => {
    const job = following.job;
    if (job) out.note(`\nStopped following job ${job.id}; it goes on. Follow it again with slipway jobs:follow ${job.id}, or stop it with slipway jobs:cancel ${job.id}.`);
    process.exit(130);
  });
  main(process.argv.slice(2), out).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      if (err instanceof ClientError) {
        out.note(errorLine(err.message));
        process.exitCode = err.exitCode;
        return;
      }
      out.note(errorLine(`internal error: ${err instanceof Error ? err.message : String(err)}`));
      if (readEnv().debug) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
      process.exitCode = 70;
    },
  );
}
