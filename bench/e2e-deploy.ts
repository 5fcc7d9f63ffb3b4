// End-to-end deploy benchmark on the testbed node: a real Slipway (SSH transport, pre-receive
// hook, pipeline), the real pack builder with the offline builder, the real Kubernetes deployer,
// pods on the testbed node, and the app reached through the ingress (Traefik) by Host header.
// Per round, on a new app:
//   - push-to-live, cold (first push: no previous image, empty build cache) and warm (a code-only
//     change), split by when the push's `remote:` lines arrive: transport and receive (until
//     `-----> Deploying`), build (pack until `===> EXPORTING`), registry push (pack's EXPORTING
//     phase: with --publish the exporter writes the image to the registry), release, rollout (until
//     `=====> Application deployed:`), and live (until the ingress serves the new body);
//   - zero downtime: a steady HTTP load through the ingress during a redeploy (code change) and
//     during a config:set, counting requests sent, non-2xx answers and connection errors;
//   - rollback: from running `rollback APP` until the ingress serves the old body again.
// Load goes to the ingress on loopback only, at a bounded rate, for a bounded time.
//   eval "$(npm run -s testbed)"; node bench/e2e-deploy.ts     (BENCH_ROUNDS=3, BENCH_RPS=50)
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TimedPack } from './timed-pack.ts';
import { packSettings } from '../server/build/pack.ts';
import { loadConfig } from '../server/config.ts';
import { kubeDeployer } from '../server/backends.ts';
import { run } from '../server/exec.ts';
import { gitEnv, startTestServer, type TestServer } from '../test/support/harness.ts';
import { httpThroughIngress, loadDuring, type LoadResult } from '../test/support/ingress.ts';
import { clusterEnv, fixtureCopy } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 3),
  rps: Number(benchEnv.BENCH_RPS || 50),
  ...pushTestbed,
  out: resolve(import.meta.dirname, 'results', 'e2e-deploy.md'),
});
requireTestbed('e2e-deploy', SETTINGS);
const BASE = 'slipway.bench';
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);


/** Phases of one push, in ms from `git push` starting. */
interface PushTimes { transport: number; build: number; registry: number; release: number; rollout: number; deployed: number; live: number; pack: number }

/** Pushes `wd` to `app` over SSH, timing its remote lines and polling the ingress for `body`. */
async function timedPush(s: TestServer, builder: TimedPack, app: string, wd: string, body: string): Promise<PushTimes> {
  const marks: Record<string, number> = {};
  const mark = (name: string) => {
    marks[name] ??= performance.now();
  };
  const t0 = performance.now();
  let live = 0;
  let pushing = true;
  const poll = (async () => {
    // Bounded: it ends with the push plus 60 s at most.
    let deadline = Infinity;
    while (performance.now() < deadline) {
      if (!pushing && deadline === Infinity) deadline = performance.now() + 60_000;
      const r = await httpThroughIngress(SETTINGS.ingress, `${app}.${BASE}`).catch(() => undefined);
      if (r?.status === 200 && r.body === body) {
        live = performance.now() - t0;
        return;
      }
      await new Promise((f) => setTimeout(f, 50));
    }
  })();
  const r = await run('git', ['push', s.sshRemote(app), 'main'], {
    cwd: wd,
    env: gitEnv(join(s.dir, 'home'), s.admin),
    onLine: (line) => {
      const l = line.replace(/^remote: /, '').trimEnd();
      if (l.startsWith('-----> Deploying')) mark('deploying');
      else if (l.includes('===> EXPORTING')) mark('exporting');
      else if (l.includes('Successfully built image')) mark('built');
      else if (l.startsWith('-----> Releasing')) mark('releasing');
      else if (l.startsWith('=====> Application deployed:')) mark('deployed');
    },
  });
  pushing = false;
  if (r.exitCode !== 0) throw new Error(`push to ${app} failed: ${r.stderr}`);
  await poll;
  if (!live) throw new Error(`${app} never served ${JSON.stringify(body)} through the ingress`);
  const at = (k: string) => {
    if (marks[k] === undefined) throw new Error(`no ${k} line in the push`);
    return marks[k]! - t0;
  };
  return {
    transport: at('deploying'),
    build: at('exporting') - at('deploying'),
    registry: at('built') - at('exporting'),
    release: at('releasing') - at('built'),
    rollout: at('deployed') - at('releasing'),
    deployed: at('deployed'),
    live,
    pack: builder.last,
  };
}

/** Runs `fn` under a steady load on the app's URL and returns what the load saw. */
async function underLoad(app: string, fn: () => Promise<void>): Promise<LoadResult> {
  const load = loadDuring(SETTINGS.ingress, `${app}.${BASE}`, { ratePerSecond: SETTINGS.rps, maxDurationMs: 5 * 60_000 });
  try {
    await fn();
    // Keep going a little after the command returned: old instances are still shutting down.
    await new Promise((f) => setTimeout(f, 8000));
  } catch (err) {
    await load.stop();
    throw err;
  }
  return load.stop();
}

const server = (wd: string) => join(wd, 'server.js');
const hello = (tag: string) => `hello from slipway ${tag}\n`;
/** Makes the fixture answer `hello from slipway TAG` (without GREETING) — a code-only change. */
function setTag(wd: string, tag: string): void {
  const src = readFileSync(server(wd), 'utf8').replace(/`hello from slipway[^$`]*\$\{greeting\}/, `\`hello from slipway ${tag}\${greeting}`);
  writeFileSync(server(wd), src);
}

const builder = new TimedPack({ ...packSettings(loadConfig(benchEnv), SETTINGS.pack), buildTimeoutMs: 15 * 60_000 });
const env = { SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, SLIPWAY_BASE_DOMAIN: BASE, KUBECONFIG: SETTINGS.kubeconfig, ...clusterEnv() };
const deployer = kubeDeployer(loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' }));
const s = await startTestServer(env, { builder, deployer });
const cold: PushTimes[] = [];
const warm: PushTimes[] = [];
const redeployLoad: LoadResult[] = [];
const configLoad: LoadResult[] = [];
const rollbacks: { command: number; live: number }[] = [];
try {
  for (let round = 0; round < SETTINGS.rounds; round++) {
    const app = `bench-e2e-${Date.now().toString(36)}-${round}`;
    const ssh = async (cmd: string) => {
      const r = await s.ssh(s.admin, cmd);
      if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
      return r;
    };
    await ssh(`apps:create ${app}`);
    await builder.purgeCache(app);
    const wd = fixtureCopy('node-app');
    setTag(wd, 'cold');
    await s.commitAll(wd, 'cold');
    say(`round ${round + 1}: cold push of ${app}`);
    cold.push(await timedPush(s, builder, app, wd, hello('cold')));

    setTag(wd, 'warm');
    await s.commitAll(wd, 'warm');
    say(`round ${round + 1}: warm push (code change)`);
    warm.push(await timedPush(s, builder, app, wd, hello('warm')));

    setTag(wd, 'loaded');
    appendFileSync(server(wd), `\n// round ${round}\n`);
    await s.commitAll(wd, 'under load');
    say(`round ${round + 1}: redeploy under ${SETTINGS.rps} req/s`);
    redeployLoad.push(await underLoad(app, async () => {
      await timedPush(s, builder, app, wd, hello('loaded'));
    }));

    say(`round ${round + 1}: config:set under ${SETTINGS.rps} req/s`);
    configLoad.push(await underLoad(app, async () => {
      await ssh(`config:set ${app} GREETING=bonjour`);
    }));

    say(`round ${round + 1}: rollback`);
    const t0 = performance.now();
    const rb = ssh(`rollback ${app}`).then(() => performance.now() - t0);
    let live = 0;
    for (const end = t0 + 120_000; performance.now() < end;) {
      const r = await httpThroughIngress(SETTINGS.ingress, `${app}.${BASE}`).catch(() => undefined);
      if (r?.status === 200 && r.body === hello('loaded')) {
        live = performance.now() - t0;
        break;
      }
      await new Promise((f) => setTimeout(f, 20));
    }
    rollbacks.push({ command: await rb, live });
    await ssh(`apps:destroy ${app} --confirm ${app}`);
    await builder.purgeCache(app);
  }
} finally {
  await s.close();
}

const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const med = (xs: PushTimes[], k: keyof PushTimes) => s2(median(xs.map((x) => x[k])));
const pushRow = (name: string, xs: PushTimes[]) =>
  `| ${name} | ${med(xs, 'transport')} | ${med(xs, 'build')} | ${med(xs, 'registry')} | ${med(xs, 'release')} | ${med(xs, 'rollout')} | ${med(xs, 'deployed')} | ${med(xs, 'live')} | ${med(xs, 'pack')} |`;
const sum = (xs: LoadResult[], k: 'sent' | 'non2xx' | 'errors') => xs.reduce((a, x) => a + x[k], 0);
const failures = (xs: LoadResult[]) => {
  const all: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x.failures)) all[k] = (all[k] ?? 0) + v;
  return Object.keys(all).length ? Object.entries(all).map(([k, v]) => `${v}× ${k}`).join('; ') : 'none';
};
const loadRow = (name: string, xs: LoadResult[]) =>
  `| ${name} | ${sum(xs, 'sent')} | ${sum(xs, 'non2xx')} | ${sum(xs, 'errors')} | ${failures(xs)} | 0 failed |`;
const report = [
  `# End-to-end deploy bench`,
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), fixture test/fixtures/node-app, builder ${SETTINGS.builder},`,
  `testbed node (containerd, kubelet, kube-proxy, Traefik on ${SETTINGS.ingress}), ${SETTINGS.rps} req/s of load. Machine: 2 shared cores.`,
  '',
  '## Push to live',
  '',
  'Times from `git push` starting; build, registry push, release and rollout are each phase\'s own length.',
  '',
  '| push | transport + receive | build (pack, to EXPORTING) | registry push (EXPORTING) | release | rollout until ready | push done | serving through the ingress | pack in all |',
  '|---|---|---|---|---|---|---|---|---|',
  pushRow('cold (first push)', cold),
  pushRow('warm (code change only)', warm),
  '',
  '## Zero downtime',
  '',
  '| during | requests sent | non-2xx | connection errors | failures | goal |',
  '|---|---|---|---|---|---|',
  loadRow('redeploy (code change)', redeployLoad),
  loadRow('config:set', configLoad),
  '',
  '## Rollback',
  '',
  '| measure | median | each round | goal |',
  '|---|---|---|---|',
  `| \`rollback APP\` until the old version answers through the ingress | ${s2(median(rollbacks.map((r) => r.live)))} | ${rollbacks.map((r) => s2(r.live)).join(', ')} | ≤ 3 s |`,
  `| \`rollback APP\` command (returns once the rollout is ready) | ${s2(median(rollbacks.map((r) => r.command)))} | ${rollbacks.map((r) => s2(r.command)).join(', ')} | |`,
  '',
].join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
