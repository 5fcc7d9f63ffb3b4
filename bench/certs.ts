// HTTPS bench on the testbed: a real Slipway with automatic certificates (cert-manager, the
// testbed's ClusterIssuer at Pebble, HTTP-01 validated for real against Traefik), pods on the
// testbed node, requests through the ingress's HTTP and TLS ports on loopback.
//   - issuance: from the end of a push (the push is told not to wait for its certificate) until
//     https://APP.BASE answers with a chain that verifies against Pebble's root; and from
//     `domains:add` until the new host does (goal ≤ 15 s);
//   - throughput: requests per second over HTTPS beside plain HTTP for the same app, with
//     keep-alive connections (what browsers do) and with a new connection per request (each pays
//     a TLS handshake) (goal ≥ 0.8×);
//   - zero downtime over HTTPS: a steady load on the https URL during a redeploy (code change),
//     a config:set and a rollback, counting failed requests (goal 0).
// Load goes to loopback only, bounded in time and count.
//   eval "$(npm run -s testbed)"; node bench/certs.ts     (BENCH_ROUNDS=3, BENCH_RPS=50)
import { readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PackBuilder, packSettings } from '../server/build/pack.ts';
import { loadConfig } from '../server/config.ts';
import { kubeDeployer } from '../server/backends.ts';
import { startTestServer } from '../test/support/harness.ts';
import { httpThroughIngress, loadDuring, type IngressTls, type LoadResult } from '../test/support/ingress.ts';
import { clusterEnv, fixtureCopy } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 3),
  rps: Number(benchEnv.BENCH_RPS || 50),
  concurrency: Number(benchEnv.BENCH_CONCURRENCY || 8),
  seconds: Number(benchEnv.BENCH_SECONDS || 10),
  ...pushTestbed,
  https: benchEnv.SLIPWAY_TEST_HTTPS_INGRESS ?? '',
  acmeRoot: benchEnv.SLIPWAY_TEST_ACME_ROOT ?? '',
  issuer: benchEnv.SLIPWAY_TEST_ACME_ISSUER ?? '',
  out: resolve(import.meta.dirname, 'results', 'certs.md'),
});
requireTestbed('certs', SETTINGS);
const BASE = 'certs.bench';
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const tls: IngressTls = { ca: readFileSync(SETTINGS.acmeRoot, 'utf8') };

/** Waits until `host` answers 200 over HTTPS with a verified chain; ms from `t0`. Bounded: 3 min. */
async function httpsLive(host: string, t0: number): Promise<number> {
  for (const end = performance.now() + 180_000; performance.now() < end;) {
    const r = await httpThroughIngress(SETTINGS.https, host, 3000, '/', tls).catch(() => undefined);
    if (r?.status === 200) return performance.now() - t0;
    await sleep(100);
  }
  throw new Error(`${host} never answered over HTTPS`);
}

/** Waits until `host` answers 200 over plain HTTP (no redirect). Bounded: 1 min. */
async function httpLive(host: string): Promise<void> {
  for (const end = performance.now() + 60_000; performance.now() < end;) {
    const r = await httpThroughIngress(SETTINGS.ingress, host, 3000).catch(() => undefined);
    if (r?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`${host} never answered over plain HTTP`);
}

/** Closed-loop throughput: `concurrency` clients sending GET / one after another for `seconds`. */
async function throughput(host: string, secure: boolean, keepAlive: boolean): Promise<{ rps: number; failed: number }> {
  const addr = secure ? SETTINGS.https : SETTINGS.ingress;
  const i = addr.lastIndexOf(':');
  const [hostname, port] = [addr.slice(0, i), Number(addr.slice(i + 1))];
  const agent = secure ? new HttpsAgent({ keepAlive, maxSockets: SETTINGS.concurrency, ca: tls.ca, servername: host }) : new HttpAgent({ keepAlive, maxSockets: SETTINGS.concurrency });
  const one = () => new Promise<boolean>((done) => {
    const opts = { hostname, port, path: '/', headers: { host }, agent, timeout: 5000 };
    const onRes = (res: import('node:http').IncomingMessage) => { res.resume(); res.on('end', () => done(res.statusCode === 200)); };
    const req = secure ? httpsRequest({ ...opts, servername: host }, onRes) : request(opts, onRes);
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
    req.end();
  });
  let ok = 0;
  let failed = 0;
  const end = performance.now() + SETTINGS.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SETTINGS.concurrency }, async () => {
    // Bounded by time and by count.
    for (let n = 0; n < 200_000 && performance.now() < end; n++) {
      if (await one()) ok++; else failed++;
    }
  }));
  agent.destroy();
  return { rps: ok / ((performance.now() - t0) / 1000), failed };
}

async function underLoad(host: string, fn: () => Promise<void>): Promise<LoadResult> {
  const load = loadDuring(SETTINGS.https, host, { ratePerSecond: SETTINGS.rps, maxDurationMs: 5 * 60_000, tls });
  try {
    await fn();
    await sleep(8000);
  } catch (err) {
    await load.stop();
    throw err;
  }
  return load.stop();
}

const env = {
  SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, SLIPWAY_BASE_DOMAIN: BASE, KUBECONFIG: SETTINGS.kubeconfig, ...clusterEnv(),
  // The push announces whatever it has after 1 s: the bench times issuance itself.
  SLIPWAY_ACME_EMAIL: 'bench@slipway.test', SLIPWAY_ACME_ISSUER: SETTINGS.issuer, SLIPWAY_CERT_WAIT_S: '1',
};
const builder = new PackBuilder({ ...packSettings(loadConfig(benchEnv), SETTINGS.pack), buildTimeoutMs: 15 * 60_000 });
const deployer = kubeDeployer(loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' }));
const s = await startTestServer(env, { builder, deployer });
const ssh = async (cmd: string) => {
  const r = await s.ssh(s.admin, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r;
};
const afterPush: number[] = [];
const afterDomain: number[] = [];
const rates: Record<string, { rps: number; failed: number }[]> = {};
const loads: Record<string, LoadResult[]> = { 'redeploy (code change)': [], 'config:set': [], rollback: [] };
const apps: string[] = [];
try {
  for (let round = 0; round < SETTINGS.rounds; round++) {
    const app = `bench-tls-${Date.now().toString(36)}-${round}`;
    apps.push(app);
    const host = `${app}.${BASE}`;
    await ssh(`apps:create ${app}`);
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'first');
    say(`round ${round + 1}: push ${app}, then time its certificate`);
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (push.exitCode !== 0) throw new Error(`push failed: ${push.stderr}`);
    afterPush.push(await httpsLive(host, performance.now()));

    const www = `www.${app}.example.com`;
    const t0 = performance.now();
    await ssh(`domains:add ${app} ${www}`);
    afterDomain.push(await httpsLive(www, t0));

    // Plain HTTP to the same app with its certificates off (else HTTP only answers redirects),
    // then HTTPS once they are back.
    await ssh(`certs:auto:disable ${app}`);
    await httpLive(host);
    for (const [name, keepAlive] of [['HTTP keep-alive', true], ['HTTP new connection', false]] as const) {
      say(`round ${round + 1}: ${name} for ${SETTINGS.seconds} s`);
      (rates[name] ??= []).push(await throughput(host, false, keepAlive));
    }
    await ssh(`certs:auto:enable ${app}`);
    await httpsLive(host, performance.now());
    for (const [name, keepAlive] of [['HTTPS keep-alive', true], ['HTTPS new connection', false]] as const) {
      say(`round ${round + 1}: ${name} for ${SETTINGS.seconds} s`);
      (rates[name] ??= []).push(await throughput(host, true, keepAlive));
    }

    say(`round ${round + 1}: redeploy, config:set and rollback under ${SETTINGS.rps} req/s over HTTPS`);
    appendFileSync(`${wd}/server.js`, `\n// round ${round}\n`);
    await s.commitAll(wd, 'code change');
    loads['redeploy (code change)']!.push(await underLoad(host, async () => {
      const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
      if (r.exitCode !== 0) throw new Error(`push failed: ${r.stderr}`);
    }));
    loads['config:set']!.push(await underLoad(host, async () => { await ssh(`config:set ${app} GREETING=bonjour`); }));
    loads.rollback!.push(await underLoad(host, async () => { await ssh(`rollback ${app}`); }));
  }
} finally {
  for (const app of apps) await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`).catch(() => undefined);
  await s.close();
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const each = (xs: number[]) => xs.map(sec).join(', ');
const rate = (name: string) => median(rates[name]!.map((r) => r.rps));
const keepRatio = rate('HTTPS keep-alive') / rate('HTTP keep-alive');
const newRatio = rate('HTTPS new connection') / rate('HTTP new connection');
const sum = (xs: LoadResult[], k: 'sent' | 'failed') => xs.reduce((a, x) => a + x[k], 0);
const report = [
  '# HTTPS bench',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), fixture test/fixtures/node-app, cert-manager + Pebble (HTTP-01 against`,
  `Traefik on ${SETTINGS.ingress.replace(/:\d+$/, '')} / ${SETTINGS.https}), ${SETTINGS.concurrency} clients for ${SETTINGS.seconds} s per throughput run, ${SETTINGS.rps} req/s of load. Machine: 2 shared cores.`,
  '',
  '| measure | median | each round | goal | met? |',
  '|---|---|---|---|---|',
  `| end of push → https:// answers with a verified chain | ${sec(median(afterPush))} | ${each(afterPush)} | ≤ 15 s | ${median(afterPush) <= 15_000 ? 'yes' : '**no**'} |`,
  `| \`domains:add\` → the new host answers over HTTPS | ${sec(median(afterDomain))} | ${each(afterDomain)} | ≤ 15 s | ${median(afterDomain) <= 15_000 ? 'yes' : '**no**'} |`,
  `| HTTPS ÷ HTTP requests/s, keep-alive (${rate('HTTPS keep-alive').toFixed(0)} ÷ ${rate('HTTP keep-alive').toFixed(0)}) | ${keepRatio.toFixed(2)}× | ${rates['HTTPS keep-alive']!.map((r, i) => (r.rps / rates['HTTP keep-alive']![i]!.rps).toFixed(2)).join(', ')} | ≥ 0.8× | ${keepRatio >= 0.8 ? 'yes' : '**no**'} |`,
  `| HTTPS ÷ HTTP requests/s, a new connection each (${rate('HTTPS new connection').toFixed(0)} ÷ ${rate('HTTP new connection').toFixed(0)}) | ${newRatio.toFixed(2)}× | ${rates['HTTPS new connection']!.map((r, i) => (r.rps / rates['HTTP new connection']![i]!.rps).toFixed(2)).join(', ')} | | |`,
  '',
  '## Zero downtime over HTTPS',
  '',
  '| during | requests sent | failed | goal |',
  '|---|---|---|---|',
  ...Object.entries(loads).map(([name, xs]) => `| ${name} | ${sum(xs, 'sent')} | ${sum(xs, 'failed')} | 0 |`),
  '',
].join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
