// The test runner's schedule (scripts/test.sh calls it once the testbed is up): every file runs
// under node's test runner (`node --test FILE`, its own process), several at once, and at the end
// one summary of all of them.
//   node scripts/run-tests.ts [--fast] [--only PATTERN] [--jobs N] [--times FILE]
// - First, two lanes side by side: the unit and integration files as one `node --test` with
//   concurrency equal to the cores (they never touch the testbed), and the end-to-end files whose
//   first lines say `// e2e: alone (WHY)`, one by one: each needs the testbed to itself (it
//   collects the registry's storage, cordons or drains a node, asserts on the whole cluster).
// - Once the alone files are done, the other end-to-end files, --jobs at a time (default 5; one
//   fewer until the unit and integration files end), longest first by the last
//   run's times (--times, a JSON file the run rewrites): each owns its apps, namespaces, ports and data directory, and shares the
//   registry, cluster and ingress the way tenants do.
// - Each file's output is printed whole when it ends, so parallel files do not interleave.
// - The end: the ten slowest files, the files over the budget (listed, not failed) and the plain
//   line `tests: N passed, N failed, N skipped`, and before it each phase's time with how busy the
//   machine's cores were (whether more files at once could help). The exit code is non-zero when anything failed.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
/** A file over this many seconds is named in the summary (it still passes). */
const BUDGET_S = 180;
/** A test that hangs (a socket left open) fails after 20 minutes instead of holding CI to its limit. */
const TEST_TIMEOUT_MS = 1_200_000;

/** The last run's seconds per file, from `file` (none when there was no run yet or its record is unreadable). */
function lastTimes(file: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return {}; // No record yet: the files start in name order.
  }
}

/** One `node --test` process: its files, and how many of them run at once inside it. */
interface Job { label: string; files: string[]; concurrency: number }

/** What one job's runner reported, and how long the job took. */
interface Outcome { job: Job; seconds: number; pass: number; fail: number; skipped: number; todo: number; code: number | null; summarized: boolean; failures: string[] }

/** The test files of one folder under test/, relative to the checkout, in name order. */
export function testFiles(folder: string): string[] {
  return readdirSync(join(ROOT, 'test', folder)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${folder}/${f}`);
}

const ALONE = /^\/\/ e2e: alone \((.+)\)$/m;

/** Why an end-to-end file must have the testbed to itself (its `// e2e: alone (WHY)` line), or undefined. */
export function aloneReason(file: string): string | undefined {
  const head = readFileSync(join(ROOT, file), 'utf8').split('\n').slice(0, 20).join('\n');
  return ALONE.exec(head)?.[1];
}

/** The counts in node's closing lines (`ℹ pass 12` …); `summarized` is false when the runner printed none. */
export function runnerCounts(output: string): Pick<Outcome, 'pass' | 'fail' | 'skipped' | 'todo' | 'summarized'> {
  const count = (name: string) => {
    const all = [...output.matchAll(new RegExp(`^ℹ ${name} (\\d+)$`, 'gm'))];
    return all.length ? Number(all.at(-1)![1]) : undefined;
  };
  const pass = count('pass');
  const fail = (count('fail') ?? 0) + (count('cancelled') ?? 0);
  return { pass: pass ?? 0, fail, skipped: count('skipped') ?? 0, todo: count('todo') ?? 0, summarized: pass !== undefined };
}

/** Lines kept of each failed test in the closing summary: where, which, and its error's first lines. */
const EXCERPT_LINES = 8;

/**
 * The failed tests in node's closing `✖ failing tests:` section, each as its place, its name and
 * its error's first lines (no stack), so the run's last lines say what failed and why even when
 * only they are kept. A todo test's failure (its name after ⚠) fails nothing and is left out.
 */
export function failureExcerpts(output: string): string[] {
  const at = output.lastIndexOf('\n✖ failing tests:\n');
  if (at < 0) return [];
  const blocks = output.slice(at).split(/\n(?=test at )/).slice(1);
  return blocks.filter((b) => !/^⚠/m.test(b.split('\n')[1] ?? '')).map((b) => {
    const lines = b.split('\n');
    const stack = lines.findIndex((l, i) => i > 1 && /^\s+at /.test(l));
    return lines.slice(0, stack < 0 ? EXCERPT_LINES : Math.min(stack, EXCERPT_LINES)).map((l) => l.trimEnd()).filter(Boolean).join('\n');
  });
}

/** Runs one job to its end, its output kept and printed whole at the end. */
function runJob(job: Job): Promise<Outcome> {
  const started = performance.now();
  // --test-force-exit, for a job of one file: its process ends once its tests and hooks have,
  // instead of waiting for handles something left open (the end-to-end files with databases
  // waited 66-96 s after their suites ended, each holding one of the parallel slots:
  // bench/results/ci.md). Not for the job of many files at once: there node's runner exits before
  // the last verdicts its files' processes sent have reached it, and drops them with exit code 0
  // (nodejs/node#64833; the unit lane reported 1093 of 1098 tests, the last ones of two files).
  const forceExit = job.files.length === 1 ? ['--test-force-exit'] : [];
  const args = ['--test', '--test-reporter=spec', ...forceExit, `--test-concurrency=${job.concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...job.files];
  process.stdout.write(`▶ ${job.label}\n`);
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (code) => {
      const output = Buffer.concat(chunks).toString('utf8');
      const seconds = (performance.now() - started) / 1000;
      const outcome: Outcome = { job, seconds, code, ...runnerCounts(output), failures: failureExcerpts(output) };
      const failed = code !== 0 || outcome.fail > 0 || !outcome.summarized;
      process.stdout.write(`\n===== ${job.label} (${seconds.toFixed(0)} s)\n${output}`);
      process.stdout.write(`${failed ? '✖' : '✔'} ${job.label}: ${outcome.pass} passed, ${outcome.fail} failed, ${outcome.skipped} skipped in ${seconds.toFixed(0)} s\n`);
      done(outcome);
    });
  });
}

/** A job of one file of its own (labelled with its path), not the unit and integration job. */
const oneFile = (o: Outcome) => o.job.label === o.job.files[0];

/**
 * Runs `jobs` at most `width` at a time, longest expected first is the caller's order. The last
 * slot opens only once `busy` settles (the unit and integration files, which take about one
 * slot's share of the cores while they run).
 */
async function pool(jobs: Job[], width: number, busy: Promise<unknown> = Promise.resolve()): Promise<Outcome[]> {
  const queue = [...jobs];
  const out: Outcome[] = [];
  const worker = async (slot: number) => {
    if (slot === width - 1) await busy;
    for (let job = queue.shift(); job; job = queue.shift()) out.push(await runJob(job));
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, (_, slot) => worker(slot)));
  return out;
}

/** The machine's CPU time so far, all cores: busy (user, nice, system, interrupts) and in all, in ms. */
function cpuTime(): { busy: number; all: number } {
  let busy = 0;
  let all = 0;
  for (const { times: t } of cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    all += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, all };
}

/** One phase of the run: how long it took and how busy the machine's cores were meanwhile (whoever kept them busy). */
interface Phase { name: string; seconds: number; busyShare: number }

/** Runs `work` as a phase, measuring its wall time and the machine's CPU use. */
async function phase<T>(name: string, phases: Phase[], work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const c0 = cpuTime();
  const out = await work();
  const c1 = cpuTime();
  phases.push({ name, seconds: (performance.now() - t0) / 1000, busyShare: c1.all > c0.all ? (c1.busy - c0.busy) / (c1.all - c0.all) : 0 });
  return out;
}

/** The whole run's closing lines: the slowest files, those over the budget, each phase's time and CPU use, the counts. */
function summary(outcomes: Outcome[], wallSeconds: number, phases: Phase[] = []): { text: string; failed: boolean } {
  const files = outcomes.filter(oneFile).sort((a, b) => b.seconds - a.seconds);
  const lines = ['', 'Slowest files:'];
  for (const o of files.slice(0, 10)) lines.push(`  ${o.seconds.toFixed(0).padStart(5)} s  ${o.job.label}`);
  for (const o of outcomes.filter((x) => !oneFile(x))) lines.push(`  ${o.job.label}: ${o.seconds.toFixed(0)} s`);
  const over = files.filter((o) => o.seconds > BUDGET_S);
  if (over.length) lines.push(`Over the ${BUDGET_S} s budget: ${over.map((o) => `${o.job.label} (${o.seconds.toFixed(0)} s)`).join(', ')}`);
  const broken = outcomes.filter((o) => o.code !== 0 || !o.summarized);
  for (const o of broken) lines.push(`✖ ${o.job.label} exited ${o.code ?? 'on a signal'}${o.summarized ? '' : ' before its runner summed up'}`);
  // What failed and why, again at the end, where a kept tail of the output still shows it.
  for (const o of outcomes) if (o.failures.length) lines.push(`✖ failed in ${o.job.label}:`, ...o.failures.map((f) => f.replace(/^/gm, '    ')));
  const sum = (k: 'pass' | 'fail' | 'skipped') => outcomes.reduce((n, o) => n + o[k], 0);
  const fail = sum('fail') + broken.filter((o) => o.fail === 0).length;
  // Whether more files at once could help: a phase whose cores were nearly always busy would only slow each file down.
  for (const p of phases) lines.push(`${p.name}: ${(p.seconds / 60).toFixed(1)} min, the machine's ${cpus().length} cores ${Math.round(p.busyShare * 100)} % busy`);
  lines.push(`Wall time: ${(wallSeconds / 60).toFixed(1)} min`);
  lines.push(`tests: ${sum('pass')} passed, ${fail} failed, ${sum('skipped')} skipped`);
  return { text: lines.join('\n') + '\n', failed: fail > 0 };
}

/** A usage error: one sentence, exit code 2, nothing run. */
function usage(sentence: string): void {
  process.stderr.write(`test: ${sentence}\n`);
  process.exitCode = 2;
}

async function main(): Promise<void> {
  // scripts/test.sh hands over the settings it reads from the environment as options.
  const { values } = parseArgs({ options: { fast: { type: 'boolean' }, only: { type: 'string' }, jobs: { type: 'string', default: '5' }, times: { type: 'string' } } });
  const only = values.only;
  const pick = (files: string[]) => (only ? files.filter((f) => f.includes(only)) : files);
  const fastFiles = pick([...testFiles('unit'), ...testFiles('integration')]);
  const e2e = values.fast ? [] : pick(testFiles('e2e'));
  // Each file's head is read once: why it runs alone, or undefined.
  const reasons = new Map(e2e.map((f) => [f, aloneReason(f)]));
  const alone = e2e.filter((f) => reasons.get(f) !== undefined);
  const shared = e2e.filter((f) => reasons.get(f) === undefined);
  const width = Number(values.jobs);
  if (!Number.isInteger(width) || width < 1) return usage(`SLIPWAY_TEST_JOBS must be a whole number of files at once (1 or more), not "${values.jobs}".`);
  if (fastFiles.length + e2e.length === 0) return usage(`No test file's path contains "${only}".`);
  const started = performance.now();
  const times = values.times ? lastTimes(values.times) : {};
  const longestFirst = [...shared].sort((a, b) => (times[b] ?? Infinity) - (times[a] ?? Infinity));
  const sharedJobs = longestFirst.map((f): Job => ({ label: f, files: [f], concurrency: 1 }));
  // First, the files that need the testbed to themselves, one by one, beside the unit and
  // integration files, which never touch the testbed; then the other end-to-end files at once,
  // one fewer while the unit and integration files still run (they need no slot of the testbed,
  // and the cores were a quarter idle while they ran beside the alone files only).
  process.stdout.write(`test: ${alone.length} end-to-end files alone beside the unit and integration files; then ${sharedJobs.length} end-to-end files, ${width} at a time (${width - 1} until the unit and integration files end)\n`);
  const aloneLane = async () => {
    const out: Outcome[] = [];
    for (const f of alone) {
      process.stdout.write(`test: ${f} runs alone: ${reasons.get(f)}\n`);
      out.push(await runJob({ label: f, files: [f], concurrency: 1 }));
    }
    return out;
  };
  const fastLane = async () => (fastFiles.length ? [await runJob({ label: `unit and integration (${fastFiles.length} files)`, files: fastFiles, concurrency: availableParallelism() })] : []);
  const phases: Phase[] = [];
  const fast = fastLane();
  const first = alone.length ? await phase('Alone files (the unit and integration files beside them)', phases, aloneLane) : [];
  const rest = sharedJobs.length ? await phase(`Shared end-to-end files, ${width} at a time`, phases, () => pool(sharedJobs, width, fast)) : [];
  const outcomes = [...first, ...(await fast), ...rest];
  for (const o of outcomes) if (oneFile(o)) times[o.job.label] = Math.round(o.seconds);
  if (values.times) {
    mkdirSync(dirname(values.times), { recursive: true });
    writeFileSync(values.times, JSON.stringify(times, null, 1) + '\n');
  }
  const { text, failed } = summary(outcomes, (performance.now() - started) / 1000, phases);
  process.stdout.write(text);
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.main) await main();
