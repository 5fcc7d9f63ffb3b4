// HTTP API bench: the API beside the SSH commands it stands in for.
//   (a) `GET /api/v1/apps` on a kept-alive connection vs `ssh … apps:list` (the real OpenSSH
//       client, a new connection each time, as a user types it): goal ≤ 0.1×;
//   (b) mixed reads (apps, an app, its config, releases, jobs) paced open-loop at 500 requests/s
//       for 30 s, exactly 15,000 requests: errors, p50/p99 from each request's scheduled time (a
//       slow answer delays no later request), the server's peak RSS: goals 0, ≤ 50 ms, ≤ 150 MB;
//   (c) `PATCH /api/v1/apps/APP/config` until the job's SSE `end` event says `succeeded` vs
//       `ssh … config:set APP K=V`: goal within 10 %. On the testbed's real pack and Kubernetes
//       (a real rollout each time) when it is up, else on the fake deployer; the table says which.
// (a) and (b) run the server in its own process as `npm start` does (bin/slipway-server, with the
// test fakes as builder and deployer), so its RSS is the server's alone.
//   node bench/api.ts     (BENCH_API_ROUNDS=10, BENCH_API_RATE=500, BENCH_API_SECONDS=30, BENCH_API_CHANGES=10)
// BENCH_API_PARTS=b (any of a, b, c) runs only those parts and prints their rows without
// rewriting results/api.md, which holds the three parts of one full run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeClient } from '../server/kube/client.ts';
import type { V1Pod } from '../server/kube/types.ts';
import { run, type RunResult } from '../server/exec.ts';
import { startTestServer, type TestServer } from '../test/support/harness.ts';
import { startOnTestbed } from '../test/support/on-testbed.ts';
import { fixtureCopy, testbedEnv } from '../test/support/testbed.ts';
import { ApiClient } from './api-client.ts';
import { isolatedGitEnv } from './fixtures.ts';
import { benchEnv } from './settings.ts';
import { must, rssMiB, startSlipway } from './slipway.ts';
import { median, percentile } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
// Every knob the bench reads, read once here; each is bounded so a typo cannot run for hours.
const SETTINGS = Object.freeze({
  rounds: Math.min(Number(benchEnv.BENCH_API_ROUNDS || 10), 100),
  rate: Math.min(Number(benchEnv.BENCH_API_RATE || 500), 2000),
  seconds: Math.min(Number(benchEnv.BENCH_API_SECONDS || 30), 120),
  changes: Math.min(Number(benchEnv.BENCH_API_CHANGES || 10), 30),
  parts: parseParts(benchEnv.BENCH_API_PARTS || 'abc'),
  out: resolve(import.meta.dirname, 'results', 'api.md'),
});
/** The parts named in BENCH_API_PARTS; anything but the letters a, b and c is a typo and stops the bench. */
function parseParts(spec: string): { a: boolean; b: boolean; c: boolean; all: boolean } {
  if (!/^[abc]+$/.test(spec)) throw new Error(`BENCH_API_PARTS must be some of the letters a, b and c (as in "b" or "ab"), not "${spec}"`);
  const parts = { a: spec.includes('a'), b: spec.includes('b'), c: spec.includes('c') };
  return { ...parts, all: parts.a && parts.b && parts.c };
}
const TESTBED_NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const sec = (x: number) => `${(x / 1000).toFixed(2)} s`;



const tmp = mkdtempSync(join(tmpdir(), 'slipway-api-bench-'));
const gitEnv = isolatedGitEnv(join(tmp, 'home'));
mkdirSync(join(tmp, 'home'));
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'key')]));
const sshTo = (port: number, key: string) => (cmd: string) => must(cmd, run('ssh', ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-p', String(port), 'git@127.0.0.1', cmd]));
/** `tokens:create` prints the token alone on its second line. */
const tokenFrom = (r: RunResult) => r.stdout.split('\n')[1]!.trim();

// --- (a) and (b): a server in its own process, as npm start runs it. ---
const APPS = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
const listing: { api: number[]; ssh: number[] } = { api: [], ssh: [] };
const load = { latencies: [] as number[], errors: 0, errorKinds: new Map<string, number>(), sent: 0, wallMs: 0, peakRss: 0, hwm: 0, idleRss: 0 };
const server = await startSlipway({ root: ROOT, dataDir: join(tmp, 'data'), adminKeys: join(tmp, 'key.pub') });
try {
  const ssh = sshTo(server.ssh, join(tmp, 'key'));
  const token = tokenFrom(await ssh('tokens:create bench --scope admin'));
  // Each app has a release (a push through the fake builder), a config var and so a few jobs.
  const wd = join(tmp, 'work');
  mkdirSync(wd);
  await must('git init', run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env: gitEnv }));
  writeFileSync(join(wd, 'index.js'), 'console.log("bench")\n');
  await must('git add', run('git', ['add', '-A'], { cwd: wd, env: gitEnv }));
  await must('git commit', run('git', ['commit', '-q', '-m', 'bench'], { cwd: wd, env: gitEnv }));
  for (const app of APPS) {
    await ssh(`apps:create ${app}`);
    await must(`push ${app}`, run('git', ['push', '-q', `http://x:${token}@127.0.0.1:${server.http}/${app}.git`, 'main'], { cwd: wd, env: gitEnv }));
    await ssh(`config:set ${app} GREETING=hello`);
  }
  const api = new ApiClient(server.http, token, 64);
  await api.json<unknown[]>('GET', '/apps', 200);

  if (SETTINGS.parts.a) {
    say(`(a) ${SETTINGS.rounds} interleaved rounds: 50 × GET /api/v1/apps on one kept-alive connection, 2 × ssh apps:list`);
    const one = new ApiClient(server.http, token, 1);
    for (let i = 0; i < 20; i++) await one.call('GET', '/apps');
    for (let r = 0; r < SETTINGS.rounds; r++) {
      for (let i = 0; i < 50; i++) {
        const a = await one.call('GET', '/apps');
        if (a.status !== 200) throw new Error(`GET /apps answered ${a.status}: ${a.body}`);
        listing.api.push(a.ms);
      }
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await ssh('apps:list');
        listing.ssh.push(performance.now() - t0);
      }
    }
    one.close();
  }

  if (SETTINGS.parts.b) {
    const total = SETTINGS.rate * SETTINGS.seconds;
    say(`(b) ${total} mixed reads paced at ${SETTINGS.rate}/s (open loop)`);
    const paths = APPS.flatMap((app) => ['/apps', `/apps/${app}`, `/apps/${app}/config`, `/apps/${app}/releases`, `/apps/${app}/jobs`]);
    await new Promise((r) => setTimeout(r, 2000));
    load.idleRss = rssMiB(server.pid).rss;
    const sampler = setInterval(() => { load.peakRss = Math.max(load.peakRss, rssMiB(server.pid).rss); }, 100);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    const fail = (kind: string) => { load.errors++; load.errorKinds.set(kind, (load.errorKinds.get(kind) ?? 0) + 1); };
    // Every 5 ms, send what is due: request i is due at t0 + i / rate, whatever earlier answers do.
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now();
        while (load.sent < total && t0 + (load.sent * 1000) / SETTINGS.rate <= now) {
          const due = t0 + (load.sent * 1000) / SETTINGS.rate;
          const path = paths[load.sent % paths.length]!;
          load.sent++;
          pending.push(api.call('GET', path).then(
            (a) => { if (a.status === 200) load.latencies.push(performance.now() - due); else fail(`HTTP ${a.status}`); },
            (err: Error) => fail(err.message),
          ));
        }
        if (load.sent < total) setTimeout(tick, 5);
        else done();
      };
      tick();
    });
    await Promise.all(pending);
    load.wallMs = performance.now() - t0;
    clearInterval(sampler);
    const m = rssMiB(server.pid);
    load.peakRss = Math.max(load.peakRss, m.rss);
    load.hwm = m.hwm;
  }
  api.close();
} finally {
  await server.stop();
}

// --- (c): a config change through the API vs over SSH, both to the end of the rollout. ---
const tb = testbedEnv(TESTBED_NEEDS);
const where = tb ? 'testbed: real pack, registry, Kubernetes node (each change is a real rollout)' : 'fake deployer (the testbed is not up: eval "$(npm run -s testbed)" for real rollouts)';
const change: { api: number[]; ssh: number[] } = { api: [], ssh: [] };
let s: TestServer | undefined;
const APP = `bench-api-${Date.now().toString(36)}`;
if (SETTINGS.parts.c) {
  try {
    say(`(c) ${SETTINGS.changes} interleaved rounds of PATCH …/config → job succeeded, and ssh config:set; ${where}`);
    s = tb
      ? (await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'api.bench', SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: 15 * 60_000 })).server
      : await startTestServer();
    const ssh = async (cmd: string) => {
      const r = await s!.ssh(s!.admin, cmd);
      if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
      return r;
    };
    await ssh(`apps:create ${APP}`);
    const wd = tb ? fixtureCopy('node-app') : await s.workRepo({ 'index.js': 'console.log("bench")\n' });
    if (tb) await s.commitAll(wd, 'api bench');
    const pushed = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    if (pushed.exitCode !== 0) throw new Error(`push failed: ${pushed.stderr}`);
    const api = new ApiClient(s.slipway.httpPort, tokenFrom(await ssh('tokens:create bench-change --scope admin')), 4);
    // A rollout waits while the app's old pods terminate (they count against its quota), so each
    // change starts once the previous one's pods are gone, and the two sides take turns going first.
    const kube = tb ? new KubeClient(tb.KUBECONFIG!) : undefined;
    const settle = async () => {
      for (let i = 0; kube && i < 600; i++) {
        const pods = await kube.list<V1Pod>('v1', 'Pod', `slipway-${APP}`);
        if (!pods.some((p) => p.metadata?.deletionTimestamp)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const viaApi = async (r: number) => {
      await settle();
      const t0 = performance.now();
      const accepted = await api.json<{ job: { id: string } }>('PATCH', `/apps/${APP}/config`, 202, { set: { ROUND: `api-${r}` } });
      const { job } = await api.jobEvents(accepted.job.id);
      if (job.status !== 'succeeded') throw new Error(`job ${accepted.job.id} ended ${job.status}`);
      change.api.push(performance.now() - t0);
    };
    const viaSsh = async (r: number) => {
      await settle();
      const t0 = performance.now();
      await ssh(`config:set ${APP} ROUND=ssh-${r}`);
      change.ssh.push(performance.now() - t0);
    };
    for (let r = 0; r < SETTINGS.changes; r++) {
      for (const side of r % 2 ? [viaSsh, viaApi] : [viaApi, viaSsh]) await side(r);
      say(`(c) round ${r + 1}: API ${sec(change.api.at(-1)!)}, SSH ${sec(change.ssh.at(-1)!)}`);
    }
    api.close();
  } finally {
    if (s) {
      await s.ssh(s.admin, `apps:destroy ${APP} --confirm ${APP}`).catch(() => undefined);
      await s.close();
    }
  }
}
rmSync(tmp, { recursive: true, force: true });

const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const apiList = median(listing.api);
const sshList = median(listing.ssh);
const p50 = percentile(load.latencies, 50);
const p99 = percentile(load.latencies, 99);
// A rollout ends on a beat of the new pod's readiness probe, so single changes take about 1.4 s
// or about 2.5-3.5 s on either side: the mean over the rounds compares them, not the median.
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const apiChange = mean(change.api);
const sshChange = mean(change.ssh);
// A partial run (BENCH_API_PARTS) reports its own parts only, and leaves results/api.md as it is.
const P = SETTINGS.parts;
const report = [
  '# HTTP API bench',
  '',
  `${new Date().toISOString().slice(0, 10)}, \`node bench/api.ts\`. Machine: 2 shared cores; client and server on loopback. (a) and (b): the server in its own process as \`npm start\` runs it (bin/slipway-server), fake builder and deployer, ${APPS.length} apps each with a release, a config var and jobs. (c): ${where}.`,
  '',
  ...(P.a || P.c ? [
    '| measure | API | SSH | ratio | goal | met? |',
    '|---|---|---|---|---|---|',
    ...(P.a ? [
      `| (a) list apps: \`GET /api/v1/apps\` (kept-alive connection) vs \`ssh … apps:list\` (OpenSSH client), medians of ${listing.api.length} and ${listing.ssh.length} | ${ms(apiList)} | ${ms(sshList)} | ${ratio(apiList, sshList)} | ≤ 0.1× | ${yes(apiList / sshList <= 0.1)} |`,
    ] : []),
    ...(P.c ? [
      `| (c) change a config var until rolled out: \`PATCH …/config\` → the job's SSE \`end\` (succeeded) vs \`ssh … config:set\`, means of ${change.api.length} rounds, taking turns, each change once the previous one's old pods are gone | ${sec(apiChange)} | ${sec(sshChange)} | ${ratio(apiChange, sshChange)} | ≤ 1.1× | ${yes(apiChange / sshChange <= 1.1)} |`,
      `| (c) the same, medians / fastest round | ${sec(median(change.api))} / ${sec(Math.min(...change.api))} | ${sec(median(change.ssh))} / ${sec(Math.min(...change.ssh))} | ${ratio(median(change.api), median(change.ssh))} / ${ratio(Math.min(...change.api), Math.min(...change.ssh))} | | |`,
    ] : []),
    '',
  ] : []),
  ...(P.b ? [
    `(b) ${load.sent} mixed reads (apps, an app, its config, releases, jobs) paced open-loop at ${SETTINGS.rate}/s over ${SETTINGS.seconds} s, one keep-alive pool of 64 connections; latency counted from each request's scheduled time:`,
    '',
    '| measure | result | goal | met? |',
    '|---|---|---|---|',
    `| errors (non-200 or failed requests) | ${load.errors} of ${load.sent}${load.errors ? ` (${[...load.errorKinds].map(([k, n]) => `${k}: ${n}`).join('; ')})` : ''} | 0 | ${yes(load.errors === 0)} |`,
    `| latency p50 / p99 | ${ms(p50)} / ${ms(p99)} | p99 ≤ 50 ms | ${yes(p99 <= 50)} |`,
    `| achieved rate | ${((load.sent / load.wallMs) * 1000).toFixed(0)} requests/s over ${sec(load.wallMs)} | ${SETTINGS.rate}/s | |`,
    `| server RSS: before the run / peak during it (sampled every 100 ms) / VmHWM since start | ${load.idleRss.toFixed(1)} / ${load.peakRss.toFixed(1)} / ${load.hwm.toFixed(1)} MiB | peak ≤ 150 MB (143 MiB) | ${yes(load.peakRss <= 143)} |`,
    '',
  ] : []),
  ...(P.a || P.c ? [
    [P.a ? `(a) each: API ${ms(Math.min(...listing.api))} – ${ms(Math.max(...listing.api))}; SSH ${ms(Math.min(...listing.ssh))} – ${ms(Math.max(...listing.ssh))}.` : '', P.c ? `(c) each round: API ${change.api.map(sec).join(', ')}; SSH ${change.ssh.map(sec).join(', ')}.` : ''].filter(Boolean).join(' '),
    '',
  ] : []),
].join('\n');
if (P.all) {
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(SETTINGS.out, report);
}
process.stdout.write(report);
