import { reportFailure } from '../output/report.ts';
import { errorLine, makeOutput } from '../output/output.ts';
import { dispatch } from './registry.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import type { ProcessIo } from '../kube/process-io.ts';

/** The byte streams a command talks to: an SSH channel or the local terminal. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin(maxChars?: number): Promise<string>;
  /**
   * Resolves once the caller has taken what was written, up to a small backlog; absent for a
   * destination that never holds anything back (the local terminal, whose writes block).
   */
  drained?(): Promise<void>;
  color: boolean;
  /** Aborted when the caller goes away. */
  signal: AbortSignal;
  /** The same streams as bytes (and the caller's terminal), for `run`. */
  raw?: ProcessIo;
}

/** Runs one command for an identity and returns its exit code; errors become one clear line. */
export async function execute(services: Services, identity: Identity, words: readonly string[], io: CommandIo): Promise<number> {
  try {
    return await dispatch({ identity, services, out: makeOutput(io.stdout, { color: io.color }), stdin: io.stdin, drained: io.drained ?? (() => Promise.resolve()), signal: io.signal, ...(io.raw ? { raw: io.raw } : {}) }, words);
  } catch (err) {
    const r = reportFailure(err, 'command failed', { command: words[0], by: identity.name });
    io.stderr(errorLine(r.message) + '\n');
    return r.exitCode;
  }
}
