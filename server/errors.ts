import { randomBytes } from 'node:crypto';

/** An error caused by the user's input or request: shown as one clear sentence, exit code 1. */
export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** The command was called wrongly: shown with its usage, exit code 2. */
export class UsageError extends UserError {
  override readonly exitCode: number = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** An app that does not exist, or that this key may not see (the two are not told apart to non-admins). */
export class NotFoundError extends UserError {
  constructor(shownApp: string, opts: { orNoAccess?: boolean } = {}) {
    super(opts.orNoAccess ? `App ${shownApp} does not exist, or your key has no access to it.` : `App ${shownApp} does not exist.`);
    this.name = 'NotFoundError';
  }
}

/** The app's lock is held by another deploy: the one sentence says by whom and how to clear it (HTTP 409). */
export class LockedError extends UserError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LockedError';
  }
}

/** The identity may not do this at all (a non-admin asking for an admin's operation; HTTP 403). */
export class ForbiddenError extends UserError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

/** Something the server relies on is not there or not answering (the cluster's metrics API; HTTP 503). */
export class UnavailableError extends UserError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

/** What a user sees for an error, and what the log gets. */
export interface Rendered {
  message: string;
  exitCode: number;
  /** Set for internal errors: the id shown to the user, to find the stack in the log. */
  id?: string;
}

/** Turns any thrown value into a user-facing sentence; internal errors get an id to look up. */
export function renderError(err: unknown): Rendered {
  if (err instanceof UserError) return { message: err.message, exitCode: err.exitCode };
  const id = randomBytes(4).toString('hex');
  return { message: `internal error (id ${id}); the server log has the details`, exitCode: 70, id };
}
