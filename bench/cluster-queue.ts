// Cluster build queue bench (issue 21): 10 pushes of 10 small apps at once with the cluster build
// backend and SLIPWAY_BUILD_CONCURRENCY slots (default 2): all must succeed; their wall time is
// compared with one push alone (same app shape, same run) and with the ideal for that many slots;
// queue fairness: a push should never wait behind one that reached the builder after it (FIFO),
// and never behind more than CONCURRENCY such pushes (the issue's bound).
//   eval "$(npm run -s testbed)"; node bench/cluster-queue.ts
//   BENCH_QUEUE_PUSHES=N (default 10); SLIPWAY_BUILD_CONCURRENCY, SLIPWAY_BUILD_CPU (default here
//   500m: two build pods and a spare fit on the testbed's 2 cores beside the apps)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { ClusterBuilder, clusterBuildSettings } from '../server/cluster-build/builder.ts';
import { KubeClient } from '../server/kube/client.ts';
import { benchEnv } from './settings.ts';
import { median } from './stats.ts';
import { TimedBuilder } from './timed-builder.ts';
import { startTestServer } from '../test/support/harness.ts';
import { fixtureCopy, registryAuthEnv } from '../test/support/testbed.ts';

const PUSHES = Number(benchEnv.BENCH_QUEUE_PUSHES ?? 10);
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (!benchEnv.KUBECONFIG || !benchEnv.SLIPWAY_BUILDER || !benchEnv.SLIPWAY_REGISTRY) {
  process.stderr.write('bench/cluster-queue: needs the testbed (Kubernetes, the registry, the offline builder): eval "$(npm run -s testbed)" first\n');
  process.exit(1);
}
const serverEnv = { SLIPWAY_BUILDER: benchEnv.SLIPWAY_BUILDER, SLIPWAY_REGISTRY: benchEnv.SLIPWAY_REGISTRY, KUBECONFIG: benchEnv.KUBECONFIG, ...registryAuthEnv() };
const config = loadConfig({
  SLIPWAY_BUILD_CPU: '500m', ...benchEnv, ...serverEnv, SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'slipway-bench-queue-')),
  // One key pushes every app here: it may take every slot, so the bench measures the slots (a
  // key's share is checked by test/integration/build-fairness.test.ts).
  SLIPWAY_BUILD_CONCURRENCY_PER_KEY: benchEnv.SLIPWAY_BUILD_CONCURRENCY_PER_KEY ?? benchEnv.SLIPWAY_BUILD_CONCURRENCY ?? '2',
});
const slots = config.buildConcurrency;

/** When each build reached the builder, and when its pod began its first phase (ms since the bench started). */
const seen = new Map<string, { arrived: number; started?: number }>();
const t0 = performance.now();
const builder = new TimedBuilder(new ClusterBuilder(new KubeClient(benchEnv.KUBECONFIG), clusterBuildSettings(config)), (req) => {
  const at = { arrived: performance.now() - t0 } as { arrived: number; started?: number };
  seen.set(req.app, at);
  const detail = req.transcript.detail.bind(req.transcript);
  return {
    ...req,
    transcript: {
      step: req.transcript.step.bind(req.transcript), warn: req.transcript.warn.bind(req.transcript), raw: req.transcript.raw.bind(req.transcript),
      drained: req.transcript.drained.bind(req.transcript),
      detail: (text: string) => {
        if (at.started === undefined && text.startsWith('===> ')) at.started = performance.now() - t0;
        detail(text);
      },
    },
  };
});
const s = await startTestServer(serverEnv, { builder });
const stamp = Date.now().toString(36);
const apps = Array.from({ length: PUSHES + 1 }, (_, i) => `bench-q${i}-${stamp}`);
try {
  const dirs: string[] = [];
  for (const app of apps) {
    await s.ssh(s.admin, `apps:create ${app}`);
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, app);
    dirs.push(wd);
  }
  const push = async (i: number) => {
    const started = performance.now();
    const r = await s.git(['push', s.sshRemote(apps[i]!), 'main'], { cwd: dirs[i]! });
    return { ok: r.exitCode === 0, ms: performance.now() - started, build: builder.last, stderr: r.stderr };
  };
  // One push alone (a cold build of a new app, as each of the ten is).
  const alone = await push(0);
  if (!alone.ok) throw new Error(`the single push failed: ${alone.stderr}`);
  process.stderr.write(`bench/cluster-queue: one push alone ${s1(alone.ms)}\n`);
  seen.clear();
  const wallStart = performance.now();
  const results = await Promise.all(apps.slice(1).map((_, i) => push(i + 1)));
  const wall = performance.now() - wallStart;
  const failed = results.filter((r) => !r.ok);
  // Fairness: for each build, how many that reached the builder after it began before it.
  const order = [...seen.entries()].map(([app, t]) => ({ app, ...t }));
  const overtaken = order.map((p) => order.filter((q) => q.arrived > p.arrived && (q.started ?? Infinity) < (p.started ?? Infinity)).length);
  const waits = order.map((p) => (p.started ?? p.arrived) - p.arrived);
  const lines = [
    `Cluster build queue bench, ${new Date().toISOString().slice(0, 10)}, one testbed node (2 cores), builder ${config.builderImage}, node-app (cold builds), SLIPWAY_BUILD_CONCURRENCY=${slots} (PER_KEY=${config.buildConcurrencyPerKey}), SLIPWAY_BUILD_CPU=${config.buildCpu}, SLIPWAY_BUILD_MEMORY=${config.buildMemory}, a spare pod on; pushes over SSH to one server (the deployer is the test fake)`,
    '',
    '| measure | value |',
    '|---|---|',
    `| pushes at once | ${PUSHES} |`,
    `| succeeded | ${results.length - failed.length} of ${PUSHES}${failed.length ? ` (failed: ${failed.map((r) => r.stderr.split('\n').find((l) => l.includes('!')) ?? '').join('; ')})` : ''} |`,
    `| one push alone (wall) | ${s1(alone.ms)} |`,
    `| ${PUSHES} pushes at once (wall, first start to last end) | ${s1(wall)} |`,
    `| ÷ one push | ${(wall / alone.ms).toFixed(2)}× (ideal with ${slots} slots: ${(PUSHES / slots).toFixed(1)}×) |`,
    `| wait for a slot, median / longest | ${s1(median(waits))} / ${s1(Math.max(...waits))} |`,
    `| most pushes that reached the builder later but started before one (goal ≤ ${slots}; FIFO gives 0) | ${Math.max(...overtaken)} |`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(import.meta.dirname, 'results', 'cluster-queue.md'), `# Cluster build queue bench\n\n${lines.join('\n')}\n\nCommand: \`node bench/cluster-queue.ts\` (part of \`npm run bench\` with the testbed up)\n`);
  if (failed.length) process.exitCode = 1;
} finally {
  for (const app of apps) {
    await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`).catch(() => undefined);
    await builder.purgeCache(app).catch(() => undefined);
  }
  await s.close();
}
