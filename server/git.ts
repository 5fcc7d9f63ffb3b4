// The one place Slipway runs git: every spawn goes through here, as an argument array.
import { pipe, runChecked, type ExecOptions, type Piped, type RunOptions } from './exec.ts';

/** Runs git with an argument array; returns stdout, throws an ExecError (with git's stderr) on failure. */
export async function git(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runChecked('git', args, opts)).stdout;
}

/** Starts git with raw piped stdio, for serving a transport byte for byte. */
export function gitPipe(args: readonly string[], opts: ExecOptions = {}): Piped {
  return pipe('git', args, opts);
}
