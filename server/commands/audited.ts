// Every command that changes something (or reads a secret, or the audit log) is recorded here,
// at the dispatcher, whatever connection it came over: one entry with its outcome, the job it
// started and its words without config values. Commands that only show state are listed below
// and not recorded; a command missing from the list is recorded, so a new one never goes unseen.
import type { Command, CommandContext } from './types.ts';
import type { AuditOutcome } from '../context.ts';
import { withAuditScope } from '../audit-scope.ts';
import { actorOf, failureText, outcomeOfError, recordAfter, redactWords } from '../ops/audit/recorder.ts';
import { appName } from '../names.ts';

/** Whether `s` is an app name (an entry's app column holds nothing else). */
function validAppName(s: string): boolean {
  try {
    appName(s);
    return true;
  } catch {
    return false;
  }
}

/** Commands that only show state (no secret, not the audit log): no entry. */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  'apps:list', 'apps:info', 'config', 'releases', 'canary', 'releases:info', 'ps', 'ps:metrics', 'resource:report', 'checks', 'cron', 'logs',
  'domains', 'certs', 'egress', 'storage:list', 'addons', 'addons:info', 'pg:info', 'pg:backups', 'builds', 'builds:output',
  'sync', 'sync:info', 'previews', 'jobs', 'jobs:info', 'jobs:output', 'keys:list', 'keys:oidc:list', 'tokens:list', 'nodes', 'rounds', 'backups',
  'apps:report', 'doctor', 'help', 'version',
]);

/** Whether running `name` records an entry. */
export function recordsEntry(name: string): boolean {
  return !READ_ONLY_COMMANDS.has(name);
}

/**
 * Runs a parsed command line and records its entry: `ok` (with the exit code when a one-off
 * command's was not 0), `denied` (admins only, or an app the key may not use) or `failed`.
 */
export async function audited(ctx: CommandContext, c: Command, words: readonly string[], args: readonly string[], run: () => Promise<number>): Promise<number> {
  if (!recordsEntry(c.name)) return run();
  const { store } = ctx.services;
  // An app command names its app first; so does a command whose usage starts with APP
  // (apps:create, access:grant, audit [APP]); jobs:cancel names a job, whose app it changes.
  const first = args[0];
  const namesApp = c.access === 'app' || /^\[?APP\b/.test(c.usage);
  const app = namesApp && first !== undefined && validAppName(first) ? first
    : c.name === 'jobs:cancel' && first !== undefined ? store.jobs.get(first)?.app ?? null : null;
  const object = namesApp ? args[1] : args[0];
  const scope = { jobs: [] as string[] };
  let outcome: AuditOutcome = 'ok';
  const meta: Record<string, unknown> = { words: redactWords(words.slice(1)) };
  try {
    const code = await withAuditScope(scope, run);
    if (code !== 0) meta.exitCode = code;
    return code;
  } catch (err) {
    outcome = outcomeOfError(err, store, app);
    meta.error = failureText(err);
    throw err;
  } finally {
    if (scope.jobs.length > 1) meta.jobs = scope.jobs;
    recordAfter(ctx.services, {
      ...actorOf(store, ctx.identity), action: c.name, app, object: object === undefined ? null : redactWords([object])[0]!,
      outcome, job: scope.jobs[0] ?? null, meta,
    });
  }
}
