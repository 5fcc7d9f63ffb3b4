// Which programs the in-process test server starts: Node publishes every child process it makes
// on the `child_process` diagnostics channel, so a test can count git processes without faking
// anything.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ChildProcess } from 'node:child_process';

/** The git subcommands this process starts while `fn` runs (Node publishes every spawn). */
export async function gitSpawns<T>(fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  // Published as the process is made, before its arguments are set: read once it ran.
  const started: ChildProcess[] = [];
  const onSpawn = (message: unknown) => started.push((message as { process: ChildProcess }).process);
  subscribe('child_process', onSpawn);
  let result: T;
  try {
    result = await fn();
  } finally {
    unsubscribe('child_process', onSpawn);
  }
  const commands = started.flatMap(({ spawnargs: [file, ...args] }) => {
    if (file !== 'git') return [];
    // The subcommand: the first word that is neither an option nor the value of a `-c`.
    const at = args.findIndex((a, i) => !a.startsWith('-') && args[i - 1] !== '-c');
    return [args[at] ?? '?'];
  });
  return { result, commands };
}
