// The platform's own metrics, for Prometheus (GET /metrics): prom-client's one home. Every layer
// records here (the transports count connections, the push and the operations time what they
// run), so this module sits at the engine floor and imports nothing of Slipway's. A label takes
// only values from a short set the code knows (a backend, an outcome, a job's kind, a route
// pattern, a status code), except `app`: never a URL, a key's name, an address or an error text,
// so a scrape stays the same size however the server is used.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a push, a build or a rollback ended. */
export type Outcome = 'succeeded' | 'failed' | 'cancelled';

/** The transports that take connections. */
export type Transport = 'ssh' | 'http';

const registry = new Registry();
let defaults = false;

/** Seconds since `start` (a `performance.now()`), for a histogram. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

// Durations of what takes minutes (a push, a build): from a warm push's seconds to a slow build's
// twenty minutes (SLIPWAY_BUILD_TIMEOUT_S's default is 30 min).
const LONG = [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800];
// What takes seconds: a rollback that only moves the traffic, a wait for a build slot.
const SHORT = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// An API request: milliseconds.
const REQUEST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

const pushes = new Counter({ name: 'slipway_pushes_total', help: 'Pushes that deployed (or not), by builder backend and outcome.', labelNames: ['backend', 'outcome'], registers: [registry] });
const pushDuration = new Histogram({ name: 'slipway_push_duration_seconds', help: 'How long a push took, from its pre-receive hook to its verdict, by builder backend and outcome.', labelNames: ['backend', 'outcome'], buckets: LONG, registers: [registry] });
const pushToLive = new Histogram({ name: 'slipway_push_to_live_seconds', help: "From the start of a push (git receive-pack started) until its release served, by builder backend: what a pusher waits for.", labelNames: ['backend'], buckets: LONG, registers: [registry] });
const builds = new Counter({ name: 'slipway_builds_total', help: 'Builds, by builder backend and outcome.', labelNames: ['backend', 'outcome'], registers: [registry] });
const buildDuration = new Histogram({ name: 'slipway_build_duration_seconds', help: 'How long a build took (waiting for a build slot included), by builder backend and outcome.', labelNames: ['backend', 'outcome'], buckets: LONG, registers: [registry] });
const queueLength = new Gauge({ name: 'slipway_build_queue_length', help: 'Builds waiting for a build slot now (cluster builds: SLIPWAY_BUILD_CONCURRENCY).', registers: [registry] });
const queueWait = new Histogram({ name: 'slipway_build_queue_wait_seconds', help: 'How long a build waited for its build slot (0 when one was free).', buckets: SHORT, registers: [registry] });
const rollbacks = new Counter({ name: 'slipway_rollbacks_total', help: 'Rollbacks, by outcome.', labelNames: ['outcome'], registers: [registry] });
const rollbackDuration = new Histogram({ name: 'slipway_rollback_duration_seconds', help: 'How long a rollback took, from taking the lock to the earlier release serving, by outcome.', labelNames: ['outcome'], buckets: SHORT, registers: [registry] });
const jobsEnded = new Counter({ name: 'slipway_jobs_total', help: 'Jobs that ended, by kind (push, config:set, ps:scale, …) and status.', labelNames: ['kind', 'status'], registers: [registry] });
const jobsRunning = new Gauge({ name: 'slipway_jobs_running', help: 'Jobs running in this server now, by kind.', labelNames: ['kind'], registers: [registry] });
const connections = new Counter({ name: 'slipway_connections_total', help: 'Connections accepted, by transport.', labelNames: ['transport'], registers: [registry] });
const connectionsOpen = new Gauge({ name: 'slipway_connections_open', help: 'Connections open now, by transport.', labelNames: ['transport'], registers: [registry] });
const refusals = new Counter({ name: 'slipway_connections_refused_total', help: 'Connections closed at accept, by transport and reason (a limit, a penalised source).', labelNames: ['transport', 'reason'], registers: [registry] });
const authFailures = new Counter({ name: 'slipway_authentication_failures_total', help: 'Failed authentications (an unknown key or a bad signature over SSH; a wrong token or a refused dashboard login over HTTP), by transport.', labelNames: ['transport'], registers: [registry] });
const streamsOpen = new Gauge({ name: 'slipway_sse_streams_open', help: 'Server-sent event streams open now (events, followed logs, job transcripts, metrics).', registers: [registry] });
const apiDuration = new Histogram({ name: 'slipway_api_request_duration_seconds', help: 'API requests by method, route pattern and status code (event streams are not counted).', labelNames: ['method', 'route', 'status'], buckets: REQUEST, registers: [registry] });
const desired = new Gauge({ name: 'slipway_app_processes_desired', help: "Instances an app's process types ask for, from the cluster's watch cache.", labelNames: ['app'], registers: [registry] });
const ready = new Gauge({ name: 'slipway_app_processes_ready', help: "An app's ready instances, from the cluster's watch cache.", labelNames: ['app'], registers: [registry] });
const cacheUp = new Gauge({ name: 'slipway_cluster_cache_synced', help: '1 when the watch cache the process counts come from has listed the cluster, else 0 (the process counts are then absent).', registers: [registry] });
const backups = new Counter({ name: 'slipway_database_backups_total', help: 'Database backups taken by the db-backups round and pg:backups:capture, by outcome.', labelNames: ['outcome'], registers: [registry] });
const drills = new Counter({ name: 'slipway_database_drills_total', help: 'Restore drills of database backups, by outcome.', labelNames: ['outcome'], registers: [registry] });
const lastBackup = new Gauge({ name: 'slipway_database_backup_last_success_timestamp_seconds', help: "The oldest of an app's databases' last successful backups (Unix time; 0: one has none yet): alert on time() minus it.", labelNames: ['app'], registers: [registry] });
const lastDrill = new Gauge({ name: 'slipway_database_drill_last_success_timestamp_seconds', help: "The oldest of an app's databases' last successful restore drills (Unix time; 0: one has none yet).", labelNames: ['app'], registers: [registry] });

/** A push ended: counted, and its duration observed, by backend and outcome. */
export function observePush(backend: string, outcome: Outcome, seconds: number): void {
  pushes.inc({ backend, outcome });
  pushDuration.observe({ backend, outcome }, seconds);
}

/** A push's release serves: the time since the push started. */
export function observePushToLive(backend: string, seconds: number): void {
  pushToLive.observe({ backend }, seconds);
}

/** A build ended. */
export function observeBuild(backend: string, outcome: Outcome, seconds: number): void {
  builds.inc({ backend, outcome });
  buildDuration.observe({ backend, outcome }, seconds);
}

/** A build starts waiting for a slot; the function returned says it stopped waiting (once, however often called). */
export function buildQueued(): () => void {
  const start = performance.now();
  queueLength.inc();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    queueLength.dec();
    queueWait.observe(secondsSince(start));
  };
}

/** A rollback ended. */
export function observeRollback(outcome: Outcome, seconds: number): void {
  rollbacks.inc({ outcome });
  rollbackDuration.observe({ outcome }, seconds);
}

/** A job of `kind` started running here. */
export function jobStarted(kind: string): void {
  jobsRunning.inc({ kind });
}

/** A job of `kind` ended with `status`. */
export function jobEnded(kind: string, status: string): void {
  jobsRunning.dec({ kind });
  jobsEnded.inc({ kind, status });
}

/** A connection was accepted; the function returned says it closed (once). */
export function connectionOpened(transport: Transport): () => void {
  connections.inc({ transport });
  connectionsOpen.inc({ transport });
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    connectionsOpen.dec({ transport });
  };
}

/** A connection was closed at accept; `reason` is one of a few fixed words (`max_connections`, `per_source`, …). */
export function connectionRefused(transport: Transport, reason: string): void {
  refusals.inc({ transport, reason });
}

/** An authentication failed. */
export function authenticationFailed(transport: Transport): void {
  authFailures.inc({ transport });
}

/** An event stream opened; the function returned says it closed (once). */
export function streamOpened(): () => void {
  streamsOpen.inc();
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    streamsOpen.dec();
  };
}

/** An API request was answered: `route` is its pattern (`/api/v1/apps/:app`), never the URL asked for. */
export function observeApiRequest(method: string, route: string, status: number, seconds: number): void {
  apiDuration.observe({ method, route, status: String(status) }, seconds);
}

/** One app's instances. */
export interface AppProcesses {
  desired: number;
  ready: number;
}

/** The process counts of every app as the watch cache has them now; undefined when the cache has not listed the cluster. */
export function setAppProcesses(apps: ReadonlyMap<string, AppProcesses> | undefined): void {
  desired.reset();
  ready.reset();
  cacheUp.set(apps ? 1 : 0);
  for (const [app, p] of apps ?? []) {
    desired.set({ app }, p.desired);
    ready.set({ app }, p.ready);
  }
}

/** A database backup ended. */
export function observeBackup(ok: boolean): void {
  backups.inc({ outcome: ok ? 'succeeded' : 'failed' });
}

/** A restore drill ended. */
export function observeDrill(ok: boolean): void {
  drills.inc({ outcome: ok ? 'succeeded' : 'failed' });
}

/** When an app's databases were last proven: the oldest last successful backup and drill (ms since the epoch; 0 for never). */
export interface AppBackups {
  backup: number;
  drill: number;
}

/** The last successful backups and drills of every app with databases, as the store has them now. */
export function setBackupTimes(apps: ReadonlyMap<string, AppBackups>): void {
  lastBackup.reset();
  lastDrill.reset();
  for (const [app, t] of apps) {
    lastBackup.set({ app }, t.backup / 1000);
    lastDrill.set({ app }, t.drill / 1000);
  }
}

/**
 * Starts prom-client's default metrics of this process (resident memory, CPU, heap, event-loop
 * lag, open handles), once: the server calls it when its HTTP port opens, so a one-shot command
 * of the local CLI runs no event-loop monitor.
 */
export function startProcessMetrics(): void {
  if (defaults) return;
  defaults = true;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
}

/** Everything, in Prometheus's text format, with its content type. */
export async function exposition(): Promise<{ contentType: string; text: string }> {
  return { contentType: registry.contentType, text: await registry.metrics() };
}
