// Databases for apps on the testbed: how long `addons:create` takes until the app is connected,
// side by side with what a Dokku user's `postgres:create` amounts to (a container of the same
// image started on the host by the engine, until it accepts connections), and what an idle
// database holds in memory.
// Per round, on one app running test/fixtures/django-db-app (Heroku's getting-started shape):
//   - `addons:create APP postgres --name second --as SECOND`: the command (database ready, its
//     URL released, the release rolled out), and until the app answers through the ingress with a
//     query over that URL (`/ping?var=SECOND_URL`);
//   - `docker run` of the same image with the same TLS files until `pg_isready` answers.
// Then the idle working set of the app's Postgres and Valkey pods, from the metrics API; then a
// restore drill's cost to the live database: pgbench's select-only load at a fixed rate in the
// database's pod, alone and while `pg:backups:verify` runs a drill beside it (its p50 and p99 per
// transaction; the goal: p99 within 10 %).
//   eval "$(npm run -s testbed)"; node bench/data.ts     (BENCH_ROUNDS=3)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TimedPack } from './timed-pack.ts';
import { packSettings } from '../server/build/pack.ts';
import { loadConfig } from '../server/config.ts';
import { kubeDeployer } from '../server/backends.ts';
import { run, runChecked } from '../server/exec.ts';
import { KubeClient } from '../server/kube/client.ts';
import { newAuthority, newServerCert } from '../server/data/certs.ts';
import { execOutput } from '../server/kube/exec-io.ts';
import { startTestServer } from '../test/support/harness.ts';
import { httpThroughIngress } from '../test/support/ingress.ts';
import { clusterEnv, fixtureCopy } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { writeKeepingSections } from './results-file.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 3),
  ...pushTestbed,
  postgresImage: benchEnv.SLIPWAY_POSTGRES_IMAGE ?? '',
  valkeyImage: benchEnv.SLIPWAY_VALKEY_IMAGE ?? '',
  out: resolve(import.meta.dirname, 'results', 'data.md'),
});
requireTestbed('data', SETTINGS);
const BASE = 'slipway.bench';
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Polls `fn` every 100 ms until it is true, at most `ms`; the time it took. */
async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await fn().catch(() => false)) return performance.now() - t0;
    await new Promise((f) => setTimeout(f, 100));
  }
  throw new Error(`${what} did not happen within ${ms / 1000} s`);
}

/** `docker run` of the Postgres image with TLS files, until pg_isready answers: what a Dokku user's postgres:create does. */
async function dockerPostgres(tls: string): Promise<number> {
  const name = `bench-pg-${Date.now().toString(36)}`;
  const data = mkdtempSync(join(tmpdir(), 'bench-pg-'));
  await runChecked('chown', ['999:999', data]);
  const t0 = performance.now();
  try {
    await runChecked('docker', ['run', '-d', '--name', name, '--network', 'none', '--user', '999:999', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-v', `${data}:/var/lib/slipway/postgres`, '-v', `${tls}:/etc/slipway/tls:ro`, '-e', 'POSTGRES_USER=app', '-e', 'POSTGRES_PASSWORD=bench-secret', '-e', 'POSTGRES_DB=app', SETTINGS.postgresImage]);
    await until('the container to accept connections', async () => (await run('docker', ['exec', name, 'pg_isready', '-q', '-h', '/tmp', '-p', '5432'])).exitCode === 0, 120_000);
    return performance.now() - t0;
  } finally {
    await run('docker', ['rm', '-f', name]);
    rmSync(data, { recursive: true, force: true });
  }
}

const builder = new TimedPack({ ...packSettings(loadConfig(benchEnv), SETTINGS.pack), buildTimeoutMs: 15 * 60_000 });
const env = { SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, SLIPWAY_BASE_DOMAIN: BASE, KUBECONFIG: SETTINGS.kubeconfig, SLIPWAY_APP_MAX_DATABASES: '3', SLIPWAY_APP_MAX_VOLUMES: '6', ...clusterEnv() };
const deployer = kubeDeployer(loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' }));
const s = await startTestServer(env, { builder, deployer });
const kube = new KubeClient(SETTINGS.kubeconfig);
const app = `bench-data-${Date.now().toString(36)}`;
const ssh = async (cmd: string) => {
  const r = await s.ssh(s.admin, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};
const command: number[] = [];
const connected: number[] = [];
const docker: number[] = [];
/** pgbench's latencies (ms) per run, alone and beside a drill. */
const load: { alone: number[][]; drill: number[][]; drillMs: number[] } = { alone: [], drill: [], drillMs: [] };
/** The load: select-only transactions at a fixed rate for this long, 2 clients. */
const LOAD = { rate: 100, seconds: 20 };
let memory: { name: string; bytes: number }[] = [];
const tlsDir = mkdtempSync(join(tmpdir(), 'bench-tls-'));
try {
  const ca = await newAuthority('bench');
  const cert = await newServerCert(ca, ['localhost']);
  writeFileSync(join(tlsDir, 'ca.crt'), ca.cert);
  writeFileSync(join(tlsDir, 'tls.crt'), cert.cert);
  writeFileSync(join(tlsDir, 'tls.key'), cert.key, { mode: 0o640 });
  await runChecked('chown', ['-R', '0:999', tlsDir]);
  await runChecked('chmod', ['0750', tlsDir]);
  say(`setting up ${app}: postgres, valkey, a push of django-db-app`);
  await ssh(`apps:create ${app}`);
  await ssh(`addons:create ${app} postgres`);
  await ssh(`addons:create ${app} valkey`);
  const wd = fixtureCopy('django-db-app');
  await s.commitAll(wd, 'django app with databases');
  const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
  if (push.exitCode !== 0) throw new Error(`push failed: ${push.stderr}`);
  for (let round = 0; round < SETTINGS.rounds; round++) {
    say(`round ${round + 1}: addons:create, then docker run`);
    const t0 = performance.now();
    await ssh(`addons:create ${app} postgres --name second --as SECOND`);
    command.push(performance.now() - t0);
    await until('the app to answer over SECOND_URL', async () => {
      const r = await httpThroughIngress(SETTINGS.ingress, `${app}.${BASE}`, 5000, '/ping?var=SECOND_URL');
      return r.status === 200 && r.body === 'ping 1\n';
    }, 120_000);
    connected.push(performance.now() - t0);
    await ssh(`addons:destroy ${app} second --confirm ${app}`);
    docker.push(await dockerPostgres(tlsDir));
  }
  say('waiting 45 s idle for the metrics API to measure the databases');
  await new Promise((f) => setTimeout(f, 45_000));
  const m = await kube.rawGet(`/apis/metrics.k8s.io/v1beta1/namespaces/slipway-${app}/pods`, { timeoutMs: 5000, maxBytes: 2 ** 20 });
  if ('body' in m && m.status === 200) {
    const items = (JSON.parse(m.body) as { items: { metadata: { name: string }; containers: { usage: { memory: string } }[] }[] }).items;
    memory = items.filter((i) => i.metadata.name.startsWith('db-')).map((i) => ({ name: i.metadata.name, bytes: parseQuantity(i.containers[0]!.usage.memory) }));
  }
  const [pg] = await kube.list<{ metadata: { name: string } }>('v1', 'Pod', `slipway-${app}`, { labelSelector: 'slipway/data=postgres' });
  const at = { namespace: `slipway-${app}`, pod: pg!.metadata.name, container: 'postgres' };
  const inPod = async (cmd: string[]) => {
    const r = await execOutput(kube, at, cmd, AbortSignal.timeout(180_000), 64 * 2 ** 20);
    if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  await inPod(['pgbench', '-h', '/tmp', '-U', 'postgres', '-i', '-s', '4', '-q', 'app']);
  // A drill restores the latest backup: one that holds pgbench's tables.
  await ssh(`pg:backups:capture ${app}`);
  // One run of the load: per-transaction latencies from pgbench's log (its third field, µs).
  const pgbench = async () => {
    const out = await inPod(['sh', '-c', `cd /tmp && rm -f pgb.* && pgbench -h /tmp -U postgres -S -c 2 -j 1 -R ${LOAD.rate} -T ${LOAD.seconds} -l --log-prefix=pgb app >/dev/null 2>&1 && cat pgb.* && rm -f pgb.*`]);
    return out.split('\n').filter(Boolean).map((l) => Number(l.split(' ')[2]) / 1000).sort((a, b) => a - b);
  };
  for (let round = 0; round < SETTINGS.rounds; round++) {
    say(`round ${round + 1}: pgbench alone, then beside a restore drill`);
    load.alone.push(await pgbench());
    const t0 = performance.now();
    const drill = ssh(`pg:backups:verify ${app}`).then(() => load.drillMs.push(performance.now() - t0));
    load.drill.push(await pgbench());
    await drill;
  }
} finally {
  await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
  await builder.purgeCache(app);
  await s.close();
  deployer.close();
  rmSync(tlsDir, { recursive: true, force: true });
}

/** A memory quantity of the metrics API (`23456Ki`) in bytes. */
function parseQuantity(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) return NaN;
  return Number(m[1]) * ({ Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] as 'Ki'] ?? 1);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
/** The q-quantile of sorted values. */
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (v: number) => `${v.toFixed(2)} ms`;
const p = (runs: number[][], q: number) => median(runs.map((r) => quantile(r, q)));
const report = [
  '# Databases for apps',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), testbed (two nodes, local-path volumes), images ${SETTINGS.postgresImage} and ${SETTINGS.valkeyImage}. Machine: 2 shared cores.`,
  '',
  '## addons:create until the app is connected',
  '',
  '| measure | median | each round | goal |',
  '|---|---|---|---|',
  `| \`addons:create APP postgres\` on a running app: database ready, its URL released and rolled out | ${s2(median(command))} | ${command.map(s2).join(', ')} | |`,
  `| … until the app answers through the ingress with a query over the new URL | ${s2(median(connected))} | ${connected.map(s2).join(', ')} | ≤ 30 s (Heroku Essential: minutes) |`,
  `| \`docker run\` of the same image until \`pg_isready\` (Dokku's postgres:create; no release, no app restart) | ${s2(median(docker))} | ${docker.map(s2).join(', ')} | |`,
  `| ratio: Slipway until connected / docker run until ready | ${(median(connected) / median(docker)).toFixed(2)}× | | |`,
  '',
  "## A restore drill's cost to the live database",
  '',
  `pgbench select-only (scale 4), 2 clients at ${LOAD.rate} transactions/s for ${LOAD.seconds} s in the database's pod; \`pg:backups:verify\` started with the second run (each drill took ${load.drillMs.map(s2).join(', ')}).`,
  '',
  '| measure | alone | beside a drill | change | each round (alone / beside) | goal |',
  '|---|---|---|---|---|---|',
  `| p50 per transaction | ${ms(p(load.alone, 0.5))} | ${ms(p(load.drill, 0.5))} | ${((p(load.drill, 0.5) / p(load.alone, 0.5) - 1) * 100).toFixed(0)} % | ${load.alone.map((r, i) => `${ms(quantile(r, 0.5))} / ${ms(quantile(load.drill[i]!, 0.5))}`).join(', ')} | |`,
  `| p99 per transaction | ${ms(p(load.alone, 0.99))} | ${ms(p(load.drill, 0.99))} | ${((p(load.drill, 0.99) / p(load.alone, 0.99) - 1) * 100).toFixed(0)} % | ${load.alone.map((r, i) => `${ms(quantile(r, 0.99))} / ${ms(quantile(load.drill[i]!, 0.99))}`).join(', ')} | ≤ +10 % |`,
  '',
  '## Idle memory (working set, metrics API, after 45 s idle)',
  '',
  '| pod | memory | goal |',
  '|---|---|---|',
  ...memory.map((m) => `| ${m.name} | ${mib(m.bytes)} | ${m.name.includes('postgres') ? '≤ 64 MiB' : '≤ 16 MiB'} |`),
  '',
].join('\n');
// The sections this bench does not write (measured by other means, or said of a run) are kept.
writeKeepingSections(SETTINGS.out, report);
process.stdout.write(report);
