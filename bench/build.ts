// Build benchmark (issue: real CNB builds): pushes the fixture Node app through a real Slipway
// (SSH transport, pre-receive hook, pipeline) with the real pack builder and the testbed's offline
// builder, and reports cold build, warm rebuild (code change only) and the platform's overhead
// per push = push wall time − the time pack itself ran. The deployer is the test fake: this
// measures building; bench/e2e (Kubernetes) measures going live.
//   eval "$(npm run -s testbed)"; node bench/build.ts
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { findProgram } from '../server/backends.ts';
import { TimedPack } from './timed-pack.ts';
import { startTestServer } from '../test/support/harness.ts';
import { fixtureCopy } from '../test/support/testbed.ts';

const ROUNDS = 5;


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const config = loadConfig();
const pack = findProgram(config.packBinary, config.searchPath);
if (!pack || config.builderImage === 'heroku/builder:24') {
  process.stderr.write('bench/build: needs the testbed (pack and the offline builder): eval "$(npm run -s testbed)" first\n');
  process.exit(1);
}
const builder = new TimedPack({ packBinary: pack, registry: config.registry, buildTimeoutMs: 15 * 60_000 });
const s = await startTestServer({ SLIPWAY_BUILDER: config.builderImage, SLIPWAY_REGISTRY: config.registry }, { builder });
try {
  const cold: { total: number; pack: number }[] = [];
  const warm: { total: number; pack: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const app = `bench-build-${Date.now().toString(36)}-${round}`;
    await s.ssh(s.admin, `apps:create ${app}`);
    await builder.purgeCache(app);
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'cold');
    let t0 = performance.now();
    let r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (r.exitCode !== 0) throw new Error(`cold push failed: ${r.stderr}`);
    cold.push({ total: performance.now() - t0, pack: builder.last });
    appendFileSync(join(wd, 'server.js'), `\n// change ${round}\n`);
    await s.commitAll(wd, 'code change');
    t0 = performance.now();
    r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (r.exitCode !== 0) throw new Error(`warm push failed: ${r.stderr}`);
    warm.push({ total: performance.now() - t0, pack: builder.last });
    await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
    await builder.purgeCache(app);
  }
  const row = (name: string, xs: { total: number; pack: number }[], goal: string) =>
    `| ${name} | ${s2(median(xs.map((x) => x.total)))} | ${s2(median(xs.map((x) => x.pack)))} | ${s2(median(xs.map((x) => x.total - x.pack)))} | ${goal} |`;
  const lines = [
    `Build bench, ${new Date().toISOString().slice(0, 10)}, medians of ${ROUNDS} rounds, fixture test/fixtures/node-app, builder ${config.builderImage}`,
    '',
    '| push | total (git push) | pack | platform overhead | goal |',
    '|---|---|---|---|---|',
    row('cold (new app, empty cache)', cold, 'reference'),
    row('warm (code change only)', warm, 'pack ≤ 8 s, overhead ≤ 1 s'),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(import.meta.dirname, 'results', 'build.md'), `# Build bench\n\n${lines.join('\n')}\n\nCommand: \`node bench/build.ts\` (part of \`npm run bench\` with the testbed up)\n`);
} finally {
  await s.close();
}
