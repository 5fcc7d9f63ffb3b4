// Records every request to a mutating API route (POST, PATCH, DELETE) and every read of the audit
// log, once its answer was sent, whatever it answered: the one place the API (and so the
// dashboard) writes audit entries. A request that presented a token that is not valid is recorded
// as a failed login, whatever route it asked for.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services, AuditOutcome } from '../../context.ts';
import type { ApiRoute } from '../../api/route.ts';
import { AUDITED_READS } from '../../api/audit.ts';
import { actorOf, bodyNames, recordAfter } from '../../ops/audit/recorder.ts';
import { sourceOf } from '../source.ts';

/** Whether a route's requests are recorded. */
export function auditedRoute(r: Pick<ApiRoute, 'method' | 'url'>): boolean {
  return r.method !== 'GET' || AUDITED_READS.has(r.url);
}

/** What a request's answer says of its outcome. */
function outcomeOf(services: Services, status: number, route: ApiRoute | undefined, app: string | undefined): AuditOutcome {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403 || status === 429) return 'denied';
  // The API answers 404 both for an app that does not exist and for one the caller may not use.
  if (status === 404 && route?.app && app && services.store.apps.get(app) !== undefined) return 'denied';
  return 'failed';
}

/** Records the entry of a finished request, if its route is audited (or it was a failed login). */
export function auditRequest(services: Services, request: FastifyRequest, reply: FastifyReply, address: string | undefined): void {
  const route = request.routeOptions.config.route;
  const status = reply.statusCode;
  const failedLogin = status === 401 && request.headers.authorization !== undefined;
  if (!route?.url || (!auditedRoute(route) && !failedLogin)) return;
  const params = (request.params ?? {}) as Record<string, string>;
  const { app, ...others } = params;
  const who = request.identity
    ? actorOf(services.store, request.identity)
    : { actor: request.auditActor ?? 'unknown', credential: request.auditActor ? 'login' : null, interface: 'api' as const, source: null };
  const meta: Record<string, unknown> = { status };
  // An upload's body is the stream of its bytes, not fields.
  const fields = route.upload ? undefined : bodyNames(request.body);
  if (fields) meta.fields = fields;
  const query = Object.keys((request.query ?? {}) as object);
  if (query.length) meta.query = query;
  if (request.auditError) meta.error = request.auditError;
  const jobs = request.auditScope?.jobs ?? [];
  if (jobs.length > 1) meta.jobs = jobs;
  recordAfter(services, {
    ...who,
    source: who.source ?? (address ? sourceOf(address) : null),
    action: auditedRoute(route) ? `${route.method} ${route.url}` : 'login',
    app: app ?? null,
    object: Object.values(others).join(' ') || null,
    outcome: outcomeOf(services, status, route, app),
    job: jobs[0] ?? null,
    meta,
  });
}
