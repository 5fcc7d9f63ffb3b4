// audit, audit:verify, audit:export: the audit log read back (issue 39). Reading it is recorded
// too (commands/audited.ts). Admins see every entry; anyone else their apps' entries.
import { UsageError, UserError } from '../errors.ts';
import { authorizeApp } from '../ops/access.ts';
import { exportAudit, listAudit, parseSince, type AuditQuery } from '../ops/audit/query.ts';
import { verifyAudit } from '../ops/audit/verify.ts';
import type { AuditEntry } from '../shapes/audit.ts';
import { defineCommand, listing, type Command, type CommandContext } from './types.ts';
import { actorOf } from './progress.ts';

const FILTERS = {
  since: { type: 'string', help: 'only entries since a date or time (2026-12-01, 2026-12-01T10:00Z) or an age (30m, 12h, 7d)' },
  actor: { type: 'string', help: 'only entries of this key (or `slipway`, the server itself)' },
  action: { type: 'string', help: 'only this action, or every action under it (`config` matches config:set and config:unset)' },
} as const;

/** The query a command line asks for; an APP is access-checked as for any app command. */
function queryOf(ctx: CommandContext, app: string | undefined, flags: { since?: string; actor?: string; action?: string }): AuditQuery {
  return {
    ...(app !== undefined ? { app: authorizeApp(ctx, app) } : {}),
    ...(flags.since !== undefined ? { since: parseSince(flags.since) } : {}),
    ...(flags.actor !== undefined ? { actor: flags.actor } : {}),
    ...(flags.action !== undefined ? { action: flags.action } : {}),
  };
}

/** One entry as a line of `audit`. */
function row(e: AuditEntry): string[] {
  const target = [e.app, e.object].filter(Boolean).join(' ');
  return [String(e.seq), e.at, e.actor + (e.credential && e.credential !== 'key' ? ` (${e.credential})` : ''), e.interface, e.source ?? '', e.action, target, e.outcome, e.job ?? ''];
}

export const auditCommands: Command[] = [
  defineCommand({
    name: 'audit',
    usage: '[APP] [--since WHEN] [--actor KEY] [--action ACTION]',
    summary: 'Show the audit log, newest first: who did what, when, from where, and how it ended (admins: every entry; others: their apps\')',
    access: 'any',
    args: { min: 0, max: 1 },
    flags: FILTERS,
    json: true,
    run: (ctx, [app], flags) => {
      const entries = listAudit(actorOf(ctx), queryOf(ctx, app, flags));
      return listing(entries, (out) => {
        if (entries.length === 0) return out.line('No audit entries match.');
        out.table(entries.map(row), ['SEQ', 'TIME', 'ACTOR', 'VIA', 'FROM', 'ACTION', 'TARGET', 'OUTCOME', 'JOB']);
      });
    },
  }),
  defineCommand({
    name: 'audit:export',
    usage: '[APP] --format jsonl [--since WHEN] [--actor KEY] [--action ACTION]',
    summary: 'Print every audit entry you may see, oldest first, one JSON object a line (with its hashes, for checking elsewhere)',
    access: 'any',
    args: { min: 0, max: 1 },
    flags: { format: { type: 'string', help: 'jsonl (the only format)' }, ...FILTERS },
    run: async (ctx, [app], flags) => {
      if (flags.format !== 'jsonl') throw new UsageError('audit:export needs --format jsonl (one JSON object a line).');
      await exportAudit(actorOf(ctx), queryOf(ctx, app, flags), async (lines) => {
        for (const l of lines) ctx.out.line(l);
        await ctx.drained();
      });
    },
  }),
  {
    name: 'audit:verify',
    usage: '',
    summary: 'Check the audit log: its hash chain, its signed checkpoints; names the first entry edited, inserted or removed (exit 1)',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const v = verifyAudit(ctx.services.config, ctx.services.store);
      return listing(v, (out) => {
        out.pairs([
          ['Entries', v.first === null ? '0' : `${v.entries} (${v.first} to ${v.head?.seq})`],
          ['Pruned up to', v.prunedUpTo === null ? 'nothing pruned' : String(v.prunedUpTo)],
          ['Head', v.head?.hash ?? '-'],
          ['Checkpoints', `${v.checkpoints} in the chain${v.lastCheckpoint ? `; last signed entry ${v.lastCheckpoint.seq} at ${v.lastCheckpoint.at}` : ''}`],
          ['Public key', v.publicKey ?? 'none (the key file is missing: signatures are not checked)'],
        ]);
        out.line(v.ok ? 'The audit log is intact.' : `BROKEN at entry ${v.broken!.seq}: ${v.broken!.message}`);
      }, v.ok ? undefined : new AuditBroken(`The audit log is broken at entry ${v.broken!.seq}.`));
    },
  },
];

/** audit:verify's failure: exit 1, after the verdict was shown. */
class AuditBroken extends UserError {}
