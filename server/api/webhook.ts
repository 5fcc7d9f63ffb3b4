// POST /hooks/APP, as the HTTP transport hands it over: the raw body and headers in, the
// operation's answer out as a small JSON body. Not part of /api/v1: nobody logs in (the
// delivery's signature is the credential), and it is not in the OpenAPI document.
import type { Services } from '../context.ts';
import { jobJson } from '../jobs/job.ts';
import type { Job } from '../shapes/jobs.ts';
import { deliverWebhook, type Delivery } from '../ops/sync/webhook.ts';
import { withAuditScope, type AuditScope } from '../audit-scope.ts';
import { recordAfter } from '../ops/audit/recorder.ts';

/** What may be an app name (names.ts checks it fully); anything else is kept out of the entry's app. */
const APP_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export { NOT_HERE_MESSAGE } from '../ops/sync/webhook.ts';

/** Largest delivery read: a push's payload is a few KB to a few hundred; more is refused with 413. */
export const HOOK_BODY_LIMIT = 1024 * 1024;

/** Where webhooks are delivered on the HTTP port: /hooks/APP. */
export const HOOKS_PREFIX = '/hooks/';

/** What the transport sends back: a status, a JSON body, and whether the delivery counts as a failed verification. */
export interface HookReply {
  status: number;
  json: { message: string; job?: Job };
  refused: boolean;
}

/** Serves one delivery. */
export function receiveHook(services: Services, d: Delivery): HookReply {
  const scope: AuditScope = { jobs: [] };
  const a = withAuditScope(scope, () => deliverWebhook(services, d));
  // Every delivery is recorded, a refused signature as a denied one; the app only when it names one.
  const app = APP_NAME.test(d.app) ? d.app : null;
  const delivery = [d.headers['x-github-delivery'], d.headers['x-gitea-delivery'], d.headers['x-gitlab-event-uuid']].flat().find((v) => typeof v === 'string');
  recordAfter(services, {
    actor: 'webhook', credential: a.refused ? null : 'signature', interface: 'webhook', source: d.address, action: 'webhook', app,
    outcome: a.refused ? 'denied' : a.status < 400 ? 'ok' : 'failed', job: scope.jobs[0] ?? null,
    meta: { status: a.status, message: a.message.slice(0, 300), ...(delivery ? { delivery: delivery.slice(0, 100) } : {}), ...(app ? {} : { path: d.app.slice(0, 64) }) },
  });
  return { status: a.status, json: { message: a.message, ...(a.job ? { job: jobJson(a.job) } : {}) }, refused: a.refused === true };
}
