// The client's errors: a user's error is one sentence and exit code 1, bad usage exit code 2;
// anything else is a bug, shown short with its message (main.ts).

/** A refusal or failure the user can act on: one sentence, exit code 1. */
export class ClientError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClientError';
  }
}

/** The command line is wrong: one sentence with the usage, exit code 2. */
export class UsageError extends ClientError {
  override readonly exitCode: number = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}
