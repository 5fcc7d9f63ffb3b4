// Kubernetes deploy latency against a real API server (the testbed's control plane):
//   - deploy() called → objects applied, and → the new ReplicaSet exists (goal ≤ 0.5 s)
//   - config:set run as a command → the new release's ReplicaSet exists (goal ≤ 1 s)
// The rollout wait is off (the testbed has no node: pods never get ready); what is measured is
// Slipway's part plus the controller-manager creating the ReplicaSet.
//   KUBECONFIG=… node bench/kube-deploy.ts        (BENCH_ROUNDS=10 by default)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ReplicaSet } from '../server/kube/types.ts';
import { loadConfig } from '../server/config.ts';
import { execute } from '../server/commands/execute.ts';
import { KubeClient } from '../server/kube/client.ts';
import { KubeDeployer } from '../server/deploy/kube.ts';
import type { DeployableRelease } from '../server/model.ts';
import { lineTranscript } from '../server/output/transcript.ts';
import { configureLog } from '../server/output/log.ts';
import { deployable } from '../server/ops/releases/release.ts';
import { Events } from '../server/jobs/events.ts';
import { JobRunner } from '../server/jobs/runner.ts';
import { RunningDeploys, RunningSessions } from '../server/context.ts';
import { openStore, storeKeysOf } from '../server/store/index.ts';
import { markdownTable, median, secs, type Row } from './stats.ts';
import { benchEnv } from './settings.ts';
import { AuditLog } from '../server/ops/audit/recorder.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  kubeconfig: benchEnv.KUBECONFIG ?? '',
  rounds: Number(benchEnv.BENCH_ROUNDS || 10),
  out: resolve(import.meta.dirname, 'results', 'kube.md'),
});
if (!SETTINGS.kubeconfig) {
  process.stderr.write('bench: set KUBECONFIG (eval "$(npm run -s testbed)")\n');
  process.exit(2);
}
configureLog({ level: 'error' });
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const silent = lineTranscript(() => {});
const never = new AbortController().signal;

/** Resolves when the ReplicaSet of `release` for `app` exists, polling every 10 ms. */
async function replicaSetOf(kube: KubeClient, app: string, release: number): Promise<void> {
  for (;;) {
    const rs = await kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', `slipway-${app}`, { labelSelector: `app.kubernetes.io/instance=${app},slipway/release=${release}` });
    if (rs.length > 0) return;
    await sleep(10);
  }
}

function release(app: string, version: number): DeployableRelease {
  return {
    app, version, image: `registry.test/${app}@sha256:${String(version).padStart(64, '0')}`,
    processes: [{ type: 'web', command: ['web'], args: [], default: true }, { type: 'worker', command: ['worker'], args: [], default: false }],
    config: { DATABASE_URL: `postgres://db/${version}`, SECRET: randomBytes(16).toString('hex') }, formation: {}, domains: [`${app}.apps.test`],
  };
}

const app = `bench-${randomBytes(3).toString('hex')}`;
const kube = new KubeClient(SETTINGS.kubeconfig);
const deployer = new KubeDeployer(kube, { rolloutTimeoutMs: 60_000, waitForRollout: false });
const applied: number[] = [];
const toReplicaSet: number[] = [];
const configSet: number[] = [];
let cold = { applied: 0, rs: 0 };
const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-kube-'));
try {
  // Cold: a new client (API discovery, TLS handshakes) and a new namespace: an app's first deploy
  // right after the server started.
  let t0 = performance.now();
  await deployer.rollout.deploy(release(app, 1), { transcript: silent, signal: never });
  cold.applied = performance.now() - t0;
  await replicaSetOf(kube, app, 1);
  cold.rs = performance.now() - t0;
  say(`cold first deploy: applied ${secs(cold.applied)}, ReplicaSet ${secs(cold.rs)}`);

  // Warm: what every later push's deploy step costs.
  let prev = release(app, 1);
  for (let v = 2; v < 2 + SETTINGS.rounds; v++) {
    const r = release(app, v);
    t0 = performance.now();
    await deployer.rollout.deploy(r, { previous: prev, transcript: silent, signal: never });
    applied.push(performance.now() - t0);
    await replicaSetOf(kube, app, v);
    toReplicaSet.push(performance.now() - t0);
    prev = r;
  }
  say(`deploy: applied ${secs(median(applied))}, ReplicaSet ${secs(median(toReplicaSet))} (median of ${SETTINGS.rounds})`);

  // config:set as the command runs it (parse, lock, new release in SQLite, deploy), in process.
  const config = loadConfig({ SLIPWAY_DATA_DIR: dir, SLIPWAY_BASE_DOMAIN: 'apps.test' });
  const store = openStore(config.dbFile, storeKeysOf(config));
  try {
    store.apps.create(app);
    const first = store.releases.create({ app, description: 'bench', commit: null, image: prev.image, processes: prev.processes, config: {} });
    await deployer.rollout.deploy(deployable({ config, store }, first), { transcript: silent, signal: never });
    store.releases.finish(app, first.version, 'succeeded');
    const pushes = new RunningDeploys();
    const services = { config, store, pushes, sessions: new RunningSessions(), jobs: new JobRunner(store, config, pushes), events: new Events(), builder: undefined, deployer, audit: new AuditLog(store) };
    const io = { stdout: () => {}, stderr: (s: string) => say(s.trim()), stdin: async () => '', color: false, signal: never };
    for (let i = 0; i < SETTINGS.rounds; i++) {
      t0 = performance.now();
      const code = await execute(services, { name: 'bench', admin: true, via: 'local' }, ['config:set', app, `ROUND=${i}`], io);
      if (code !== 0) throw new Error(`config:set exited ${code}`);
      await replicaSetOf(kube, app, store.releases.current(app)!.version);
      configSet.push(performance.now() - t0);
    }
  } finally {
    store.close();
  }
  say(`config:set → ReplicaSet ${secs(median(configSet))} (median of ${SETTINGS.rounds})`);

  const range = (xs: number[]) => `${secs(Math.min(...xs))} – ${secs(Math.max(...xs))}`;
  const rows: Row[] = [
    { measure: 'first deploy of an app, new client: deploy() → applied', slipway: secs(cold.applied), baseline: '', ratio: '', goal: '', met: '' },
    { measure: 'first deploy of an app, new client: deploy() → ReplicaSet', slipway: secs(cold.rs), baseline: '', ratio: '', goal: '≤ 0.5 s', met: cold.rs <= 500 ? 'yes' : 'no' },
    { measure: `deploy() → objects applied (median; ${range(applied)})`, slipway: secs(median(applied)), baseline: '', ratio: '', goal: '', met: '' },
    { measure: `deploy() → new ReplicaSet (median; ${range(toReplicaSet)})`, slipway: secs(median(toReplicaSet)), baseline: '', ratio: '', goal: '≤ 0.5 s', met: median(toReplicaSet) <= 500 ? 'yes' : 'no' },
    { measure: `config:set → new ReplicaSet (median; ${range(configSet)})`, slipway: secs(median(configSet)), baseline: '', ratio: '', goal: '≤ 1 s', met: median(configSet) <= 1000 ? 'yes' : 'no' },
  ];
  const table = markdownTable(rows);
  writeFileSync(SETTINGS.out, `# Kubernetes deploy latency\n\n${new Date().toISOString()}, ${SETTINGS.rounds} rounds, testbed control plane (no node; rollout wait off).\n\n${table}\n`);
  process.stdout.write(table + '\n');
} finally {
  await new KubeDeployer(kube, { rolloutTimeoutMs: 120_000 }).rollout.destroy(app);
  rmSync(dir, { recursive: true, force: true });
}
