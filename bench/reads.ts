// Reads under load on the real Kubernetes deployer (issue 36): a real Slipway server process (as
// `npm start` runs it: bin/slipway-server and the built server, dist/server.mjs) on the testbed's pack, registry and
// two-node cluster, with BENCH_READS_APPS apps (default 50) each running one web instance (one
// build, then apps:promote to the others: same image, no more builds). Its kubeconfig points at a
// counting proxy in front of the API server (test/support/kube-proxy.ts), which counts every
// request Slipway sends to Kubernetes.
//   1. idle: the server's RSS after a restart with the apps in place (no reads yet), then after
//      the first read filled the caches;
//   2. mixed reads (apps, an app, its config, releases, jobs; the app changes every five)
//      paced open loop at 100/s for 20 s, then at BENCH_READS_RATE (500)/s for
//      BENCH_READS_SECONDS (60) s: errors, p50/p99 from each request's scheduled time, the
//      server's peak RSS, and the API requests Slipway sent per second during each (watches apart):
//      goals 0 errors, p99 <= 50 ms, peak <= 200 MiB, API requests independent of the read rate;
//   3. after the load: the RSS every second for a minute: goal back under 160 MiB within it.
// Writes results/reads.md. Bounded: setup waits at most 15 min, every phase is timed.
//   eval "$(npm run -s testbed)"; node bench/reads.ts
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from '../server/exec.ts';
import { clusterEnv, fixtureCopy, registryAuthEnv } from '../test/support/testbed.ts';
import { startKubeProxy } from '../test/support/kube-proxy.ts';
import { ApiClient } from './api-client.ts';
import { isolatedGitEnv } from './fixtures.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';
import { freePort, must, rssMiB, startSlipway, type BenchSlipway } from './slipway.ts';
import { percentile } from './stats.ts';
import { parsePrometheus } from '../server/deploy/ingress-metrics.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SETTINGS = Object.freeze({
  apps: Math.min(Number(benchEnv.BENCH_READS_APPS || 50), 100),
  rate: Math.min(Number(benchEnv.BENCH_READS_RATE || 500), 2000),
  seconds: Math.min(Number(benchEnv.BENCH_READS_SECONDS || 60), 120),
  out: resolve(import.meta.dirname, 'results', 'reads.md'),
  ...pushTestbed,
});
requireTestbed('reads.ts', pushTestbed);
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const mib = (x: number) => `${x.toFixed(1)} MiB`;

const tmp = mkdtempSync(join(tmpdir(), 'slipway-reads-bench-'));
mkdirSync(join(tmp, 'home'));
const gitEnv = isolatedGitEnv(join(tmp, 'home'));
const key = join(tmp, 'key');
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]));
const sshOpts = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
const proxy = await startKubeProxy(SETTINGS.kubeconfig, join(tmp, 'proxy.kubeconfig'));
const APPS = Array.from({ length: SETTINGS.apps }, (_, i) => `reads-${String(i).padStart(2, '0')}`);
const env = {
  HOME: join(tmp, 'home'),
  KUBECONFIG: proxy.kubeconfig, SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, SLIPWAY_PACK: SETTINGS.pack, DOCKER_HOST: SETTINGS.dockerHost,
  SLIPWAY_BASE_DOMAIN: 'reads.bench', SLIPWAY_ROLLOUT_TIMEOUT_S: '600', SLIPWAY_GC_INTERVAL_S: '0',
  ...clusterEnv(), ...registryAuthEnv(),
  ...Object.fromEntries(['SLIPWAY_REGISTRY_PULL', 'SLIPWAY_INGRESS_CLASS'].filter((k) => benchEnv[k]).map((k) => [k, benchEnv[k]!])),
};
// The built server, as bin/slipway-server runs it (built now, so it is this checkout's). It prints
// no ready line: it gets its ports, and is ready once both accept connections.
await must('build the server', run(process.execPath, [join(ROOT, 'scripts', 'build-server.ts')]));
const ports = { ssh: await freePort(), http: await freePort() };
const start = () => startSlipway({ root: ROOT, dataDir: join(tmp, 'data'), adminKeys: `${key}.pub`, script: join(ROOT, 'dist', 'server.mjs'), extraEnv: env, ports });
/** API requests Slipway sent so far that are not watches. */
const apiRequests = () => proxy.nonWatch();

interface LoadResult { sent: number; errors: number; kinds: Map<string, number>; latencies: number[]; wallMs: number; peakRss: number; apiPerSecond: number; server?: ServerSide }

/** The server's own view of a load (its /metrics, read before and after): its event loop's delay and its garbage collections. */
interface ServerSide { lagP99Ms: number; lagMaxMs: number; gc: { kind: string; count: number; ms: number }[] }

/** prom-client's figures that matter here, from one read of /metrics (the event loop's are since the read before). */
async function serverMetrics(port: number, token: string): Promise<{ lagP99: number; lagMax: number; gc: Map<string, { count: number; sum: number }> }> {
  const lines = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text());
  const value = (name: string) => lines.find((l) => l.name === name)?.value ?? Number.NaN;
  const gc = new Map<string, { count: number; sum: number }>();
  for (const l of lines) {
    const field = l.name === 'nodejs_gc_duration_seconds_count' ? 'count' : l.name === 'nodejs_gc_duration_seconds_sum' ? 'sum' : undefined;
    if (!field || !l.labels.kind) continue;
    const e = gc.get(l.labels.kind) ?? { count: 0, sum: 0 };
    e[field] = l.value;
    gc.set(l.labels.kind, e);
  }
  return { lagP99: value('nodejs_eventloop_lag_p99_seconds'), lagMax: value('nodejs_eventloop_lag_max_seconds'), gc };
}

/** What the server saw between two reads of its metrics. */
function serverSide(a: Awaited<ReturnType<typeof serverMetrics>>, b: Awaited<ReturnType<typeof serverMetrics>>): ServerSide {
  return {
    lagP99Ms: b.lagP99 * 1000, lagMaxMs: b.lagMax * 1000,
    gc: [...b.gc].map(([kind, e]) => ({ kind, count: e.count - (a.gc.get(kind)?.count ?? 0), ms: (e.sum - (a.gc.get(kind)?.sum ?? 0)) * 1000 })).filter((x) => x.count > 0),
  };
}

/** Reads paced open loop at `rate` for `seconds` over `paths`; latency from each request's scheduled time. */
async function load(server: BenchSlipway, api: ApiClient, paths: readonly string[], rate: number, seconds: number): Promise<LoadResult> {
  const total = rate * seconds;
  const r: LoadResult = { sent: 0, errors: 0, kinds: new Map(), latencies: [], wallMs: 0, peakRss: 0, apiPerSecond: 0 };
  const fail = (kind: string) => { r.errors++; r.kinds.set(kind, (r.kinds.get(kind) ?? 0) + 1); };
  const sampler = setInterval(() => { r.peakRss = Math.max(r.peakRss, rssMiB(server.pid).rss); }, 100);
  const before = apiRequests();
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (r.sent < total && t0 + (r.sent * 1000) / rate <= now) {
        const due = t0 + (r.sent * 1000) / rate;
        const path = paths[r.sent % paths.length]!;
        r.sent++;
        pending.push(api.call('GET', path).then(
          (a) => { if (a.status === 200) r.latencies.push(performance.now() - due); else fail(`HTTP ${a.status}`); },
          (err: Error) => fail(err.message),
        ));
      }
      if (r.sent < total && now - t0 < seconds * 1000 + 120_000) setTimeout(tick, 5);
      else done();
    };
    tick();
  });
  await Promise.all(pending);
  r.wallMs = performance.now() - t0;
  clearInterval(sampler);
  r.peakRss = Math.max(r.peakRss, rssMiB(server.pid).rss);
  r.apiPerSecond = ((apiRequests() - before) * 1000) / r.wallMs;
  return r;
}

let server = await start();
const ssh = (cmd: string): Promise<RunResult> => must(cmd, run('ssh', [...sshOpts, '-p', String(server.ssh), 'git@127.0.0.1', cmd]));
const report: string[] = [];
let idle = { start: 0, filled: 0 };
let low: LoadResult | undefined;
let high: LoadResult | undefined;
const afterRss: number[] = [];
try {
  const token = (await ssh('tokens:create reads --scope admin')).stdout.split('\n')[1]!.trim();
  say(`setting up ${APPS.length} apps: one build, then a promotion to the others`);
  const t0 = performance.now();
  for (const app of APPS) await ssh(`apps:create ${app}`);
  const wd = fixtureCopy('node-app');
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'reads bench']]) await must(`git ${args[0]}`, run('git', args, { cwd: wd, env: gitEnv }));
  await must('push', run('git', ['push', '-q', `ssh://git@127.0.0.1:${server.ssh}/${APPS[0]}.git`, 'main'], { cwd: wd, env: { ...gitEnv, GIT_SSH_COMMAND: ['ssh', ...sshOpts].join(' ') } }));
  const others = APPS.slice(1);
  // In groups, so the two nodes start a few pods at a time rather than all at once.
  for (let i = 0; i < others.length; i += 10) {
    const group = others.slice(i, i + 10).join(',');
    await ssh(`apps:promote ${APPS[0]} --to ${group} --confirm ${group}`);
  }
  const api = new ApiClient(server.http, token, 64);
  for (;;) {
    const list = JSON.parse((await api.call('GET', '/apps')).body) as { name: string; processes: { running: number } }[];
    const up = list.filter((a) => APPS.includes(a.name) && a.processes.running >= 1).length;
    if (up === APPS.length) break;
    if (performance.now() - t0 > 15 * 60_000) throw new Error(`only ${up} of ${APPS.length} apps run after 15 min`);
    await sleep(2000);
  }
  api.close();
  say(`set up in ${((performance.now() - t0) / 1000).toFixed(0)} s; restarting the server for the idle measure`);

  await server.stop();
  server = await start();
  await sleep(10_000);
  idle.start = rssMiB(server.pid).rss;
  const reader = new ApiClient(server.http, token, 64);
  await reader.call('GET', '/apps');
  await reader.call('GET', `/apps/${APPS[0]}/processes`);
  await sleep(10_000);
  idle.filled = rssMiB(server.pid).rss;

  const paths = APPS.flatMap((app) => ['/apps', `/apps/${app}`, `/apps/${app}/config`, `/apps/${app}/releases`, `/apps/${app}/jobs`]);
  say('reads at 100/s for 20 s');
  low = await load(server, reader, paths, 100, 20);
  say(`reads at ${SETTINGS.rate}/s for ${SETTINGS.seconds} s`);
  const metricsBefore = await serverMetrics(server.http, token);
  high = await load(server, reader, paths, SETTINGS.rate, SETTINGS.seconds);
  high.server = serverSide(metricsBefore, await serverMetrics(server.http, token));
  reader.close();
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    afterRss.push(rssMiB(server.pid).rss);
  }
} finally {
  say('destroying the apps');
  for (let i = 0; i < APPS.length; i += 10) {
    await Promise.all(APPS.slice(i, i + 10).map((app) => run('ssh', [...sshOpts, '-p', String(server.ssh), 'git@127.0.0.1', `apps:destroy ${app} --confirm ${app}`])));
  }
  await server.stop();
  await proxy.close();
  rmSync(tmp, { recursive: true, force: true });
}

const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const backAt = afterRss.findIndex((x) => x < 160);
const row = (name: string, r: LoadResult) =>
  `| ${name} | ${r.errors} of ${r.sent}${r.errors ? ` (${[...r.kinds].map(([k, n]) => `${k}: ${n}`).join('; ')})` : ''} | ${ms(percentile(r.latencies, 50))} / ${ms(percentile(r.latencies, 99))} | ${((r.sent / r.wallMs) * 1000).toFixed(0)}/s | ${mib(r.peakRss)} | ${r.apiPerSecond.toFixed(2)}/s |`;
report.push(
  '# Reads under load, real Kubernetes deployer',
  '',
  `${new Date().toISOString().slice(0, 10)}, \`node bench/reads.ts\` on the testbed (two nodes). A real Slipway server process (bin/slipway-server dist/server.mjs), ${APPS.length} apps each running one web instance of test/fixtures/node-app; its Kubernetes API requests counted by a proxy in front of the API server. Mixed reads: apps, an app, its config, releases, jobs. Machine: 2 shared cores, the cluster on the same machine.`,
  '',
  '| load | errors | p50 / p99 | achieved | peak RSS | API requests from Slipway (not watches) |',
  '|---|---|---|---|---|---|',
  row('100/s for 20 s', low!),
  row(`${SETTINGS.rate}/s for ${SETTINGS.seconds} s`, high!),
  '',
  '| goal | measured | met? |',
  '|---|---|---|',
  `| 0 errors at ${SETTINGS.rate}/s | ${high!.errors} | ${yes(high!.errors === 0)} |`,
  `| p99 ≤ 50 ms at ${SETTINGS.rate}/s | ${ms(percentile(high!.latencies, 99))} | ${yes(percentile(high!.latencies, 99) <= 50)} |`,
  `| API requests independent of the read rate | ${low!.apiPerSecond.toFixed(2)}/s at 100 reads/s, ${high!.apiPerSecond.toFixed(2)}/s at ${SETTINGS.rate}/s | ${yes(high!.apiPerSecond <= low!.apiPerSecond + 0.5)} |`,
  `| peak RSS ≤ 200 MiB | ${mib(high!.peakRss)} | ${yes(high!.peakRss <= 200)} |`,
  `| back under 160 MiB within a minute after | ${backAt < 0 ? `no: ${mib(afterRss.at(-1)!)} after 60 s` : `after ${backAt + 1} s (${mib(afterRss[backAt]!)}); ${mib(afterRss.at(-1)!)} after 60 s`} | ${yes(backAt >= 0)} |`,
  `| idle RSS after start-up with ${APPS.length} apps ≤ 120 MiB | ${mib(idle.start)} (no reads yet); ${mib(idle.filled)} once the caches were filled | ${yes(idle.start <= 120)} |`,
  '',
  `The server's own view of the ${SETTINGS.rate}/s load (its /metrics before and after; prom-client): event loop delay p99 ${ms(high!.server!.lagP99Ms)}, max ${ms(high!.server!.lagMaxMs)}; garbage collections ${high!.server!.gc.map((g) => `${g.kind} ${g.count} (${ms(g.ms)} in all)`).join(', ') || 'none'}. A request's time in the table is from when the load meant to send it, so a stall of the server's event loop shows in it whole.`,
  '',
  `API requests by kind over the whole run, setup included: ${[...proxy.counts()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}.`,
  '',
);
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report.join('\n'));
process.stdout.write(report.join('\n'));
