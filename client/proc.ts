// The one way the client runs another program (git, ssh, a browser opener): an argument array,
// never a shell string, so no value the user gives is ever interpreted.
import { spawn } from 'node:child_process';

/** What a finished program printed and how it ended. */
export interface Captured { code: number; stdout: string; stderr: string }

/** Runs `cmd args…`, feeding `input` on stdin, and captures its output. A missing program is an error with `cause`. */
export function capture(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`could not run ${cmd}`, { cause: e })));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => { /* the program exited without reading its input: its exit code says what happened */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `cmd args…` on this terminal (stdin, stdout and stderr passed through) and resolves with its exit code. */
export function attached(cmd: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', (e) => reject(new Error(`could not run ${cmd}`, { cause: e })));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Starts `cmd args…` in the background, not waiting for it (a browser). */
export function detached(cmd: string, args: readonly string[]): void {
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => { /* no opener here: the URL was printed */ });
  child.unref();
}
