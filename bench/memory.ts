// Idle memory of the server (issue 36): the RSS of a real Slipway server process (as
// bin/slipway-server runs it, with the testbed's KUBECONFIG when it is set, an empty data dir)
// BENCH_MEMORY_SETTLE_S (10) seconds after start-up, side by side for the ways it can run:
//   - the TypeScript sources (server/main.ts, stripped by Node at load);
//   - the built server (dist/server.mjs from scripts/build-server.ts), what bin/slipway-server runs.
// Each BENCH_MEMORY_ROUNDS (3) times, taking turns. Writes results/memory.md.
//   node bench/memory.ts      (eval "$(npm run -s testbed)" first to include the Kubernetes client)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../server/exec.ts';
import { benchEnv } from './settings.ts';
import { freePort, must, rssMiB, startSlipway } from './slipway.ts';
import { median } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SETTINGS = Object.freeze({
  rounds: Math.min(Number(benchEnv.BENCH_MEMORY_ROUNDS || 3), 10),
  settleS: Math.min(Number(benchEnv.BENCH_MEMORY_SETTLE_S || 10), 60),
  kubeconfig: benchEnv.KUBECONFIG ?? '',
  out: resolve(import.meta.dirname, 'results', 'memory.md'),
});
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

await must('build the server', run(process.execPath, [join(ROOT, 'scripts', 'build-server.ts')]));
const tmp = mkdtempSync(join(tmpdir(), 'slipway-memory-bench-'));
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'key')]));
const VARIANTS = [
  { name: 'TypeScript sources (server/main.ts, stripped at load)', script: join(ROOT, 'server', 'main.ts') },
  { name: 'built server (dist/server.mjs), what bin/slipway-server runs', script: join(ROOT, 'dist', 'server.mjs') },
];
const rss = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
try {
  for (let r = 0; r < SETTINGS.rounds; r++) {
    for (const v of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      const dataDir = join(tmp, `data-${r}-${VARIANTS.indexOf(v)}`);
      mkdirSync(dataDir);
      const server = await startSlipway({
        root: ROOT, dataDir, adminKeys: join(tmp, 'key.pub'), script: v.script,
        ports: { ssh: await freePort(), http: await freePort() },
        extraEnv: { HOME: tmp, ...(SETTINGS.kubeconfig ? { KUBECONFIG: SETTINGS.kubeconfig } : {}) },
      });
      await sleep(SETTINGS.settleS * 1000);
      rss.get(v.name)!.push(rssMiB(server.pid).rss);
      await server.stop();
      say(`${v.name}: ${rss.get(v.name)!.at(-1)!.toFixed(1)} MiB`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const ts = median(rss.get(VARIANTS[0]!.name)!);
const built = median(rss.get(VARIANTS[1]!.name)!);
const report = [
  '# Server memory at idle',
  '',
  `${new Date().toISOString().slice(0, 10)}, \`node bench/memory.ts\`: the server's RSS ${SETTINGS.settleS} s after start-up (empty data dir${SETTINGS.kubeconfig ? ", the testbed's KUBECONFIG: the Kubernetes deployer and its client loaded" : ', no KUBECONFIG'}), ${SETTINGS.rounds} rounds taking turns, through bin/slipway-server (its Node flags and malloc settings). Machine: 2 shared cores.`,
  '',
  '| how it runs | RSS (median) | each round | ratio to the sources | goal |',
  '|---|---|---|---|---|',
  ...VARIANTS.map((v) => `| ${v.name} | ${median(rss.get(v.name)!).toFixed(1)} MiB | ${rss.get(v.name)!.map((x) => x.toFixed(1)).join(', ')} | ${(median(rss.get(v.name)!) / ts).toFixed(2)}× | ≤ 120 MiB |`),
  '',
  `The built server saves ${(ts - built).toFixed(1)} MiB: Node's TypeScript stripper is a WebAssembly module that grows to the largest file it strips and keeps that memory.`,
  '',
].join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
