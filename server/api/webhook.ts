// POST /hooks/APP, as the HTTP transport hands it over: the raw body and headers in, the
// operation's answer out as a small JSON body. Not part of /api/v1: nobody logs in (the
// delivery's signature is the credential), and it is not in the OpenAPI document.
import type { Services } from '../context.ts';
import { jobJson } from '../jobs/job.ts';
import type { Job } from '../shapes/jobs.ts';
import { deliverWebhook, type Delivery } from '../ops/sync/webhook.ts';

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
  const a = deliverWebhook(services, d);
  return { status: a.status, json: { message: a.message, ...(a.job ? { job: jobJson(a.job) } : {}) }, refused: a.refused === true };
}
