// What an audited request does while it runs, gathered without threading it through every call:
// the adapter that records the entry (the command dispatcher, the API) opens a scope, and the job
// runner notes there the jobs the request started, so the entry names its job.
import { AsyncLocalStorage } from 'node:async_hooks';

/** The jobs started while one audited request ran. */
export interface AuditScope {
  jobs: string[];
}

const scopes = new AsyncLocalStorage<AuditScope>();

/** Runs `fn` in a new scope and hands the scope back with its result (or error). */
export function withAuditScope<T>(scope: AuditScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** Notes a job started in the current scope; false when there is none (the server started it on its own). */
export function noteAuditJob(id: string): boolean {
  const scope = scopes.getStore();
  scope?.jobs.push(id);
  return scope !== undefined;
}
