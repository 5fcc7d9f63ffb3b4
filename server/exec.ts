import { execa } from 'execa';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Options shared by every external program Slipway runs. Arguments are always an array. */
export interface ExecOptions {
  cwd?: string;
  /** Added to the server's environment (or replacing it with `extendEnv: false`). */
  env?: Readonly<Record<string, string | undefined>>;
  extendEnv?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Kill the program's whole process group on cancel/timeout, not just the program. */
  killTree?: boolean;
}

export interface RunOptions extends ExecOptions {
  input?: string | Buffer;
  /** Called for each complete line of output as it arrives; the result then keeps only a tail. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the program did not finish on its own. */
  stopped?: 'canceled' | 'timeout';
}

const TAIL_LINES = 40;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function spawn(cmd: string, args: readonly string[], opts: ExecOptions, streaming: boolean, input?: string | Buffer) {
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = opts.timeoutMs ? setTimeout(() => { timedOut = true; controller.abort(new Error('timeout')); }, opts.timeoutMs) : undefined;
  const child = execa(cmd, args, {
    cwd: opts.cwd,
    env: opts.env as Record<string, string>,
    extendEnv: opts.extendEnv ?? true,
    reject: false,
    buffer: !streaming,
    stripFinalNewline: true,
    stdin: input === undefined ? (streaming ? 'pipe' : 'ignore') : 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    detached: opts.killTree ?? false,
    cancelSignal: opts.killTree ? undefined : controller.signal,
    forceKillAfterDelay: 5000,
    cleanup: true,
  });
  if (opts.killTree) {
    controller.signal.addEventListener('abort', () => {
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, { once: true });
  }
  if (input !== undefined) child.stdin?.end(input);
  const cleanup = () => {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  const stopped = (): RunResult['stopped'] => (timedOut ? 'timeout' : controller.signal.aborted ? 'canceled' : undefined);
  return { child, cleanup, stopped };
}

/** Rethrows a failure to start the program at all (ENOENT, EACCES) as an error carrying that code. */
function startFailure(cmd: string, r: { exitCode?: number; signal?: string; code?: string; message?: string }): void {
  if (r.exitCode === undefined && r.signal === undefined && r.code) {
    const err = new Error(`could not run ${cmd}: ${r.code}`, { cause: new Error(r.message ?? r.code) }) as NodeJS.ErrnoException;
    err.code = r.code;
    throw err;
  }
}

/**
 * Runs a program to completion and returns its exit code and output; never throws for a non-zero
 * exit, only when the program cannot be started (the error's `code` says why, e.g. ENOENT).
 */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { child, cleanup, stopped } = spawn(cmd, args, opts, opts.onLine !== undefined, opts.input);
  try {
    if (!opts.onLine) {
      const r = await child;
      startFailure(cmd, r);
      return { exitCode: r.exitCode ?? 128, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), stopped: stopped() };
    }
    const tails = { stdout: [] as string[], stderr: [] as string[] };
    const pump = (stream: Readable | null, name: 'stdout' | 'stderr') =>
      new Promise<void>((done) => {
        if (!stream) return done();
        const rl = createInterface({ input: stream, crlfDelay: Infinity });
        rl.on('line', (line) => {
          tails[name].push(line);
          if (tails[name].length > TAIL_LINES) tails[name].shift();
          opts.onLine!(line, name);
        });
        rl.on('close', done);
      });
    const [r] = await Promise.all([child, pump(child.stdout, 'stdout'), pump(child.stderr, 'stderr')]);
    startFailure(cmd, r);
    return { exitCode: r.exitCode ?? 128, stdout: tails.stdout.join('\n'), stderr: tails.stderr.join('\n'), stopped: stopped() };
  } finally {
    cleanup();
  }
}

/** A program that exited non-zero, was cancelled or timed out: what ran, how it ended, its stderr's tail. */
export class ExecError extends Error {
  readonly command: string;
  readonly exitCode: number;
  readonly stderrTail: string;
  readonly stopped: RunResult['stopped'];
  constructor(cmd: string, args: readonly string[], r: RunResult) {
    const tail = r.stderr.trim().split('\n').slice(-TAIL_LINES).join('\n');
    super(`${cmd} ${args[0] ?? ''} ${r.stopped === 'canceled' ? 'was cancelled' : r.stopped === 'timeout' ? 'timed out' : `failed (exit ${r.exitCode})`}${tail ? `: ${tail}` : ''}`.replace(/  +/g, ' '));
    this.name = 'ExecError';
    this.command = [cmd, ...args].join(' ');
    this.exitCode = r.exitCode;
    this.stderrTail = tail;
    this.stopped = r.stopped;
  }

  /** Whether the program was stopped by its cancel signal rather than failing on its own. */
  get cancelled(): boolean {
    return this.stopped === 'canceled';
  }
}

/** Like run(), but throws an ExecError unless the program exited 0 on its own. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.exitCode !== 0 || r.stopped) throw new ExecError(cmd, args, r);
  return r;
}

/** A running program whose raw byte streams the caller wires up (git over a transport). */
export interface Piped {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the exit code once the program has exited (128+signal when killed). */
  exited: Promise<number>;
  kill(): void;
}

/** Starts a program with raw piped stdio for byte-exact relaying. */
export function pipe(cmd: string, args: readonly string[], opts: ExecOptions = {}): Piped {
  const { child, cleanup } = spawn(cmd, args, opts, true);
  const exited = child.then((r) => {
    cleanup();
    if (r.exitCode !== undefined) return r.exitCode;
    return 128 + (r.signal === 'SIGKILL' ? 9 : 15);
  });
  return {
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    exited,
    kill: () => { child.kill('SIGTERM'); },
  };
}

/** A piped program's output as readInto() reads it. */
export interface ReusedReader {
  /** Reads on after `onChunk` returned false (once whatever held its view has let go). */
  resume(): void;
  /** Resolves once the output ended (or failed: the program's exit tells the rest). */
  done: Promise<void>;
  /** Whether the output is read into the one buffer (false: Node gave no pipe to take over). */
  reused: boolean;
}

/**
 * Reads a piped program's output into `buffer`, reused for every read (Node's `onread`), instead
 * of a new buffer per read. A relay of 100 MB otherwise leaves 100 MB of buffers behind, which a
 * warm server's V8 reclaims with full mark-compacts (8 to 10 per 100 MB clone over SSH, most of
 * the relay's CPU). `onChunk` gets a view of `buffer` that stays valid until
 * it returns; when it returns false, reading pauses and the view stays valid until resume().
 * The pipe is taken over from `stream` through its handle, as Node's own child_process makes its
 * pipes; if a Node ever has none there, ordinary reads (a new buffer each) are used instead.
 */
export function readInto(stream: Readable, buffer: Buffer, onChunk: (chunk: Buffer) => boolean): ReusedReader {
  const inner = stream as unknown as { _handle?: unknown };
  const handle = inner._handle;
  if (!(stream instanceof Socket) || !handle || stream.readableLength > 0) {
    stream.on('data', (chunk: Buffer) => {
      if (!onChunk(chunk)) stream.pause();
    });
    return { resume: () => stream.resume(), done: ended(stream), reused: false };
  }
  // The old socket lets go of the pipe without closing it (its end and close then tell the
  // exec wrapper nothing more will come through it); the new one reads it into `buffer`.
  inner._handle = null;
  stream.destroy();
  const opts = { handle, readable: true, writable: false, onread: { buffer, callback: (n: number) => onChunk(buffer.subarray(0, n)) } };
  const socket = new Socket(opts as unknown as SocketConstructorOpts);
  // A failed read ends the output (`done`); the program's exit status, which its caller waits
  // for too, says what went wrong, as it does for the pipe Node would have read.
  socket.on('error', () => socket.destroy());
  socket.resume();
  return { resume: () => socket.resume(), done: ended(socket), reused: true };
}

function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}
