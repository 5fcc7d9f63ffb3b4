// Dashboard bench (issue 19, "Speed"): the web dashboard beside what a user would use instead.
//   (1) 100 apps listed: `GET /api/v1/apps` on a kept-alive connection vs `ssh … apps:list` (the
//       real OpenSSH client, a new connection each time, as a user types it); and the /apps page
//       in headless Chromium: first contentful paint and the first frame with its 100 rows, from
//       navigation start, cold (a new browser context: empty cache) and warm (a reload): goal ≤ 1 s;
//   (2) page weight of the cold first load of /apps: what crossed the wire (headers and bodies as
//       sent) for everything fetched until the rows were on screen (HTML, JS, CSS, the API JSON),
//       and each body gzipped: goal ≤ 250 KB compressed;
//   (3) a job's transcript line, from the server writing it to the animation frame after it
//       entered an open /jobs/ID page's DOM (a MutationObserver), beside the same line reaching
//       `ssh … jobs:output ID -t`: goal p95 ≤ 200 ms;
//   (4) server RSS (/proc/PID/status) with 20 dashboard tabs each streaming an app's live logs vs
//       20 `ssh … logs APP -t`, each side on a fresh server: goal ≤ 150 MB. A browser opens at most
//       6 HTTP/1.1 connections per origin in one profile, fewer than 20 tabs' streams need, so
//       each tab has a browser context of its own (as 20 people, or 20 profiles, would).
// The server runs in its own process as `npm start` runs it (bin/slipway-server) with the test
// fakes as builder and deployer (bench/dashboard-server.ts adds a live log and a timed
// transcript), so its RSS is the server's alone. Loopback only; every loop is bounded.
//   node bench/dashboard.ts  (BENCH_DASH_APPS=100, BENCH_DASH_ROUNDS=10, BENCH_DASH_TABS=20,
//   BENCH_DASH_HOLD_S=30, BENCH_DASH_TICKS=100, BENCH_DASH_TICK_MS=100; Chromium at SLIPWAY_CHROMIUM,
//   else /usr/bin/chromium: testbed/parts/80-browser.sh installs Debian's)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { pipe, run, type Piped } from '../server/exec.ts';
import { chromiumPath, launchBrowser } from '../test/support/browser.ts';
import { ApiClient } from './api-client.ts';
import { isolatedGitEnv } from './fixtures.ts';
import { benchEnv } from './settings.ts';
import { must, rssMiB, startSlipway, type BenchSlipway } from './slipway.ts';
import { median } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
// Every knob, read once and bounded, so a typo cannot run for hours.
const SETTINGS = Object.freeze({
  apps: Math.min(Number(benchEnv.BENCH_DASH_APPS || 100), 500),
  rounds: Math.min(Number(benchEnv.BENCH_DASH_ROUNDS || 10), 50),
  tabs: Math.min(Number(benchEnv.BENCH_DASH_TABS || 20), 50),
  holdS: Math.min(Number(benchEnv.BENCH_DASH_HOLD_S || 30), 120),
  ticks: Math.min(Number(benchEnv.BENCH_DASH_TICKS || 100), 1000),
  tickMs: Math.max(Number(benchEnv.BENCH_DASH_TICK_MS || 100), 10),
  out: resolve(import.meta.dirname, 'results', 'dashboard.md'),
});
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
/** Wall-clock time in ms with a fraction: the server and the page stamp lines on the same clock. */
const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (msecs: number) => new Promise((r) => setTimeout(r, msecs));

const tmp = mkdtempSync(join(tmpdir(), 'slipway-dash-bench-'));
const gitEnv = isolatedGitEnv(join(tmp, 'home'));
mkdirSync(join(tmp, 'home'));
const KEY = join(tmp, 'key');
await must('ssh-keygen', run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', KEY]));
const SSH_OPTS = ['-i', KEY, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
const WORK = join(tmp, 'work');
mkdirSync(WORK);
await must('git init', run('git', ['init', '-q', '-b', 'main'], { cwd: WORK, env: gitEnv }));
writeFileSync(join(WORK, 'index.js'), 'console.log("bench")\n');
await must('git add', run('git', ['add', '-A'], { cwd: WORK, env: gitEnv }));
await must('git commit', run('git', ['commit', '-q', '-m', 'bench'], { cwd: WORK, env: gitEnv }));

/** A bench server with its apps, each pushed once (a release through the fake builder). */
interface Setup { server: BenchSlipway; token: string; base: string; apps: string[]; ssh(cmd: string): Promise<unknown>; api: ApiClient }

let servers = 0;
async function setup(prefix: string, count: number): Promise<Setup> {
  const server = await startSlipway({
    root: ROOT, dataDir: join(tmp, `data-${++servers}`), adminKeys: `${KEY}.pub`, script: join(ROOT, 'bench', 'dashboard-server.ts'),
    extraEnv: { BENCH_DASH_TICKS: String(SETTINGS.ticks), BENCH_DASH_TICK_MS: String(SETTINGS.tickMs) },
  });
  const ssh = (cmd: string) => must(cmd, run('ssh', [...SSH_OPTS, '-p', String(server.ssh), 'git@127.0.0.1', cmd]));
  // `tokens:create` prints the token alone on its second line.
  const token = (await ssh('tokens:create bench --scope admin')).stdout.split('\n')[1]!.trim();
  const api = new ApiClient(server.http, token, 8);
  const apps = Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);
  // Credentials sent up front: git's unauthenticated first request would count as a failed login
  // and the server slows those down after a few a minute.
  const auth = `http.extraHeader=Authorization: Basic ${Buffer.from(`x:${token}`).toString('base64')}`;
  let next = 0;
  const worker = async () => {
    while (next < apps.length) {
      const app = apps[next++]!;
      await api.json('POST', '/apps', 201, { name: app });
      await must(`push ${app}`, run('git', ['-c', auth, 'push', '-q', `http://127.0.0.1:${server.http}/${app}.git`, 'main'], { cwd: WORK, env: gitEnv, timeoutMs: 60_000 }));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { server, token, base: `http://127.0.0.1:${server.http}`, apps, ssh, api };
}

let browser: Browser | undefined;
/** A new browser context (its own cookies, cache and connection pool) signed in with the token. */
async function signedIn(s: Setup): Promise<BrowserContext> {
  const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const r = await ctx.request.post(`${s.base}/api/v1/session`, { data: { token: s.token } });
  if (r.status() !== 200) throw new Error(`POST /api/v1/session answered ${r.status()}: ${(await r.text()).slice(0, 300)}`);
  return ctx;
}

// Runs in the page before its own scripts: stamps, on the page's clock, the first frame with
// `want` table rows, and for each transcript line `tick N T` when it entered the DOM and the
// animation frame after that (the frame is painted once its callbacks have run, so this is an
// upper bound on when it was on screen).
interface PageMarks { rowsAt: number | null; ticks: Record<string, [written: number, inDom: number, shown: number]> }
function installMarks(want: number): void {
  const marks: PageMarks = { rowsAt: null, ticks: {} };
  (globalThis as unknown as { __marks: PageMarks }).__marks = marks;
  let pending: Array<[string, number, number]> = [];
  let frame = false;
  const onFrame = () => {
    frame = false;
    const shown = performance.timeOrigin + performance.now();
    for (const [n, written, inDom] of pending) marks.ticks[n] ??= [written, inDom, shown];
    pending = [];
    if (marks.rowsAt === null && want > 0 && document.querySelectorAll('tbody tr').length >= want) marks.rowsAt = performance.now();
  };
  const seen = new Set<string>();
  new MutationObserver((records) => {
    const inDom = performance.timeOrigin + performance.now();
    for (const r of records) {
      const nodes = r.type === 'characterData' ? [r.target] : [...r.addedNodes];
      for (const node of nodes) {
        for (const m of (node.textContent ?? '').matchAll(/tick (\d+) (\d+\.\d+)/g)) {
          if (seen.has(m[1]!)) continue;
          seen.add(m[1]!);
          pending.push([m[1]!, Number(m[2]), inDom]);
        }
      }
    }
    if (!frame) {
      frame = true;
      requestAnimationFrame(onFrame);
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

const report: string[] = [];
// The machine's load when the bench started and ended: on shared cores it moves every number here.
const loadAt: string[] = [loadavg()[0]!.toFixed(1)];
const results = {
  listApi: [] as number[], listSsh: [] as number[],
  fcpCold: [] as number[], rowsCold: [] as number[], fcpWarm: [] as number[], rowsWarm: [] as number[], stepsCold: [] as number[][],
  weight: [] as { url: string; type: string; wire: number; headers: number; body: number; gzip: number; encoding: string }[],
  tickPage: [] as number[], tickDom: [] as number[], tickSsh: [] as number[], ticksWritten: 0,
  rssTabs: { before: 0, peak: 0, mean: 0, hwm: 0, linesMin: 0, linesMax: 0 },
  rssSsh: { before: 0, peak: 0, mean: 0, hwm: 0, linesMin: 0, linesMax: 0 },
};

try {
  const chromium = chromiumPath();
  if (!chromium) throw new Error('Chromium is not installed: set SLIPWAY_CHROMIUM, or run testbed/up.sh (its part 80-browser.sh installs Debian\'s chromium)');
  browser = await launchBrowser(chromium);

  // --- (1), (2), (3): one server with 100 apps and one app whose rollout writes timed lines. ---
  say(`setting up ${SETTINGS.apps} apps, each pushed once`);
  const s = await setup('dash', SETTINGS.apps);
  try {
    say(`(1) ${SETTINGS.rounds} interleaved rounds: 20 × GET /api/v1/apps on one kept-alive connection, 2 × ssh apps:list`);
    const one = new ApiClient(s.server.http, s.token, 1);
    for (let i = 0; i < 10; i++) await one.call('GET', '/apps');
    for (let r = 0; r < SETTINGS.rounds; r++) {
      for (let i = 0; i < 20; i++) {
        const a = await one.call('GET', '/apps');
        if (a.status !== 200) throw new Error(`GET /apps answered ${a.status}: ${a.body.slice(0, 300)}`);
        if (i === 0 && r === 0 && (JSON.parse(a.body) as unknown[]).length !== SETTINGS.apps) throw new Error(`GET /apps listed ${(JSON.parse(a.body) as unknown[]).length} apps, not ${SETTINGS.apps}`);
        results.listApi.push(a.ms);
      }
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await s.ssh('apps:list');
        results.listSsh.push(performance.now() - t0);
      }
    }
    one.close();

    say(`(1, 2) ${SETTINGS.rounds} cold loads of /apps (a new browser context each) and a warm reload after each`);
    for (let r = 0; r < SETTINGS.rounds; r++) {
      const ctx = await signedIn(s);
      await ctx.addInitScript(installMarks, SETTINGS.apps);
      const page = await ctx.newPage();
      const fetched: Promise<void>[] = [];
      if (r === 0) {
        page.on('requestfinished', (req) => {
          fetched.push((async () => {
            const res = await req.response();
            if (!res) return;
            const sizes = await req.sizes();
            const body = await res.body().catch(() => Buffer.alloc(0));
            results.weight.push({
              url: new URL(req.url()).pathname, type: req.resourceType(), wire: sizes.responseHeadersSize + sizes.responseBodySize, headers: sizes.responseHeadersSize,
              body: body.length, gzip: gzipSync(body).length, encoding: (await res.headerValue('content-encoding')) ?? 'none',
            });
          })());
        });
      }
      const load = async (go: () => Promise<unknown>) => {
        await go();
        await page.waitForFunction(() => (globalThis as unknown as { __marks: PageMarks }).__marks.rowsAt !== null, undefined, { timeout: 30_000 });
        return page.evaluate(() => {
          // Where the time went, from the page's own timing entries (ms from navigation start).
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
          const find = (re: RegExp) => res.find((e) => re.test(new URL(e.name).pathname));
          const js = find(/^\/assets\/app-.*\.js$/);
          const session = find(/^\/api\/v1\/session$/);
          const apps = find(/^\/api\/v1\/apps$/);
          return {
            rows: (globalThis as unknown as { __marks: PageMarks }).__marks.rowsAt!,
            fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
            steps: [nav.responseEnd, js?.responseEnd ?? Number.NaN, session?.startTime ?? Number.NaN, session?.responseEnd ?? Number.NaN, apps?.startTime ?? Number.NaN, apps?.responseEnd ?? Number.NaN],
          };
        });
      };
      const cold = await load(() => page.goto(`${s.base}/apps`));
      results.fcpCold.push(cold.fcp);
      results.rowsCold.push(cold.rows);
      results.stepsCold.push(cold.steps);
      if (r === 0) {
        // Streams (text/event-stream) never finish; what the page fetched to show its rows has.
        await Promise.all(fetched);
        page.removeAllListeners('requestfinished');
      }
      const warm = await load(() => page.reload());
      results.fcpWarm.push(warm.fcp);
      results.rowsWarm.push(warm.rows);
      await ctx.close();
    }

    say(`(3) a job writing ${SETTINGS.ticks} transcript lines ${SETTINGS.tickMs} ms apart, followed in /jobs/ID and by ssh jobs:output -t`);
    const tickApp = 'tick-1';
    await s.api.json('POST', '/apps', 201, { name: tickApp });
    const auth = `http.extraHeader=Authorization: Basic ${Buffer.from(`x:${s.token}`).toString('base64')}`;
    const push = run('git', ['-c', auth, 'push', '-q', `http://127.0.0.1:${s.server.http}/${tickApp}.git`, 'main'], { cwd: WORK, env: gitEnv, timeoutMs: 300_000 });
    let jobId: string | undefined;
    for (let i = 0; i < 300 && !jobId; i++) {
      const jobs = await s.api.json<{ id: string; status: string }[]>('GET', `/apps/${tickApp}/jobs`, 200);
      jobId = jobs.find((j) => j.status === 'running')?.id;
      if (!jobId) await sleep(100);
    }
    if (!jobId) throw new Error(`no running job of ${tickApp} within 30 s`);
    const ctx = await signedIn(s);
    await ctx.addInitScript(installMarks, 0);
    const page: Page = await ctx.newPage();
    await page.goto(`${s.base}/jobs/${jobId}`);
    await page.getByText('waiting for the bench').first().waitFor({ timeout: 30_000 });
    const sshArrivals = new Map<string, [number, number]>();
    const follower: Piped = pipe('ssh', [...SSH_OPTS, '-p', String(s.server.ssh), 'git@127.0.0.1', `jobs:output ${jobId} -t`]);
    follower.stderr.resume();
    let sshReady!: () => void;
    const sshSaw = new Promise<void>((r) => { sshReady = r; });
    createInterface({ input: follower.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const at = wallNow();
      if (line.includes('waiting for the bench')) sshReady();
      const m = /tick (\d+) (\d+\.\d+)/.exec(line);
      if (m && !sshArrivals.has(m[1]!)) sshArrivals.set(m[1]!, [Number(m[2]), at]);
    });
    await Promise.race([sshSaw, sleep(30_000).then(() => { throw new Error('ssh jobs:output -t showed nothing within 30 s'); })]);
    // Both are following: let the held rollout write its lines.
    process.kill(s.server.pid, 'SIGUSR2');
    const pushed = await push;
    if (pushed.exitCode !== 0) throw new Error(`push of ${tickApp} failed: ${pushed.stderr}`);
    await Promise.race([follower.exited, sleep(10_000)]);
    follower.kill();
    await sleep(500);
    const marks = await page.evaluate(() => (globalThis as unknown as { __marks: PageMarks }).__marks.ticks);
    results.ticksWritten = SETTINGS.ticks;
    results.tickPage = Object.values(marks).map(([w, , shown]) => shown - w);
    results.tickDom = Object.values(marks).map(([w, inDom]) => inDom - w);
    results.tickSsh = [...sshArrivals.values()].map(([w, at]) => at - w);
    await ctx.close();
    s.api.close();
  } finally {
    await s.server.stop();
  }

  // --- (4): RSS with 20 tabs streaming logs, and with 20 ssh logs -t, each on a fresh server. ---
  const hold = async (pid: number, into: typeof results.rssTabs, lineCounts: () => Promise<number[]>) => {
    const samples: number[] = [];
    const until = performance.now() + SETTINGS.holdS * 1000;
    while (performance.now() < until) {
      samples.push(rssMiB(pid).rss);
      await sleep(250);
    }
    const counts = await lineCounts();
    Object.assign(into, {
      peak: Math.max(...samples), mean: samples.reduce((a, b) => a + b, 0) / samples.length, hwm: rssMiB(pid).hwm,
      linesMin: Math.min(...counts), linesMax: Math.max(...counts),
    });
  };

  say(`(4) ${SETTINGS.tabs} tabs (a browser context each) on /apps/APP/logs for ${SETTINGS.holdS} s`);
  const t = await setup('tab', SETTINGS.tabs);
  try {
    await sleep(2000);
    results.rssTabs.before = rssMiB(t.server.pid).rss;
    const tabs: { ctx: BrowserContext; page: Page; app: string }[] = [];
    for (const app of t.apps) {
      const ctx = await signedIn(t);
      const page = await ctx.newPage();
      await page.goto(`${t.base}/apps/${app}/logs`);
      await page.getByText(`${app} started`).first().waitFor({ timeout: 30_000 });
      tabs.push({ ctx, page, app });
    }
    await hold(t.server.pid, results.rssTabs, () => Promise.all(tabs.map(({ page, app }) =>
      page.evaluate((a) => (document.body.textContent ?? '').split(`${a} line `).length - 1, app))));
    for (const { ctx } of tabs) await ctx.close();
    t.api.close();
  } finally {
    await t.server.stop();
  }

  say(`(4) ${SETTINGS.tabs} × ssh logs APP -t for ${SETTINGS.holdS} s`);
  const u = await setup('term', SETTINGS.tabs);
  const followers: { p: Piped; lines: number }[] = [];
  try {
    await sleep(2000);
    results.rssSsh.before = rssMiB(u.server.pid).rss;
    for (const app of u.apps) {
      const p = pipe('ssh', [...SSH_OPTS, '-p', String(u.server.ssh), 'git@127.0.0.1', `logs ${app} -t`]);
      const f = { p, lines: 0 };
      p.stderr.resume();
      let started!: () => void;
      const first = new Promise<void>((r) => { started = r; });
      createInterface({ input: p.stdout, crlfDelay: Infinity }).on('line', (line) => {
        if (line.includes(' line ')) f.lines++;
        started();
      });
      await Promise.race([first, sleep(30_000).then(() => { throw new Error(`ssh logs ${app} -t showed nothing within 30 s`); })]);
      followers.push(f);
    }
    await hold(u.server.pid, results.rssSsh, async () => followers.map((f) => f.lines));
  } finally {
    for (const f of followers) f.p.kill();
    u.api.close();
    await u.server.stop();
  }
} finally {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
}

// --- The table. ---
loadAt.push(loadavg()[0]!.toFixed(1));
const r = results;
const step = (i: number) => ms(median(r.stepsCold.map((x) => x[i]!).filter(Number.isFinite)));
const listApi = median(r.listApi);
const listSsh = median(r.listSsh);
const rowsCold = median(r.rowsCold);
const rowsWarm = median(r.rowsWarm);
const wire = r.weight.reduce((a, w) => a + w.wire, 0);
// Compressed: as sent where the server compressed it, else its headers and its body gzipped.
const gz = r.weight.reduce((a, w) => a + (w.encoding === 'none' ? w.headers + w.gzip : w.wire), 0);
const tickP95 = pct(r.tickPage, 95);
const sshP95 = pct(r.tickSsh, 95);
report.push(
  '# Dashboard bench',
  '',
  `${new Date().toISOString().slice(0, 10)}, \`node bench/dashboard.ts\`. Machine: 2 shared cores (1-minute load average ${loadAt.join(' at the start, ')} at the end); server, Chromium (${browser?.version() ?? 'headless'}, headless) and clients on loopback. The server in its own process as \`npm start\` runs it (bin/slipway-server), fake builder and deployer (bench/dashboard-server.ts). ${SETTINGS.apps} apps, each pushed once.`,
  '',
  '| measure | dashboard | what a user would use instead | ratio | goal | met? |',
  '|---|---|---|---|---|---|',
  `| (1) list ${SETTINGS.apps} apps: \`GET /api/v1/apps\` (kept-alive) vs \`ssh … apps:list\` (OpenSSH client), medians of ${r.listApi.length} and ${r.listSsh.length} | ${ms(listApi)} | ${ms(listSsh)} | ${ratio(listApi, listSsh)} | ≤ 0.1× (as bench/api.ts) | ${yes(listApi / listSsh <= 0.1)} |`,
  `| (1) /apps in Chromium, cold (new context, empty cache): navigation start → first frame with its ${SETTINGS.apps} rows, median of ${r.rowsCold.length} (first contentful paint ${ms(median(r.fcpCold))}) | ${ms(rowsCold)} | ${ms(listSsh)} (\`ssh … apps:list\`) | ${ratio(rowsCold, listSsh)} | ≤ 1 s | ${yes(rowsCold <= 1000)} |`,
  `| (1) the same, warm (reload, cached assets) (first contentful paint ${ms(median(r.fcpWarm))}) | ${ms(rowsWarm)} | ${ms(listSsh)} | ${ratio(rowsWarm, listSsh)} | ≤ 1 s | ${yes(rowsWarm <= 1000)} |`,
  `| (2) page weight of the cold first load of /apps: the ${r.weight.length} responses until its rows were on screen, headers and bodies as sent (assets brotli or gzip; API answers as the server sent them, counted here with their bodies gzipped) | ${kb(gz)} (${kb(wire)} as sent) | | | ≤ 250 KB compressed | ${yes(gz <= 250_000)} |`,
  `| (3) a transcript line: the server writes it → the next animation frame after it entered the open /jobs/ID page's DOM, p50 / p95 / max of ${r.tickPage.length} of ${r.ticksWritten} lines (${SETTINGS.tickMs} ms apart; in the DOM: ${ms(median(r.tickDom))} / ${ms(pct(r.tickDom, 95))} / ${ms(Math.max(...r.tickDom))}) vs the same lines reaching \`ssh … jobs:output ID -t\` | ${ms(median(r.tickPage))} / ${ms(tickP95)} / ${ms(Math.max(...r.tickPage))} | ${ms(median(r.tickSsh))} / ${ms(sshP95)} / ${ms(Math.max(...r.tickSsh))} (${r.tickSsh.length} lines) | ${ratio(tickP95, sshP95)} (p95) | p95 ≤ 200 ms | ${yes(r.tickPage.length === r.ticksWritten && tickP95 <= 200)} |`,
  `| (4) server RSS with ${SETTINGS.tabs} tabs (a browser context each) streaming an app's logs for ${SETTINGS.holdS} s vs ${SETTINGS.tabs} \`ssh … logs APP -t\`, each on a fresh server: peak (sampled every 250 ms) | ${r.rssTabs.peak.toFixed(1)} MiB | ${r.rssSsh.peak.toFixed(1)} MiB | ${ratio(r.rssTabs.peak, r.rssSsh.peak)} | ≤ 150 MB (143 MiB) | ${yes(r.rssTabs.peak <= 143)} |`,
  '',
  `(4) What the streams added (peak − before): tabs ${(r.rssTabs.peak - r.rssTabs.before).toFixed(1)} MiB, ssh ${(r.rssSsh.peak - r.rssSsh.before).toFixed(1)} MiB. RSS before the streams / mean while they ran / VmHWM since start: tabs ${r.rssTabs.before.toFixed(1)} / ${r.rssTabs.mean.toFixed(1)} / ${r.rssTabs.hwm.toFixed(1)} MiB; ssh ${r.rssSsh.before.toFixed(1)} / ${r.rssSsh.mean.toFixed(1)} / ${r.rssSsh.hwm.toFixed(1)} MiB. Log lines (one a second per app) each follower had received by the end, since it opened (the tabs open one after another, each once the previous one shows its first line): tabs ${r.rssTabs.linesMin}–${r.rssTabs.linesMax}, ssh ${r.rssSsh.linesMin}–${r.rssSsh.linesMax}.`,
  '',
  `(1) where a cold load's time went (medians, ms from navigation start): index.html received ${step(0)}; the script received ${step(1)}; \`GET /api/v1/session\` sent ${step(2)}, answered ${step(3)}; \`GET /api/v1/apps\` sent ${step(4)}, answered ${step(5)}; first contentful paint ${ms(median(r.fcpCold))}; the ${SETTINGS.apps} rows on screen ${ms(rowsCold)}.`,
  '',
  `(1) each: API ${ms(Math.min(...r.listApi))} – ${ms(Math.max(...r.listApi))}; SSH ${ms(Math.min(...r.listSsh))} – ${ms(Math.max(...r.listSsh))}; rows on screen cold ${r.rowsCold.map(ms).join(', ')}; warm ${r.rowsWarm.map(ms).join(', ')}.`,
  '',
  '(2) what the first load fetched (bytes on the wire include the response headers):',
  '',
  '| path | type | content-encoding | on the wire | body | body gzipped |',
  '|---|---|---|---|---|---|',
  ...r.weight.map((w) => `| \`${w.url}\` | ${w.type} | ${w.encoding} | ${kb(w.wire)} | ${kb(w.body)} | ${kb(w.gzip)} |`),
  '',
);
const text = report.join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, text);
process.stdout.write(text);
