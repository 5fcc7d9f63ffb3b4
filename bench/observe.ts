// Platform metrics bench (GET /metrics, docs/monitoring.md): what a scrape costs, and whether
// scraping changes the API's latency under load.
//   (a) scrapes one after another on a kept-alive connection with an admin's token: latency
//       p50/p99, the answer's size and its series (read with the parser Prometheus itself uses);
//   (b) mixed API reads paced open-loop at BENCH_OBSERVE_RATE/s for BENCH_OBSERVE_SECONDS, four
//       runs taking turns: without scrapes, with a scrape every second (15× Prometheus's default
//       interval), without, with (so the machine's drift shows); errors and p50/p99 of each.
// The server runs in its own process as `npm start` runs it (bin/slipway-server), with the test
// fakes as builder and deployer, and BENCH_OBSERVE_APPS apps, each pushed and configured.
//   node bench/observe.ts     (BENCH_OBSERVE_APPS=50, BENCH_OBSERVE_SCRAPES=500, BENCH_OBSERVE_RATE=200, BENCH_OBSERVE_SECONDS=15)
// Writes the "## Platform metrics" section of bench/results/observe.md (other sections stay).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run, type RunResult } from '../server/exec.ts';
import { parseExposition } from '../test/support/prom-text.ts';
import { ApiClient } from './api-client.ts';
import { isolatedGitEnv } from './fixtures.ts';
import { benchEnv } from './settings.ts';
import { must, rssMiB, startSlipway } from './slipway.ts';
import { median, percentile } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
// Every knob, read once and bounded so a typo cannot run for hours.
const SETTINGS = Object.freeze({
  apps: Math.min(Number(benchEnv.BENCH_OBSERVE_APPS || 50), 200),
  scrapes: Math.min(Number(benchEnv.BENCH_OBSERVE_SCRAPES || 500), 5000),
  rate: Math.min(Number(benchEnv.BENCH_OBSERVE_RATE || 200), 2000),
  seconds: Math.min(Number(benchEnv.BENCH_OBSERVE_SECONDS || 15), 120),
  out: resolve(import.meta.dirname, 'results', 'observe.md'),
});
const HEADING = '## Platform metrics';
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

const tmp = mkdtempSync(join(tmpdir(), 'slipway-observe-bench-'));
const gitEnv = isolatedGitEnv(join(tmp, 'home'));
mkdirSync(join(tmp, 'home'));
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'key')]));
const ssh = (port: number) => (cmd: string) => must(cmd, run('ssh', ['-i', join(tmp, 'key'), '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-p', String(port), 'git@127.0.0.1', cmd]));
const tokenFrom = (r: RunResult) => r.stdout.split('\n')[1]!.trim();

/** One GET /metrics on a kept-alive agent: status, bytes and milliseconds to the last byte. */
function scrape(port: number, agent: Agent, token: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface LoadRun { name: string; latencies: number[]; errors: Map<string, number>; scrapes: number[]; wallMs: number; peakRss: number; cpuMs: number }

/** CPU time (user + system) the process has used, in ms, from /proc/PID/stat (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Counts one failure of `kind` in the run. */
function failed(r: LoadRun, kind: string): void {
  r.errors.set(kind, (r.errors.get(kind) ?? 0) + 1);
}

const scrapeMs: number[] = [];
let scrapeCpuMs = 0;
let size = { bytes: 0, families: 0, series: 0 };
const runs: LoadRun[] = [];
let idleRss = 0;
const server = await startSlipway({ root: ROOT, dataDir: join(tmp, 'data'), adminKeys: join(tmp, 'key.pub') });
try {
  const sh = ssh(server.ssh);
  const token = tokenFrom(await sh('tokens:create bench --scope admin'));
  const wd = join(tmp, 'work');
  mkdirSync(wd);
  await must('git init', run('git', ['init', '-q', '-b', 'main'], { cwd: wd, env: gitEnv }));
  writeFileSync(join(wd, 'index.js'), 'console.log("bench")\n');
  await must('git add', run('git', ['add', '-A'], { cwd: wd, env: gitEnv }));
  await must('git commit', run('git', ['commit', '-q', '-m', 'bench'], { cwd: wd, env: gitEnv }));
  const apps = Array.from({ length: SETTINGS.apps }, (_, i) => `obs-${i}`);
  say(`${apps.length} apps, each created, pushed and configured`);
  for (const app of apps) {
    await sh(`apps:create ${app}`);
    await must(`push ${app}`, run('git', ['push', '-q', `http://x:${token}@127.0.0.1:${server.http}/${app}.git`, 'main'], { cwd: wd, env: gitEnv }));
    await sh(`config:set ${app} GREETING=hello`);
  }
  // 63 connections for the API and one for the scrapes: the server's cap per source address is 64.
  const api = new ApiClient(server.http, token, 63);
  const paths = apps.slice(0, 4).flatMap((app) => ['/apps', `/apps/${app}`, `/apps/${app}/config`, `/apps/${app}/releases`, `/apps/${app}/jobs`]);
  for (const p of paths) await api.json('GET', p, 200);

  // (a) scrapes one after another.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 20; i++) await scrape(server.http, agent, token);
  say(`(a) ${SETTINGS.scrapes} scrapes`);
  let last = '';
  const cpu0 = cpuMs(server.pid);
  for (let i = 0; i < SETTINGS.scrapes; i++) {
    const r = await scrape(server.http, agent, token);
    if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${r.text}`);
    scrapeMs.push(r.ms);
    last = r.text;
  }
  scrapeCpuMs = (cpuMs(server.pid) - cpu0) / SETTINGS.scrapes;
  const families = parseExposition(last);
  size = { bytes: Buffer.byteLength(last), families: families.size, series: last.split('\n').filter((l) => l && !l.startsWith('#')).length };

  // (b) the API under load, without and with scrapes.
  await new Promise((r) => setTimeout(r, 2000));
  idleRss = rssMiB(server.pid).rss;
  for (const [name, everyMs] of [['no scrapes', 0], ['a scrape every 1 s', 1000], ['no scrapes', 0], ['a scrape every 1 s', 1000]] as const) {
    const total = SETTINGS.rate * SETTINGS.seconds;
    say(`(b) ${total} mixed reads at ${SETTINGS.rate}/s, ${name}`);
    const r: LoadRun = { name, latencies: [], errors: new Map(), scrapes: [], wallMs: 0, peakRss: 0, cpuMs: 0 };
    const cpuStart = cpuMs(server.pid);
    const sampler = setInterval(() => { r.peakRss = Math.max(r.peakRss, rssMiB(server.pid).rss); }, 100);
    const scraper = everyMs ? setInterval(() => {
      void scrape(server.http, agent, token).then((a) => { if (a.status === 200) r.scrapes.push(a.ms); else failed(r, `scrape HTTP ${a.status}`); }, (err: Error) => failed(r, `scrape: ${err.message}`));
    }, everyMs) : undefined;
    const pending: Promise<void>[] = [];
    let sent = 0;
    const t0 = performance.now();
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now();
        while (sent < total && t0 + (sent * 1000) / SETTINGS.rate <= now) {
          const due = t0 + (sent * 1000) / SETTINGS.rate;
          const path = paths[sent % paths.length]!;
          sent++;
          pending.push(api.call('GET', path).then((a) => { if (a.status === 200) r.latencies.push(performance.now() - due); else failed(r, `HTTP ${a.status}`); }, (err: Error) => failed(r, err.message)));
        }
        if (sent < total) setTimeout(tick, 5);
        else done();
      };
      tick();
    });
    await Promise.all(pending);
    r.wallMs = performance.now() - t0;
    r.cpuMs = cpuMs(server.pid) - cpuStart;
    clearInterval(sampler);
    if (scraper) clearInterval(scraper);
    runs.push(r);
    await new Promise((res) => setTimeout(res, 2000));
  }
  api.close();
  agent.destroy();
} finally {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const section = [
  HEADING,
  '',
  `${date}, \`node bench/observe.ts\`. Machine: 2 shared cores; client and server on loopback. The server in its own process as \`npm start\` runs it (bin/slipway-server), fake builder and deployer, ${SETTINGS.apps} apps each pushed and configured (so the scrape lists ${SETTINGS.apps} apps' process counts, jobs and API routes). Idle RSS before the load: ${idleRss.toFixed(1)} MiB.`,
  '',
  `(a) ${SETTINGS.scrapes} scrapes of \`GET /metrics\` one after another on a kept-alive connection, with an admin's token:`,
  '',
  '| measure | result |',
  '|---|---|',
  `| latency p50 / p99 / max | ${ms(median(scrapeMs))} / ${ms(percentile(scrapeMs, 99))} / ${ms(Math.max(...scrapeMs))} |`,
  `| the server's CPU per scrape (user + system, /proc) | ${ms(scrapeCpuMs)} |`,
  `| answer | ${(size.bytes / 1024).toFixed(1)} KiB: ${size.families} families, ${size.series} sample lines (parsed with Prometheus's own parser) |`,
  '',
  `(b) ${SETTINGS.rate * SETTINGS.seconds} mixed API reads (apps, an app, its config, releases, jobs) paced open-loop at ${SETTINGS.rate}/s over ${SETTINGS.seconds} s, one keep-alive pool of 63 connections (the scrapes on a 64th), latency from each request's scheduled time; four runs in this order. Load average of the machine when the bench ended: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (1, 5, 15 min).`,
  '',
  '| run | errors | API p50 / p99 | scrapes during the run (p50 / max) | server CPU | peak RSS |',
  '|---|---|---|---|---|---|',
  ...runs.map((r) => `| ${r.name} | ${[...r.errors.values()].reduce((a, b) => a + b, 0)} of ${SETTINGS.rate * SETTINGS.seconds}${r.errors.size ? ` (${[...r.errors].map(([k, n]) => `${k}: ${n}`).join('; ')})` : ''} | ${ms(median(r.latencies))} / ${ms(percentile(r.latencies, 99))} | ${r.scrapes.length ? `${r.scrapes.length} (${ms(median(r.scrapes))} / ${ms(Math.max(...r.scrapes))})` : '—'} | ${(r.cpuMs / 1000).toFixed(2)} s | ${r.peakRss.toFixed(1)} MiB |`),
  '',
].join('\n');

// Keep every other section of the file (another bench writes its own).
const before = existsSync(SETTINGS.out) ? readFileSync(SETTINGS.out, 'utf8') : '# Observability benches\n\nWhat watching Slipway costs (issue 39). Each section is written by its bench.\n';
// Within it, the notes written by hand under NOTES (what a run cannot measure) stay too.
const NOTES = '\n### Notes';
const at = before.indexOf(`\n${HEADING}\n`);
let text: string;
if (at < 0) {
  text = `${before.trimEnd()}\n\n${section}`;
} else {
  const next = before.indexOf('\n## ', at + HEADING.length + 1);
  const old = before.slice(at, next < 0 ? undefined : next);
  const notes = old.includes(NOTES) ? `\n${old.slice(old.indexOf(NOTES)).trim()}\n` : '';
  text = `${before.slice(0, at + 1)}${section}${notes}${next < 0 ? '' : before.slice(next)}`;
}
writeFileSync(SETTINGS.out, text.trimEnd() + '\n');
say(`wrote ${SETTINGS.out}`);
process.stdout.write(section);
