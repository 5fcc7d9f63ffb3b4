import { run, type ExecOptions } from './exec.ts';

/** Runs git with an argument array; returns stdout, throws (with git's stderr) on failure. */
export async function git(args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run('git', args, opts);
  if (r.exitCode !== 0) {
    throw new Error(`git ${args[0]} failed (exit ${r.exitCode}${r.stopped ? `, ${r.stopped}` : ''}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}
