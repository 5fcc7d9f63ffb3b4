// Build benchmark (issue: real CNB builds; issue 9: languages): pushes each fixture app through a
// real Slipway (SSH transport, pre-receive hook, pipeline) with the real pack builder and the
// testbed's offline builder, and reports per app the cold build (new app, empty cache), the warm
// rebuild after a code-only change, and the platform's overhead per push = push wall time − the
// time pack itself ran. The deployer is the test fake: this measures building; bench/e2e
// (Kubernetes) measures going live.
//   eval "$(npm run -s testbed)"; node bench/build.ts
//   BENCH_BUILD_ROUNDS=N (default 3), BENCH_BUILD_APPS=node-app,go-app (default: all below; a name
//   selects its variants too)
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { findProgram } from '../server/backends.ts';
import { TimedPack } from './timed-pack.ts';
import { packSettings } from '../server/build/pack.ts';
import { benchEnv } from './settings.ts';
import { startTestServer } from '../test/support/harness.ts';
import { fixtureCopy } from '../test/support/testbed.ts';

const ROUNDS = Number(benchEnv.BENCH_BUILD_ROUNDS ?? 3);
/**
 * Each fixture, the file a code-only change appends a comment to, and files written over the
 * fixture's (`label` names such a variant: the Flask app on each of the builder's Pythons).
 */
const FIXTURES: { name: string; label?: string; file: string; comment: string; files?: Record<string, string>; vsPython?: boolean }[] = [
  { name: 'node-app', file: 'server.js', comment: '//' },
  { name: 'express-app', file: 'server.js', comment: '//' },
  { name: 'ts-app', file: 'src/server.ts', comment: '//' },
  { name: 'python-app', file: 'app.py', comment: '#' },
  { name: 'python-app', label: 'python-app (3.11)', file: 'app.py', comment: '#', files: { '.python-version': '3.11\n' } },
  { name: 'python-app', label: 'python-app (3.14)', file: 'app.py', comment: '#', files: { '.python-version': '3.14\n' } },
  { name: 'django-app', file: 'pages/views.py', comment: '#' },
  { name: 'go-app', file: 'main.go', comment: '//' },
  // Issue 18's goal for a new language: its warm build within 2× of the Python app's on the same run.
  { name: 'spring-boot-app', file: 'src/main/java/com/example/demo/DemoApplication.java', comment: '//', vsPython: true },
];
const wanted = benchEnv.BENCH_BUILD_APPS?.split(',');
const fixtures = FIXTURES.filter((f) => !wanted || wanted.includes(f.name));


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const config = loadConfig();
const pack = findProgram(config.packBinary, config.searchPath);
if (!pack || config.builderImage === 'heroku/builder:24') {
  process.stderr.write('bench/build: needs the testbed (pack and the offline builder): eval "$(npm run -s testbed)" first\n');
  process.exit(1);
}
const builder = new TimedPack({ ...packSettings(config, pack), buildTimeoutMs: 15 * 60_000 });
const s = await startTestServer({ SLIPWAY_BUILDER: config.builderImage, SLIPWAY_REGISTRY: config.registry }, { builder });
try {
  type Run = { total: number; pack: number };
  const results: { name: string; cold: Run[]; warm: Run[]; vsPython?: boolean }[] = [];
  for (const f of fixtures) {
    const cold: Run[] = [];
    const warm: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const app = `bench-${f.name.replace(/-app$/, '')}-${Date.now().toString(36)}-${round}`;
      await s.ssh(s.admin, `apps:create ${app}`);
      await builder.purgeCache(app);
      const wd = fixtureCopy(f.name);
      for (const [file, text] of Object.entries(f.files ?? {})) writeFileSync(join(wd, file), text);
      await s.commitAll(wd, 'cold');
      let t0 = performance.now();
      let r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
      if (r.exitCode !== 0) throw new Error(`${f.label ?? f.name}: cold push failed: ${r.stderr}`);
      cold.push({ total: performance.now() - t0, pack: builder.last });
      appendFileSync(join(wd, f.file), `\n${f.comment} change ${round}\n`);
      await s.commitAll(wd, 'code change');
      t0 = performance.now();
      r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
      if (r.exitCode !== 0) throw new Error(`${f.label ?? f.name}: warm push failed: ${r.stderr}`);
      warm.push({ total: performance.now() - t0, pack: builder.last });
      process.stderr.write(`bench/build: ${f.label ?? f.name} round ${round + 1}: cold ${s2(cold.at(-1)!.pack)}, warm ${s2(warm.at(-1)!.pack)} (pack)\n`);
      await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
      await builder.purgeCache(app);
    }
    results.push({ name: f.label ?? f.name, cold, warm, vsPython: f.vsPython });
  }
  const cell = (xs: Run[], k: (x: Run) => number) => s2(median(xs.map(k)));
  const python = results.find((r) => r.name === 'python-app');
  const goal = (r: (typeof results)[number]) => {
    if (!r.vsPython) return 'pack ≤ 3 s, overhead ≤ 1 s';
    if (!python) return "pack ≤ 2× python-app's (not measured in this run)";
    return `pack ≤ 2× python-app's: ${(median(r.warm.map((x) => x.pack)) / median(python.warm.map((x) => x.pack))).toFixed(1)}×`;
  };
  const lines = [
    `Build bench, ${new Date().toISOString().slice(0, 10)}, medians of ${ROUNDS} rounds, fixtures in test/fixtures, builder ${config.builderImage}`,
    '',
    '| app | cold: total (git push) | cold: pack | warm (code change): total | warm: pack | warm: platform overhead | goal (warm) |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${cell(r.cold, (x) => x.total)} | ${cell(r.cold, (x) => x.pack)} | ${cell(r.warm, (x) => x.total)} | ${cell(r.warm, (x) => x.pack)} | ${cell(r.warm, (x) => x.total - x.pack)} | ${goal(r)} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(import.meta.dirname, 'results', 'build.md'), `# Build bench\n\n${lines.join('\n')}\n\nCommand: \`node bench/build.ts\` (part of \`npm run bench\` with the testbed up)\n`);
} finally {
  await s.close();
}
