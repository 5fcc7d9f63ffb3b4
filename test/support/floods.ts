// Floods towards a client that does not read, measured on a server in its own process: its
// resident memory from /proc/PID/status while the flood goes on, and whether it still answers
// other users. Used by test/integration/floods.test.ts (fakes) and test/e2e/floods.test.ts (pods).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { run } from '../../server/exec.ts';
import { sshOptions, type TestKey } from './harness.ts';

const LAUNCHER = join(import.meta.dirname, '..', '..', 'bin', 'slipway-server');

/** How much the server's memory may grow over its idle size during a flood. */
export const RSS_MARGIN = 64 * 1024 * 1024;
/** Longest one `apps:list` may take during a flood before it counts as unanswered (generous: this is about denial of service, not speed). */
export const ANSWER_TIMEOUT_MS = 10_000;

/** A Slipway server running in its own process. */
export interface ServerProcess {
  pid: number;
  ssh: number;
  /** What it logged so far. */
  log(): string;
  /** Whether it is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts a server program (test/support/server-process.ts, or server/main.ts as `npm start` runs
 * it) in its own process; resolves once it names its SSH port, on stdout or in its start-up log.
 */
export async function startServerProcess(program: string, env: Record<string, string>): Promise<ServerProcess> {
  // As `npm start` runs it: bin/slipway-server (its Node flags and malloc settings) with this node
  // first on PATH; the launcher execs node, so the pid is the server's.
  const child: ResultPromise = execa(LAUNCHER, [program], {
    env: { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env },
    reject: false,
    buffer: false,
  });
  let exited = false;
  void child.then(() => { exited = true; });
  let logged = '';
  const port = new Promise<number>((resolve, reject) => {
    const look = (line: string) => {
      logged += line + '\n';
      if (logged.length > 1_000_000) logged = logged.slice(-500_000);
      try {
        const v = JSON.parse(line) as { ssh?: unknown };
        if (typeof v.ssh === 'number') resolve(v.ssh);
      } catch {
        // Not a JSON line: only kept for the log.
      }
    };
    createInterface({ input: child.stdout! }).on('line', look);
    createInterface({ input: child.stderr! }).on('line', look);
    void child.then(() => reject(new Error(`the server exited before it was ready:\n${logged}`)));
  });
  const ssh = await port;
  return {
    pid: child.pid!,
    ssh,
    log: () => logged,
    alive: () => !exited,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

/** The resident memory of a process in bytes (VmRSS in /proc/PID/status). */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** The server's resident memory at rest: the largest of a few samples over a second. */
export async function idleRss(pid: number): Promise<number> {
  let max = 0;
  for (let i = 0; i < 5; i++) {
    max = Math.max(max, rssOf(pid));
    await sleep(200);
  }
  return max;
}

/** What happened to the server while a flood went on. */
export interface FloodReport {
  idle: number;
  maxRss: number;
  /** `apps:list` runs that answered (exit 0) within ANSWER_TIMEOUT_MS. */
  answered: number;
  /** How the others ended. */
  unanswered: string[];
  /** Stopped early: the memory passed the bound, and going on would only take the machine down. */
  overBound: boolean;
}

/** `ssh git@127.0.0.1 COMMAND` with a key, against a server's port, as a child whose output nobody reads. */
export function unreadSsh(key: TestKey, port: number, command: string, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  // stdout and stderr are pipes this process never reads: once they are full, ssh stops reading
  // the channel, as a client on a stalled terminal or a crafted client would.
  return spawn('ssh', [...sshOptions(key), '-p', String(port), 'git@127.0.0.1', command], { stdio: [stdin, 'pipe', 'pipe'] });
}

/**
 * Watches a server for `ms` while a flood goes on: samples its memory every 250 ms, and asks
 * it `apps:list` over SSH with `key`, one after the other, each within ANSWER_TIMEOUT_MS.
 */
export async function watchFlood(server: Pick<ServerProcess, 'pid' | 'ssh'>, key: TestKey, idle: number, ms: number): Promise<FloodReport> {
  const report: FloodReport = { idle, maxRss: 0, answered: 0, unanswered: [], overBound: false };
  const end = Date.now() + ms;
  const sampling = (async () => {
    while (Date.now() < end && !report.overBound) {
      report.maxRss = Math.max(report.maxRss, rssOf(server.pid));
      if (report.maxRss > idle + RSS_MARGIN) report.overBound = true;
      await sleep(250);
    }
  })();
  const asking = (async () => {
    while (Date.now() < end && !report.overBound) {
      const r = await run('ssh', [...sshOptions(key), '-p', String(server.ssh), 'git@127.0.0.1', 'apps:list'], { timeoutMs: ANSWER_TIMEOUT_MS });
      if (r.exitCode === 0 && !r.stopped) report.answered++;
      else report.unanswered.push(r.stopped ? `no answer within ${ANSWER_TIMEOUT_MS / 1000} s` : `exit ${r.exitCode}: ${r.stderr.trim()}`);
      await sleep(500);
    }
  })();
  await Promise.all([sampling, asking]);
  return report;
}

/** The largest resident memory of a process while `work` runs (sampled every 100 ms), and what `work` gave. */
export async function peakRssWhile<T>(pid: number, work: Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = rssOf(pid);
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, rssOf(pid));
      await sleep(100);
    }
  })();
  try {
    const result = await work;
    done = true;
    await sampling;
    return { peak, result };
  } finally {
    done = true;
  }
}

/** The report in one line, for assertion messages. */
export function describeFlood(r: FloodReport): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `idle ${mb(r.idle)}, peak ${mb(r.maxRss)} (bound ${mb(r.idle + RSS_MARGIN)})${r.overBound ? ', stopped early over the bound' : ''}; apps:list answered ${r.answered}, unanswered ${r.unanswered.length}${r.unanswered.length ? `: ${r.unanswered.slice(0, 3).join('; ')}` : ''}`;
}

/** Asserts what a flood report must show (memory under the bound, apps:list answered throughout), and puts it in the test's output. */
export function assertBounded(t: TestContext, report: FloodReport): void {
  t.diagnostic(describeFlood(report));
  assert.ok(report.maxRss < report.idle + RSS_MARGIN, describeFlood(report));
  assert.deepEqual(report.unanswered, [], describeFlood(report));
  assert.ok(report.answered > 0, describeFlood(report));
}

/** Whether a child process is still running. */
export function running(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}
