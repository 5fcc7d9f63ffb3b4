// Build load bench (issue 21): an app's latency under 50 req/s through the ingress while 3 builds
// run, in one run: with no build (before and after), with the builds in the server's Docker engine
// (the `pack` backend, on the node the app runs on), and with the builds as pods on the other node
// (the `cluster` backend, the second node labelled slipway.dev/builds=true, which also keeps the
// app on the first node), once as the testbed runs it (the second node's machine shares this one's
// cores at the same CPU weight as everything else) and once with that machine's cgroup idle
// (testbed/node2/machine.sh cpu-weight low), so that it takes only CPU the first node leaves idle,
// as a machine of its own would: what is left is the load the builds put on the app's node (the
// server streaming their output, the API server, the registry taking their layers) and on the one
// kernel both nodes share. Before that last build phase, a phase with no build but every core of
// the idle machine kept busy shows what sharing the cores costs the app by itself. Every phase
// records the whole machine's CPU by kind (bench/cpu.ts). Each build phase runs BENCH_LOAD_ROUNDS
// rounds of 3 cold pushes at once (caches purged, so each build does its whole work) of 3 copies of
// the Node fixture; the load runs from the phase's start to its end. The builds' deployer is the
// test fake: only building loads the machine. Needs the two-node testbed with the pod-network
// registry address (SLIPWAY_BUILD_REGISTRY).
//   eval "$(npm run -s testbed)"; bin/slipway-server bench/build-load.ts
//   BENCH_LOAD_ROUNDS=N rounds per build phase (default 2); BENCH_LOAD_RATE req/s (default 50)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../server/config.ts';
import { findProgram } from '../server/backends.ts';
import { PackBuilder, packSettings } from '../server/build/pack.ts';
import { ClusterBuilder, clusterBuildSettings } from '../server/cluster-build/builder.ts';
import { KubeClient } from '../server/kube/client.ts';
import type { V1Pod } from '../server/kube/types.ts';
import { BUILDS_NODE_LABEL } from '../server/kube/labels.ts';
import type { Builder } from '../server/build/builder.ts';
import { pipe, run, runChecked } from '../server/exec.ts';
import { benchEnv } from './settings.ts';
import { median, percentile } from './stats.ts';
import { coresSince, machineCpu, type MachineCpu } from './cpu.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTestServer, type TestServer } from '../test/support/harness.ts';
import { deployApp, startOnTestbed } from '../test/support/on-testbed.ts';
import { fixtureCopy, registryAuthEnv } from '../test/support/testbed.ts';
import { waitForBody, type LoadResult } from '../test/support/ingress.ts';

const ROUNDS = Number(benchEnv.BENCH_LOAD_ROUNDS ?? 2);
const RATE = Number(benchEnv.BENCH_LOAD_RATE ?? 50);
const BUILDS = 3;
const LABEL_MANAGER = 'slipway-bench-build-node';
const BASE_DOMAIN = 'slipway.test';

const env = loadConfig();
const pack = findProgram(env.packBinary, env.searchPath);
const node2 = benchEnv.SLIPWAY_NODE2_NAME ?? '';
const ingress = benchEnv.SLIPWAY_TEST_INGRESS ?? '';
if (!pack || !benchEnv.KUBECONFIG || !ingress || !node2 || !benchEnv.SLIPWAY_BUILD_REGISTRY) {
  process.stderr.write('bench/build-load: needs the two-node testbed (pack, Kubernetes with slipway-node2, the ingress, SLIPWAY_BUILD_REGISTRY): eval "$(npm run -s testbed)" first, without SLIPWAY_TESTBED_NODES=1\n');
  process.exit(1);
}
const kube = new KubeClient(benchEnv.KUBECONFIG);
const tb = Object.fromEntries(Object.entries(benchEnv).filter((e): e is [string, string] => e[1] !== undefined));
const serverEnv = { SLIPWAY_BUILDER: env.builderImage, SLIPWAY_REGISTRY: env.registry, KUBECONFIG: benchEnv.KUBECONFIG, ...registryAuthEnv() };
const stamp = Date.now().toString(36);
const APP = `bench-load-${stamp}`;
const HOST = `${APP}.${BASE_DOMAIN}`;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

/** Marks (or unmarks) the second node as the build node, under this bench's own field manager. */
const markBuildNode = (on: boolean) => kube.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: node2, ...(on ? { labels: { [BUILDS_NODE_LABEL]: 'true' } } : {}) } }, LABEL_MANAGER);

const MACHINE = join(import.meta.dirname, '..', 'testbed', 'node2', 'machine.sh');
/** Sets the second node's machine's CPU weight (`low` or `default`); the machine script prints it. */
const node2Weight = async (level: 'low' | 'default') => (await runChecked('bash', [MACHINE, 'cpu-weight', level])).stdout.trim();
/**
 * Keeps every core of the second node's machine busy for `ms` with no build: what sharing the cores
 * alone costs. The loops are services of the machine's own systemd, so they run in its cgroup, as
 * its pods do (a command entered with `machine.sh exec` stays in the caller's).
 */
const node2Busy = async (ms: number) => {
  const loop = ['exec', 'systemd-run', '--wait', '--quiet', '--collect', '-p', `RuntimeMaxSec=${Math.ceil(ms / 1000)}`, 'sh', '-c', 'while :; do :; done'];
  await Promise.all([0, 1].map(() => run('bash', [MACHINE, ...loop])));
  return [];
};

/**
 * The load runs in a process of its own (bench/load-worker.ts); the servers run in this one, and
 * how late its event loop ran in a phase is recorded with it (a server blocked there is slow to
 * answer its pushes and commands, not the app).
 */
interface LoopDelay { p99Ms: number; maxMs: number }
/** What the load process reports: these fields of its LoadResult. */
type Load = Pick<LoadResult, 'sent' | 'failed' | 'latenciesMs'>;
/**
 * `baseline`: a phase with nothing but the app's load, which the others are compared with. `p99`:
 * the load's, in ms. `cpu`: the whole machine's CPU over the phase, in cores (of 2).
 */
interface Phase { label: string; baseline: boolean; load: Load; p99: number; builds: number; buildMs: number[]; loop: LoopDelay; cpu: MachineCpu }
const phases: Phase[] = [];

/** Runs the load while `work` runs (or for `idleMs`), and records the phase (returned too). */
async function phase(label: string, work: () => Promise<number[]>, baseline = false): Promise<Phase> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const cpu0 = machineCpu(), t0 = performance.now();
  const load = pipe(process.execPath, [join(import.meta.dirname, 'load-worker.ts'), ingress, HOST, String(RATE), String(20 * 60_000)]);
  const out: Buffer[] = [];
  load.stdout.on('data', (c: Buffer) => out.push(c));
  load.stderr.pipe(process.stderr, { end: false });
  let buildMs: number[];
  try {
    buildMs = await work();
  } finally {
    load.stdin.end();
  }
  const code = await load.exited;
  if (code !== 0) throw new Error(`bench/build-load: the load process exited with ${code}`);
  const r = JSON.parse(Buffer.concat(out).toString()) as Load;
  delay.disable();
  const loop = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
  const cpu = coresSince(cpu0, (performance.now() - t0) / 1000);
  const p: Phase = { label, baseline, load: r, p99: percentile(r.latenciesMs, 99), builds: buildMs.length, buildMs, loop, cpu };
  phases.push(p);
  process.stderr.write(`bench/build-load: ${label}: ${r.sent} requests, ${r.failed} failed, p50 ${ms(percentile(r.latenciesMs, 50))}, p99 ${ms(p.p99)}; event loop delay p99 ${ms(loop.p99Ms)}, max ${ms(loop.maxMs)}\n`);
  return p;
}

/** ROUNDS rounds of BUILDS cold pushes at once through `s` (a server whose deployer is the fake); each push's time. */
async function buildRounds(s: TestServer, builder: Builder, tag: string): Promise<number[]> {
  const apps = Array.from({ length: BUILDS }, (_, i) => `bench-load-${tag}${i}-${stamp}`);
  const dirs = await Promise.all(apps.map(async (app) => {
    await s.ssh(s.admin, `apps:create ${app}`);
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'load');
    return wd;
  }));
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(apps.map((app) => builder.purgeCache(app)));
    await Promise.all(apps.map(async (app, i) => {
      const t0 = performance.now();
      const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: dirs[i]! });
      if (r.exitCode !== 0) throw new Error(`bench/build-load: ${tag} push of ${app} failed: ${r.stderr}`);
      times.push(performance.now() - t0);
    }));
    // A new commit for the next round, so each round builds.
    for (const wd of dirs) {
      writeFileSync(join(wd, 'round.txt'), `${round}\n`);
      await s.commitAll(wd, `round ${round}`);
    }
  }
  for (const app of apps) {
    await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
    await builder.purgeCache(app);
  }
  return times;
}

const servers: TestServer[] = [];
let appServer: TestServer | undefined;
try {
  await markBuildNode(true);
  // The app, deployed for real; the build node label keeps it off the second node.
  const started = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN }, { buildTimeoutMs: 15 * 60_000 });
  appServer = started.server;
  await appServer.ssh(appServer.admin, `apps:create ${APP}`);
  const wd = fixtureCopy('node-app');
  await appServer.commitAll(wd, 'app');
  await deployApp(appServer, APP, wd);
  await waitForBody(ingress, HOST, (b) => b.length > 0, 60_000);
  const pods = await kube.list<V1Pod>('v1', 'Pod', `slipway-${APP}`, { labelSelector: 'app.kubernetes.io/component=web' });
  const appNode = pods.map((p) => p.spec?.nodeName).find(Boolean) ?? '?';
  if (appNode === node2) throw new Error(`bench/build-load: the app runs on ${node2}, the build node`);

  const packBuilder = new PackBuilder({ ...packSettings(env, pack), buildTimeoutMs: 15 * 60_000 });
  const packServer = await startTestServer(serverEnv, { builder: packBuilder });
  servers.push(packServer);
  // Three 500m slots: the three builds run at once on the build node, as in the pack phase (one
  // key pushes them all, so it may take every slot).
  const clusterBuilder = new ClusterBuilder(kube, clusterBuildSettings(loadConfig({
    ...benchEnv, ...serverEnv, SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_BUILD_CPU: '500m', SLIPWAY_BUILD_CONCURRENCY: String(BUILDS), SLIPWAY_BUILD_CONCURRENCY_PER_KEY: String(BUILDS),
    SLIPWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'slipway-bench-load-')),
  })));
  const clusterServer = await startTestServer(serverEnv, { builder: clusterBuilder });
  servers.push(clusterServer);

  // Idle phases as long as a build phase is expected to be; the load settles for a few seconds first.
  await sleep(5000);
  const idleMs = Number(benchEnv.BENCH_LOAD_IDLE_MS ?? 30_000);
  await phase('no build', async () => { await sleep(idleMs); return []; }, true);
  await phase(`${BUILDS} builds in the server's Docker (pack), on the app's node`, () => buildRounds(packServer, packBuilder, 'p'));
  await phase(`${BUILDS} builds as pods on ${node2} (cluster)`, () => buildRounds(clusterServer, clusterBuilder, 'c'));
  const low = await node2Weight('low');
  const asOwn = `its machine's cgroup ${low === 'idle' ? 'idle' : `at CPU weight ${low}`} (as a machine of its own)`;
  let busy: Phase, ownBuilds: Phase;
  try {
    busy = await phase(`no build; 2 busy loops on ${node2}, ${asOwn}`, () => node2Busy(idleMs));
    ownBuilds = await phase(`${BUILDS} builds as pods on ${node2} (cluster), ${asOwn}`, () => buildRounds(clusterServer, clusterBuilder, 'w'));
  } finally {
    await node2Weight('default');
  }
  await phase('no build (again)', async () => { await sleep(idleMs); return []; }, true);

  const idle = phases.filter((p) => p.baseline).flatMap((p) => p.load.latenciesMs);
  const idleP99 = percentile(idle, 99);
  const rows = phases.map((p) => {
    const vs = !p.baseline ? `${(p.p99 / idleP99).toFixed(2)}×` : '';
    const goal = p.label.includes('(cluster)') ? (p.p99 <= idleP99 * 1.1 ? 'met' : 'not met') : '';
    return `| ${p.label} | ${p.load.sent} | ${p.load.failed} | ${ms(percentile(p.load.latenciesMs, 50))} | ${ms(p.p99)} | ${ms(Math.max(...p.load.latenciesMs))} | ${vs} | ${p.builds ? `${p.builds}, median ${(median(p.buildMs) / 1000).toFixed(1)} s` : ''} | ${ms(p.loop.p99Ms)} / ${ms(p.loop.maxMs)} | ${[p.cpu.user, p.cpu.system, p.cpu.softirq, p.cpu.idle].map((c) => c.toFixed(2)).join(' / ')} | ${goal} |`;
  });
  // Two phases with no build, minutes apart: how far their p99s differ is how finely p99 can be compared here at all.
  const idleP99s = phases.filter((p) => p.baseline).map((p) => p.p99);
  const noise = (Math.max(...idleP99s) / Math.min(...idleP99s) - 1) * 100;
  const lines = [
    `Build load bench, ${new Date().toISOString().slice(0, 10)}: the Node fixture app on ${appNode} under ${RATE} req/s through the ingress (each request on its own connection, sent and timed by a process of its own), while ${ROUNDS} rounds of ${BUILDS} cold pushes at once build (the fake deployer), builder ${env.builderImage}. Both testbed nodes share this machine's 2 cores (the second is a systemd-nspawn machine), so builds "on the other node" still take CPU from the app's machine: the cluster backend's pods are bounded by their limits (SLIPWAY_BUILD_CPU=500m each), the pack backend's builds are not. In the last build phase the second node's machine's cgroup is idle (\`testbed/node2/machine.sh cpu-weight low\`), so it gets only the CPU the first node leaves idle, as a machine of its own would; what the builds still cost the app there is what they cost beyond the second node's CPU time: their load on the app's node (the server streaming their output, the API server, the registry taking their layers) and on the one kernel both nodes share (their network traffic, their locks). The phase before it has no build but keeps both cores of that idle machine busy: what sharing the cores costs by itself, however the kernel ranks it. The CPU column is the whole machine's over each phase (both nodes, from /proc/stat): user code, the kernel working for processes (system calls, page faults), interrupts, idle.`,
    '',
    '| phase | requests | failed | p50 | p99 | max | p99 ÷ no build | builds (push time) | the bench process’s event loop delay p99 / max | the machine’s CPU: user / kernel / irq / idle (cores) | goal: cluster p99 within 10 % of no build |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `With the second node's machine idle to this one's CPU, the builds' p99 is ${(ownBuilds.p99 / busy.p99).toFixed(2)}× that of the same machine kept busy with no build: what the builds cost the app beyond sharing this machine's cores.`,
    '',
    `"p99 ÷ no build" divides by the p99 of both no-build phases together (${ms(idleP99)}). The two no-build phases' own p99s differ by ${noise.toFixed(0)} %: a difference in p99 smaller than that is within this machine's noise.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(import.meta.dirname, 'results', 'build-load.md'), `# Build load bench\n\n${lines.join('\n')}\n\nCommand: \`bin/slipway-server bench/build-load.ts\` (part of \`npm run bench\` with the two-node testbed up)\n`);
} finally {
  for (const s of servers) await s.close();
  if (appServer) {
    await appServer.ssh(appServer.admin, `apps:destroy ${APP} --confirm ${APP}`).catch(() => undefined);
    await appServer.close();
  }
  await markBuildNode(false).catch(() => undefined);
}
