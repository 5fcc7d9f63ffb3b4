// Runs a real Slipway server (test/support/server-process.ts: real SSH and HTTP transports, real
// pre-receive hook round trip, instant fake builder/deployer) in its own process for the bench.
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { freePort } from '../test/support/harness.ts';

export { freePort };
import { pipe, type Piped, type RunResult } from '../server/exec.ts';
import { benchEnv } from './settings.ts';

/** A running bench Slipway server. */
export interface BenchSlipway {
  ssh: number;
  http: number;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
  logTail(): string;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; fails after `ms`. */
async function listening(port: number, ms: number, exited: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !exited()) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/**
 * Starts the server and waits for its `{"ssh":PORT,"http":PORT}` line, or with `ports` (a
 * program that prints none, as server/main.ts) on those ports until both accept connections.
 */
export async function startSlipway(opts: { root: string; dataDir: string; adminKeys: string; extraEnv?: Record<string, string>; script?: string; ports?: { ssh: number; http: number } }): Promise<BenchSlipway> {
  // As `npm start` runs the server: bin/slipway-server holds its Node flags and malloc settings;
  // the node it runs is this one (first on PATH).
  // `script` is the program that starts the server (default: the test fakes' server-process.ts).
  const child: Piped = pipe(join(opts.root, 'bin', 'slipway-server'), [opts.script ?? join(opts.root, 'test', 'support', 'server-process.ts')], {
    cwd: opts.root,
    env: {
      PATH: `${dirname(process.execPath)}${delimiter}${benchEnv.PATH ?? ''}`,
      SLIPWAY_DATA_DIR: opts.dataDir,
      SLIPWAY_SSH_PORT: String(opts.ports?.ssh ?? 0),
      SLIPWAY_HTTP_PORT: String(opts.ports?.http ?? 0),
      SLIPWAY_BIND: '127.0.0.1',
      SLIPWAY_HOST: '127.0.0.1',
      SLIPWAY_BASE_DOMAIN: 'apps.bench.invalid',
      SLIPWAY_ADMIN_KEYS: opts.adminKeys,
      ...opts.extraEnv,
    },
  });
  const tail: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { tail.push(d); if (tail.length > 50) tail.shift(); });
  let exited = false;
  void child.exited.then(() => { exited = true; });
  // stdout carries the ready line, then one `build-started` line per push; keep draining it so
  // the pipe never fills and stalls the server.
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  const ports = opts.ports;
  const ready = ports
    ? await Promise.all([listening(ports.ssh, 60_000, () => exited), listening(ports.http, 60_000, () => exited)])
      .then(() => ports, (err: unknown) => { throw new Error(`Slipway did not start within 60 s: ${tail.join('').trim()}`, { cause: err }); })
    : await new Promise<{ ssh: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Slipway did not start within 30 s: ${tail.join('').trim()}`)), 30_000);
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as { ssh: number; http: number });
      } catch (err) {
        reject(new Error(`unexpected ready line from Slipway: ${line}`, { cause: err }));
      }
    });
    void child.exited.then((code) => { clearTimeout(timer); reject(new Error(`Slipway exited (code ${code}) before it was ready: ${tail.join('').trim()}`)); });
  });
  // The server writes its own pid here (one server per data dir); the exec wrapper does not expose it.
  const pid = Number(readFileSync(join(opts.dataDir, 'run', 'server.pid'), 'utf8').trim());
  return {
    ...ready,
    pid,
    dataDir: opts.dataDir,
    logTail: () => tail.join(''),
    stop: async () => {
      if (exited) return;
      child.kill();
      const done = await Promise.race([child.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
      if (!done) process.kill(pid, 'SIGKILL');
    },
  };
}

/** VmRSS and VmHWM of a process in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Awaits a program's run, or fails naming `what`, its exit and the end of what it said. */
export async function must(what: string, p: Promise<RunResult>): Promise<RunResult> {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${what} failed (exit ${r.exitCode}${r.stopped ? `, ${r.stopped}` : ''}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return r;
}
