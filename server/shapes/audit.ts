// An audit entry as every interface shows it: `audit --json`, `audit:export`, GET /api/v1/audit.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** One entry of the audit log. */
export const AuditEntrySchema = Type.Object({
  seq: Type.Integer({ description: "The entry's place in the chain (1, 2, …)." }),
  at: Time,
  actor: Type.String({ description: 'The key name; `slipway` for the server itself; `unknown` for a caller that did not authenticate.' }),
  credential: Nullable(Type.String({ description: 'How the actor proved who it is: `key`, `token NAME`, `session ID`, `local`.' })),
  interface: Type.Enum(['ssh', 'git', 'api', 'dashboard', 'webhook', 'cron', 'server', 'cli']),
  source: Nullable(Type.String({ description: 'The address the request came from.' })),
  action: Type.String({ description: 'A command (`config:set`), an API route (`PATCH /apps/:app/config`), `push`, `login`, `webhook`…' }),
  app: Nullable(Type.String()),
  object: Nullable(Type.String({ description: 'What in the app (or on the server) it was done to.' })),
  outcome: Type.Enum(['ok', 'denied', 'failed']),
  job: Nullable(Type.String({ description: 'The job it started, if any.' })),
  meta: Type.Record(Type.String(), Type.Unknown(), { description: 'Details without secrets: command words with config values left out, request field names, status.' }),
  prev: Type.String({ description: "The previous entry's hash." }),
  hash: Type.String({ description: 'SHA-256 over prev and this entry (docs/audit.md).' }),
}, { additionalProperties: false });
/** An audit entry (the API contract's AUDIT_ENTRY). */
export type AuditEntry = Static<typeof AuditEntrySchema>;
