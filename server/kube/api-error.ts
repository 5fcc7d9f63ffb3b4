// What a failed Kubernetes API call becomes: the API server's answer as a KubeApiError (its HTTP
// status and Status body), and the one sentence a user sees for any failure (API down,
// credentials refused, rights missing, quota used up), the original kept as `cause`.
import { UserError } from '../errors.ts';

/** An answer of the API server outside 2xx: its HTTP status and its body (a Status object, or text). */
export class KubeApiError extends Error {
  /** The HTTP status. */
  readonly code: number;
  /** The answer's body: the parsed Status object when it was JSON, else its text. */
  readonly body: unknown;
  constructor(code: number, body: unknown, what: string) {
    const message = statusMessage(body);
    super(`${what}: HTTP ${code}${message ? `: ${message}` : ''}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.body = body;
  }
}

/** The `message` of a Kubernetes Status body (parsed JSON, or text: its beginning). */
export function statusMessage(body: unknown): string {
  let b = body;
  if (typeof body === 'string') {
    try { b = JSON.parse(body); } catch { return body.slice(0, 300); }
  }
  const m = (b as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : '';
}

/** An API answer with this HTTP status. */
export function isStatus(err: unknown, code: number): err is KubeApiError {
  return err instanceof KubeApiError && err.code === code;
}

/** The `code` of the first error in a cause chain that has one (ECONNREFUSED, ENOTFOUND, …). */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * The error a caller sees for a failed call to the API at `server`; `what` completes "The
 * kubeconfig's user may not …" (e.g. "list Pods in x").
 */
export function explain(server: string, what: string, err: unknown): Error {
  if (err instanceof UserError) return err;
  if (err instanceof KubeApiError) {
    const message = statusMessage(err.body);
    if (err.code === 401) return new UserError(`The kubeconfig's user may not ${what}: the Kubernetes API at ${server} refused its credentials (401 Unauthorized).`, { cause: err });
    // Quota admission answers 403 too: that is the app's quota, not the kubeconfig's rights.
    if (err.code === 403 && /exceeded quota/.test(message)) return new UserError(`Kubernetes refused to ${what}: the app's quota is used up (${message}).`, { cause: err });
    if (err.code === 403 && /being terminated/.test(message)) return new UserError(`Kubernetes is still deleting this app's namespace; try again in a minute (${message}).`, { cause: err });
    if (err.code === 403) return new UserError(`The kubeconfig's user may not ${what} (403 Forbidden: ${message || 'no reason given'}).`, { cause: err });
    return new Error(`Kubernetes: ${what} failed with HTTP ${err.code}${message ? `: ${message}` : ''}`, { cause: err });
  }
  const code = networkCode(err);
  if (code) return new UserError(`The Kubernetes API at ${server} is not reachable: ${code}.`, { cause: err });
  return new Error(`Kubernetes: ${what} failed`, { cause: err });
}
