// What sealing the store's secrets costs (issue 38, section 3): the store's side of `config:set`
// (config.change of 5 vars, in one transaction) and of every config read (config.all of an app with
// 20 vars, kept opened in memory or all changed since the last read, and releases.current, whose
// config copy is sealed too), each run ITER times after a
// warm-up, on a store in a temporary directory (WAL, synchronous=FULL, as the server runs it).
//   node bench/secrets.ts                         this checkout's store (values sealed)
//   BENCH_STORE_MODULE=/path/to/server/store/index.ts node bench/secrets.ts   another checkout's (before: plain)
// Appends its table to bench/results/secrets.md with BENCH_WRITE=1.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { benchEnv } from './settings.ts';
import { median, percentile } from './stats.ts';

const ITER = Number(benchEnv.BENCH_ITER ?? 500);
const WARM = 50;
const module = resolve(benchEnv.BENCH_STORE_MODULE ?? join(import.meta.dirname, '..', 'server', 'store', 'index.ts'));

interface StoreLike {
  apps: { create(name: string): unknown };
  config: { change(app: string, set: Record<string, string>): void; all(app: string): Record<string, string> };
  releases: { create(r: { app: string; description: string; commit: null; image: null; processes: []; config: Record<string, string> }): unknown; current(app: string): unknown; finish(app: string, v: number, s: 'succeeded'): void };
  close(): void;
}

const { openStore } = await import(module) as { openStore: (file: string) => StoreLike };
const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-secrets-'));
const store = openStore(join(dir, 'slipway.db'));

/** Runs `f` WARM + ITER times (after `setup`, not timed); the last ITER's durations in ms. */
function time(f: (i: number) => void, setup?: (i: number) => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < WARM + ITER; i++) {
    setup?.(i);
    const t0 = process.hrtime.bigint();
    f(i);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= WARM) out.push(ms);
  }
  return out;
}

try {
  store.apps.create('bench');
  store.apps.create('cold');
  const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`VAR_${i}`, `postgres://user:${randomBytes(12).toString('hex')}@db-${i}.internal:5432/app`]));
  store.config.change('bench', twenty);
  store.releases.create({ app: 'bench', description: 'bench', commit: null, image: null, processes: [], config: twenty });
  store.releases.finish('bench', 1, 'succeeded');
  const rows = {
    'config:set, 5 vars (config.change)': time((i) => store.config.change('bench', Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`SET_${k}`, `value-${i}-${k}-${'x'.repeat(40)}`])))),
    'config read, 20 vars (config.all)': time(() => store.config.all('bench')),
    'config read, 20 vars, each new since the last read (config.all)': time(() => store.config.all('cold'), (i) => store.config.change('cold', Object.fromEntries(Object.keys(twenty).map((k) => [k, `${twenty[k]}-${i}`])))),
    'current release with its 20-var config (releases.current)': time(() => store.releases.current('bench')),
  };
  const lines = [
    `\n## ${new Date().toISOString()}: ${module.replace(resolve(import.meta.dirname, '..'), '.')}, ${ITER} iterations each`,
    '',
    '| operation | p50 ms | p99 ms | mean ms |',
    '|---|---|---|---|',
    ...Object.entries(rows).map(([name, ms]) => {
      const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
      return `| ${name} | ${median(ms).toFixed(3)} | ${percentile(ms, 99).toFixed(3)} | ${mean.toFixed(3)} |`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (benchEnv.BENCH_WRITE === '1') appendFileSync(join(import.meta.dirname, 'results', 'secrets.md'), lines.join('\n') + '\n');
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
