// The client's SSH calls, through the user's own `ssh` (their agent, keys and ~/.ssh/config):
// minting and revoking a login's token, and `run` on a real terminal. The command line the server
// receives is quoted word by word for its tokenizer (server/commands/parse.ts: POSIX quoting with
// no expansion), so a value with spaces or quotes arrives as the same word.
import type { ClientEnv } from './env.ts';
import { attached, capture, type Captured } from './proc.ts';

/** One word quoted so the server's tokenizer reads it back unchanged. */
export function quoteWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The ssh argument list for `git@HOST -p PORT` running `words`. */
export function sshArgs(env: ClientEnv, host: string, port: number, words: readonly string[], tty: boolean): { cmd: string; args: string[] } {
  const [cmd, ...opts] = env.ssh;
  return { cmd: cmd!, args: [...opts, tty ? '-t' : '-T', '-p', String(port), '--', `git@${host}`, words.map(quoteWord).join(' ')] };
}

/** Runs an SSH command and captures what it printed. */
export function sshCapture(env: ClientEnv, host: string, port: number, words: readonly string[]): Promise<Captured> {
  const { cmd, args } = sshArgs(env, host, port, words, false);
  return capture(cmd, args);
}

/** Runs an SSH command on this terminal (a TTY when stdin is one) and resolves with its exit code. */
export function sshAttached(env: ClientEnv, host: string, port: number, words: readonly string[]): Promise<number> {
  const { cmd, args } = sshArgs(env, host, port, words, process.stdin.isTTY === true);
  return attached(cmd, args);
}
