// Cluster build bench (issue 21): the same app's warm code-only build with the `pack` backend
// (the server's Docker engine) and with the `cluster` backend (a pod per build in slipway-builds),
// in one run, pushes taking turns. The cluster backend is measured twice: as it ships (a spare pod
// started before the push, SLIPWAY_BUILD_SPARE=1) and starting each build's pod on the push's path
// (SLIPWAY_BUILD_SPARE=0). Times are of the builder's build() alone (what the push waits for between
// receiving and deploying); the deployer is the test fake.
//   eval "$(npm run -s testbed)"; node bench/cluster-build.ts
//   BENCH_CLUSTER_ROUNDS=N warm pushes per backend (default 5); BENCH_CLUSTER_APPS=node-app,python-app
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../server/config.ts';
import { findProgram } from '../server/backends.ts';
import { PackBuilder, packSettings } from '../server/build/pack.ts';
import { ClusterBuilder, clusterBuildSettings } from '../server/cluster-build/builder.ts';
import { KubeClient } from '../server/kube/client.ts';
import { benchEnv } from './settings.ts';
import { TimedBuilder as Timed } from './timed-builder.ts';
import { median } from './stats.ts';
import { startTestServer, type TestServer } from '../test/support/harness.ts';
import { fixtureCopy, registryAuthEnv } from '../test/support/testbed.ts';

const ROUNDS = Number(benchEnv.BENCH_CLUSTER_ROUNDS ?? 5);
const FIXTURES: Record<string, { file: string; comment: string }> = {
  'node-app': { file: 'server.js', comment: '//' },
  'python-app': { file: 'app.py', comment: '#' },
};
const apps = (benchEnv.BENCH_CLUSTER_APPS ?? 'node-app').split(',');
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const env = loadConfig();
const pack = findProgram(env.packBinary, env.searchPath);
if (!pack || env.builderImage === 'heroku/builder:24' || !benchEnv.KUBECONFIG) {
  process.stderr.write('bench/cluster-build: needs the testbed (pack, the offline builder, Kubernetes): eval "$(npm run -s testbed)" first\n');
  process.exit(1);
}
const serverEnv = { SLIPWAY_BUILDER: env.builderImage, SLIPWAY_REGISTRY: env.registry, KUBECONFIG: benchEnv.KUBECONFIG, ...registryAuthEnv() };
const kube = new KubeClient(benchEnv.KUBECONFIG);
const cluster = (spare: '0' | '1') => new ClusterBuilder(kube, clusterBuildSettings(loadConfig({
  ...benchEnv, ...serverEnv, SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_BUILD_SPARE: spare, SLIPWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'slipway-bench-cb-')),
})));
const packBuilder = new Timed(new PackBuilder({ ...packSettings(env, pack), buildTimeoutMs: 15 * 60_000 }));
// One cluster server at a time: a spare holds a build's CPU request (SLIPWAY_BUILD_CPU, 1), and a
// 2-core node has no room for a second one beside the apps.
const variants: { label: string; spare: '0' | '1' }[] = [{ label: 'cluster', spare: '1' }, { label: 'cluster, no spare', spare: '0' }];
const servers: TestServer[] = [];
try {
  const packServer = await startTestServer(serverEnv, { builder: packBuilder });
  servers.push(packServer);
  const rows: string[] = [];
  /** Creates the app on a server, pushes it cold, and returns its work tree and the cold build's time. */
  const coldPush = async (s: TestServer, b: Timed, name: string, app: string) => {
    await s.ssh(s.admin, `apps:create ${app}`);
    await b.purgeCache(app);
    const wd = fixtureCopy(name);
    await s.commitAll(wd, 'cold');
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (r.exitCode !== 0) throw new Error(`${name} (${b.name}): cold push failed: ${r.stderr}`);
    return { wd, cold: b.last };
  };
  const warmPush = async (s: TestServer, b: Timed, wd: string, app: string, f: { file: string; comment: string }, round: number) => {
    appendFileSync(join(wd, f.file), `\n${f.comment} change ${round} ${b.name}\n`);
    await s.commitAll(wd, `change ${round}`);
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    if (r.exitCode !== 0) throw new Error(`${b.name}: warm push failed: ${r.stderr}`);
    return b.last;
  };
  const destroy = async (s: TestServer, b: Timed, app: string) => {
    await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
    await b.purgeCache(app);
  };
  for (const name of apps) {
    const f = FIXTURES[name];
    if (!f) throw new Error(`bench/cluster-build: no fixture ${name} (one of ${Object.keys(FIXTURES).join(', ')})`);
    // An app name per backend: both publish to the same registry, and each build reads its app's :latest.
    const app = `bench-cb-${name.replace(/-app$/, '')}-${Date.now().toString(36)}`;
    const packSide = await coldPush(packServer, packBuilder, name, `${app}-p`);
    let turn = 0;
    const results: { label: string; cold: number; warm: number[]; pack: number[] }[] = [];
    for (const [vi, v] of variants.entries()) {
      const vapp = `${app}-c${vi}`;
      const builder = new Timed(cluster(v.spare));
      const s = await startTestServer(serverEnv, { builder });
      servers.push(s);
      try {
        const side = await coldPush(s, builder, name, vapp);
        const warm: number[] = [];
        const packWarm: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          packWarm.push(await warmPush(packServer, packBuilder, packSide.wd, `${app}-p`, f, turn++));
          warm.push(await warmPush(s, builder, side.wd, vapp, f, round));
          process.stderr.write(`bench/cluster-build: ${name} round ${round + 1}: pack ${s2(packWarm.at(-1)!)}, ${v.label} ${s2(warm.at(-1)!)}\n`);
        }
        results.push({ label: v.label, cold: side.cold, warm, pack: packWarm });
        await destroy(s, builder, vapp);
      } finally {
        servers.pop();
        await s.close();
      }
    }
    const range = (xs: number[]) => `${s2(Math.min(...xs))}–${s2(Math.max(...xs))}`;
    for (const r of results) {
      // Each cluster variant against the pack pushes that took turns with it (the machine's speed drifts).
      const ratio = median(r.warm) / median(r.pack);
      rows.push(`| ${name} | pack (turns with ${r.label}) | ${s2(packSide.cold)} | ${s2(median(r.pack))} | ${range(r.pack)} | 1.00× | |`);
      rows.push(`| ${name} | ${r.label} | ${s2(r.cold)} | ${s2(median(r.warm))} | ${range(r.warm)} | ${ratio.toFixed(2)}× | ${r.label === 'cluster' ? (ratio <= 1.5 ? 'met' : 'not met') : ''} |`);
    }
    await destroy(packServer, packBuilder, `${app}-p`);
  }
  const lines = [
    `Cluster build bench, ${new Date().toISOString().slice(0, 10)}, builder ${env.builderImage}, one testbed node (2 cores), cluster builds with SLIPWAY_BUILD_CPU=${loadConfig(benchEnv).buildCpu} and SLIPWAY_BUILD_MEMORY=${loadConfig(benchEnv).buildMemory}, ${ROUNDS} warm code-only pushes per cluster variant taking turns with the pack backend's (medians), times of the build alone`,
    '',
    '| app | backend | cold build | warm build (median) | warm range | ÷ pack (warm) | goal ≤ 1.5× |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  writeFileSync(join(import.meta.dirname, 'results', 'cluster-build.md'), `# Cluster build bench\n\n${lines.join('\n')}\n\nCommand: \`node bench/cluster-build.ts\` (part of \`npm run bench\` with the testbed up)\n`);
} finally {
  for (const s of servers) await s.close();
}
