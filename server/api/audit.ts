// The audit log over the API (issue 39): the same entries and filters as `audit`, with the same
// rule (admins see every entry, others their apps'). Reading it is recorded, as every change is
// (transport/http/api.ts records each mutating route and this one).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AuditEntrySchema } from '../shapes/audit.ts';
import { AUDIT_LISTED, listAudit, parseSince } from '../ops/audit/query.ts';
import { authorizeApp } from '../ops/access.ts';

/** The GET routes whose reading is recorded like a change. */
export const AUDITED_READS: ReadonlySet<string> = new Set(['/audit']);

export const auditRoutes = [
  route({
    method: 'GET', url: '/audit', tag: 'audit', need: 'read',
    summary: `The audit log, newest first, at most ${AUDIT_LISTED} or limit (= audit [APP] --json): admins see every entry, others their apps'`,
    query: Type.Object({
      app: Type.Optional(Type.String({ maxLength: 64, description: 'Only this app\'s entries.' })),
      since: Type.Optional(Type.String({ maxLength: 40, description: 'A date or time (2026-12-01, 2026-12-01T10:00:00Z) or an age (30m, 12h, 7d).' })),
      actor: Type.Optional(Type.String({ maxLength: 128, description: 'Only entries of this key (`slipway`: the server itself).' })),
      action: Type.Optional(Type.String({ maxLength: 128, description: 'Only this action, or every action under it (`config` matches config:set).' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, description: `How many entries at most (default ${AUDIT_LISTED}).` })),
    }, { additionalProperties: false }),
    response: { 200: Type.Array(AuditEntrySchema) },
    handle: (call) => {
      const q = call.query;
      const actor = { identity: call.identity, services: call.services, signal: call.signal };
      return {
        status: 200,
        json: listAudit(actor, {
          ...(q.app !== undefined ? { app: authorizeApp(actor, q.app) } : {}),
          ...(q.since !== undefined ? { since: parseSince(q.since) } : {}),
          ...(q.actor !== undefined ? { actor: q.actor } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.limit !== undefined ? { limit: q.limit } : {}),
        }),
      };
    },
  }),
];
