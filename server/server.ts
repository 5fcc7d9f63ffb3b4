import { Rounds } from './ops/rounds.ts';
import { serverRounds } from './ops/server-rounds.ts';
import { connect, type Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { RunningDeploys, RunningSessions, type Backends, type Services } from './context.ts';
import { UserError } from './errors.ts';
import { openStoreCopyingFirst, storeKeysOf } from './store/index.ts';
import { upgrading } from './ops/upgrade/maintenance.ts';
import { importAdminKeys } from './bootstrap.ts';
import { installHookShim, sweepIncoming } from './repos.ts';
import { sweepTrees } from './build/extract.ts';
import { log } from './output/log.ts';
import { startHookServer } from './push/hook-server.ts';
import { startSshServer } from './transport/ssh/server.ts';
import { startHttpServer } from './transport/http/server.ts';
import { startWaker } from './transport/http/waker.ts';
import { startTracing, stopTracing } from './observe/traces.ts';
import { nativeCryptoLoaded } from './transport/ssh/lib.ts';
import { interruptAbandonedJobs, JobRunner } from './jobs/runner.ts';
import { Events } from './jobs/events.ts';
import { reconcileAtStart } from './ops/admin/reconcile.ts';
import { AuditLog, recordAfter } from './ops/audit/recorder.ts';
import { DrainEvents } from './ops/drains/events.ts';
import { ensureAuditKey } from './ops/audit/checkpoint.ts';

/** A started Slipway: its services, the ports it listens on, and how to stop it. */
export interface RunningSlipway {
  services: Services;
  sshPort: number;
  httpPort: number;
  close(): Promise<void>;
}


function closeServer(s: { close(cb: (err?: Error) => void): unknown }): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/**
 * Whether a server answers on the hook socket. The kernel drops a listening socket with its
 * process, so unlike a pid (reused after a reboot) a refused or missing socket is proof the
 * previous server is gone.
 */
function hookSocketLive(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new Error(`checking the hook socket ${path} failed`, { cause: err }));
    });
  });
}

/**
 * One server per data dir: the deploy locks and the hook socket assume it. server.pid is only
 * informational (for operators and the bench); the live hook socket is the claim.
 */
async function claimDataDir(config: Config): Promise<() => void> {
  const pidFile = join(config.runDir, 'server.pid');
  mkdirSync(config.runDir, { recursive: true, mode: 0o700 });
  if (await hookSocketLive(config.hookSocket)) {
    throw new UserError(`Another Slipway server is using ${config.dataDir} (its hook socket answers); stop it first.`);
  }
  writeFileSync(pidFile, String(process.pid), { mode: 0o600 });
  return () => rmSync(pidFile, { force: true });
}

/** Opens the state, recovers from a crash, and starts the hook, SSH and HTTP servers. */
export async function startSlipway(config: Readonly<Config>, backends: Backends): Promise<RunningSlipway> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const startedAt = Date.now();
  const release = await claimDataDir(config);
  const { store, copy } = await openStoreCopyingFirst(config.dbFile, config.storeCopiesDir, storeKeysOf(config));
  if (copy) log.warn('migrated the store; a copy taken before is kept', { copy });
  // Recovery: whatever a previous process of ours left half-done is over.
  const cleared = store.apps.clearLocksOf(process.pid) + store.apps.clearStaleLocks();
  // A job left queued or running died with that process: interrupted, its transcript kept.
  const abandoned = store.releases.failAbandoned() + store.builds.failAbandoned() + interruptAbandonedJobs(store);
  const trees = await sweepTrees(config.tmpDir);
  // No push runs yet (one server per data dir), so every quarantine is a killed push's.
  const incoming = await sweepIncoming(config, startedAt);
  if (cleared || abandoned || trees || incoming) log.warn('recovered from an unclean stop', { cleared, abandoned, trees, incoming });
  if (config.adminKeysFile) importAdminKeys(store, config.adminKeysFile);
  // The key the audit log's daily checkpoints are signed with, outside the database.
  ensureAuditKey(config);
  installHookShim(config);
  if (!nativeCryptoLoaded()) {
    log.error('ssh2 native crypto binding NOT loaded: SSH transfers will be about 10x slower. Reinstall dependencies with scripts/provision (Node 24 headers).');
  }
  if (!backends.builder) log.warn(config.buildBackend === 'cluster' ? 'no builder configured: pushes will be rejected until KUBECONFIG is set (SLIPWAY_BUILD_BACKEND=cluster)' : 'no builder configured: pushes will be rejected until pack is set up');
  // No build runs yet: build pods of this server are a previous process's.
  const leftBuilds = await backends.builder?.removeLeftovers?.().catch((err: unknown) => {
    log.warn('could not remove build pods a previous process left', { err });
    return 0;
  });
  if (leftBuilds) log.warn('removed build pods a previous process left', { pods: leftBuilds });
  if (!backends.deployer) log.warn('no deployer configured: pushes will be rejected until KUBECONFIG is set');

  const pushes = new RunningDeploys();
  const events = new Events();
  const audit = new AuditLog(store);
  const services: Services = { config, store, pushes, sessions: new RunningSessions(), jobs: new JobRunner(store, config, pushes, events, audit), events, builder: backends.builder, deployer: backends.deployer, registry: backends.registry, ...(backends.kube ? { kube: backends.kube } : {}), nativeCrypto: nativeCryptoLoaded, audit };
  // Before any deploy is accepted: the cluster runs what the database says (see push/reconcile.ts).
  const reconciled = await reconcileAtStart(services);
  if (reconciled.restored.length || reconciled.sweptPods || reconciled.halfMade.length || reconciled.scratch.length) log.warn('brought the cluster in line with the database', { ...reconciled });
  // Traces of pushes, when an OTLP endpoint is set: on before the first push can arrive.
  if (config.otlpTracesUrl) await startTracing(config.otlpTracesUrl, config.version);
  // A start that fails halfway (a port taken, an unreadable host key) closes what it opened, so
  // the process ends and the data dir is free again instead of a hook socket holding both.
  const opened: Array<{ close(cb: (err?: Error) => void): unknown }> = [];
  let hook: Server, ssh: Server, http: HttpServer, waker: HttpServer | undefined;
  try {
    opened.push(hook = await startHookServer(services));
    opened.push(ssh = await startSshServer(services));
    opened.push(http = await startHttpServer(services));
    waker = await startWaker(services);
    if (waker) opened.push(waker);
  } catch (err) {
    await Promise.all(opened.map(closeServer));
    if (config.otlpTracesUrl) await stopTracing().catch((e: unknown) => log.warn('the trace exporter did not stop cleanly', { err: e }));
    store.close();
    release();
    throw err;
  }
  const sshPort = (ssh.address() as AddressInfo).port;
  const httpPort = (http.address() as AddressInfo).port;
  // With port 0 (tests), the remotes we print must name the ports actually bound.
  // The waker's port goes into the sleeping apps' EndpointSlices: the one bound.
  const wakerPort = waker ? (waker.address() as AddressInfo).port : config.wakerPort;
  services.config = Object.freeze({ ...config, sshPort, httpPort, wakerPort });
  // An upgrade's restart would cut a round in half (a deploy, a backup): none starts while one runs.
  // The audit log records each run of a round that changes the server's own state (gc, backups) and
  // a round that starts failing, once, not every interval it goes on failing.
  const rounds = new Rounds(serverRounds(services), {
    paused: () => upgrading(config),
    observe: (round, error, failedBefore) => {
      if (error === null ? !round.audited : failedBefore) return;
      recordAfter(services, { actor: 'slipway', interface: 'server', action: `round:${round.name}`, outcome: error === null ? 'ok' : 'failed', meta: error === null ? {} : { error: error.slice(0, 300) } });
    },
  });
  services.rounds = rounds;
  rounds.start();
  // Slipway's own events and the audit entries, for the log drains (when one exists).
  const drainEvents = new DrainEvents(services).start(audit);
  log.info('slipway started', { ssh: sshPort, http: httpPort, dataDir: config.dataDir, builder: backends.builder?.name ?? null, deployer: backends.deployer?.name ?? null,
    gc: { keepReleases: config.keepReleases, intervalS: config.gcIntervalMs / 1000, storage: config.registryGcConfig ?? 'not configured (SLIPWAY_REGISTRY_GC_CONFIG)' } });

  return {
    services,
    sshPort,
    httpPort,
    close: async () => {
      drainEvents.stop();
      services.jobs.close();
      services.pushes.abortAll('the server is stopping');
      rounds.stop();
      const closing = Promise.all([closeServer(ssh as Server), closeServer(http), closeServer(hook), ...(waker ? [closeServer(waker)] : [])]);
      // A stopping server must not wait on clients: connections that sent nothing yet, or hold a
      // request open, would keep close() pending for as long as they like.
      http.closeAllConnections();
      waker?.closeAllConnections();
      await closing;
      await backends.builder?.close?.().catch((err: unknown) => log.warn('the builder did not close cleanly', { err }));
      backends.deployer?.close?.();
      // What is still batched goes out before the process ends.
      if (config.otlpTracesUrl) await stopTracing().catch((err: unknown) => log.warn('the trace exporter did not stop cleanly', { err }));
      store.close();
      release();
    },
  };
}
