// What every entry point (SSH, HTTP, the hook socket, the local CLI) hands down: the config, the
// store, the chosen builder and deployer, and the registry of deploys running in this process.
import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import type { Builder } from './build/builder.ts';
import type { Deployer } from './deploy/deployer.ts';
import type { KubeClient } from './kube/client.ts';
import type { ImageRegistry } from './build/registry.ts';
import type { ImageBlobs } from './build/registry-blobs.ts';
import type { ObjectStore } from './s3.ts';
import type { Identity } from './auth/identity.ts';
import type { DoctorCheck } from './health.ts';
import type { JobRow, JobOrigin } from './store/jobs.ts';
import type { Transcript } from './output/transcript.ts';
import { UserError } from './errors.ts';
import { randomBytes } from 'node:crypto';
import type { Round } from './shapes/rounds.ts';

/** How a round has gone since the server started: the API's shape (shapes/rounds.ts). */
export type RoundState = Round;

/** The server's background rounds as operations see them (ops/rounds.ts runs them). */
export interface BackgroundRounds {
  /** Every round as it stands, in registration order. */
  list(): RoundState[];
  /** Runs one now and resolves with how it went; an unknown name is a UserError. */
  runNow(name: string): Promise<RoundState>;
}

/** The services commands and the pipeline work with; the same for the SSH server and the local CLI. */
export interface Services {
  config: Readonly<Config>;
  store: Store;
  pushes: RunningDeploys;
  /** App commands in flight (`logs -t`, `run`…), so a key that loses the app loses them too. */
  sessions: RunningSessions;
  /** Changes that roll out, as jobs: started, followed and cancelled here (jobs/runner.ts). */
  jobs: Jobs;
  /** What changed (jobs, releases, apps), for live views such as GET /api/v1/events (jobs/events.ts). */
  events: EventBus;
  builder: Builder | undefined;
  deployer: Deployer | undefined;
  /** The registry's tags, deletes and storage GC (garbage collection); unset, nothing is collected. */
  registry?: ImageRegistry;
  /** Images by digest for Slipway's own backups; unset, the configured registry's (tests put a fake here). */
  images?: ImageBlobs;
  /** Where verified backups of Slipway are copied; unset, SLIPWAY_BACKUP_S3_URL's bucket, if set (tests put a fake here). */
  backupCopies?: ObjectStore;
  /** The server's one Kubernetes client, for doctor's checks of the cluster. */
  kube?: KubeClient;
  /** Whether ssh2's native crypto binding loaded in this process (for doctor). */
  nativeCrypto?: () => boolean;
  /** The background rounds (ops/rounds.ts): doctor shows them, rounds:run runs one now. */
  rounds?: BackgroundRounds;
  /** The checks doctor runs; tests put fakes here, the product leaves it to doctor's own. */
  doctorChecks?: () => DoctorCheck[];
  /** The audit log's recorder (ops/audit/recorder.ts): every change and every denied attempt, from every interface. */
  audit: AuditRecorder;
}

/** Where an audited action came in: an SSH command, a git push, the API, the dashboard, a forge's webhook, cron, the server itself, the local CLI. */
export type AuditInterface = 'ssh' | 'git' | 'api' | 'dashboard' | 'webhook' | 'cron' | 'server' | 'cli';

/** How an audited action ended. */
export type AuditOutcome = 'ok' | 'denied' | 'failed';

/** One audit entry as a caller gives it; the recorder adds the time, the sequence number and the chain. */
export interface AuditInput {
  /** The key name, or `slipway` for the server's own work, or `unknown` for a caller that did not authenticate. */
  actor: string;
  /** How the actor proved who it is: `key`, `token NAME`, `session ID` (a prefix of its stored hash), `login`. */
  credential?: string | null;
  interface: AuditInterface;
  source?: string | null;
  /** What was done: a command's name (`config:set`), an API route (`PATCH /apps/:app/config`), `push`, … */
  action: string;
  app?: string | null;
  /** What in the app (or, without one, on the server) it was done to: a domain, a database, a key, a token. */
  object?: string | null;
  outcome: AuditOutcome;
  job?: string | null;
  /** Anything else worth keeping, never a secret: config key names, never values. */
  meta?: Record<string, unknown>;
}

/** Records audit entries; declared here so that every layer can be handed it, implemented by ops/audit/recorder.ts. */
export interface AuditRecorder {
  /** Appends one entry to the chain; throws when the store refuses it. */
  record(entry: AuditInput): void;
}

/** The builder and deployer chosen for this server; tests put fakes here, the product never does. */
export interface Backends {
  builder?: Builder;
  deployer?: Deployer;
  registry?: ImageRegistry;
  /** The server's one Kubernetes client (the deployer's and build pods'), when KUBECONFIG is set. */
  kube?: KubeClient;
}

/** A deploy running here (push, rebuild, config change, rollback): who runs it, and how to stop it. */
export interface RunningDeploy {
  id: string;
  app: string;
  identity: Identity;
  controller: AbortController;
  /** When it was registered (`performance.now()`): for a push, when git receive-pack started. */
  startedAt: number;
}

/**
 * Deploys in flight in this process: pushes (from the moment a transport starts
 * git-receive-pack), rebuilds, config changes and rollbacks, so apps:unlock, a closed connection
 * and shutdown can stop them. A push's id is unguessable: the transport puts it in git's
 * environment (SLIPWAY_PUSH_ID) and the pre-receive shim sends it back, the only way a hook
 * connection is tied to an authenticated pusher.
 */
export class RunningDeploys {
  #byId = new Map<string, RunningDeploy>();

  /** Registers a deploy about to start. */
  begin(app: string, identity: Identity): RunningDeploy {
    const s: RunningDeploy = { id: randomBytes(16).toString('hex'), app, identity, controller: new AbortController(), startedAt: performance.now() };
    this.#byId.set(s.id, s);
    return s;
  }

  /** The running deploy with this id (a push's, as the hook sends it back). */
  get(id: string): RunningDeploy | undefined {
    return this.#byId.get(id);
  }

  /** Forgets a finished deploy. */
  end(s: { id: string }): void {
    this.#byId.delete(s.id);
  }

  /** Aborts every deploy of `app` in flight here (apps:unlock); true if there was one. */
  abort(app: string, reason: string): boolean {
    let any = false;
    for (const s of this.#byId.values()) {
      if (s.app === app && !s.controller.signal.aborted) {
        s.controller.abort(new Error(reason));
        any = true;
      }
    }
    return any;
  }

  #builds = 0;
  #collecting: Promise<void> | undefined;

  /**
   * Runs a build, which pushes to the registry: first waits while the registry's storage is being
   * garbage-collected (a blob uploaded during its sweep could be deleted under the new image).
   */
  async building<T>(fn: () => Promise<T>, onWait?: () => void): Promise<T> {
    if (this.#collecting) onWait?.();
    while (this.#collecting) await this.#collecting;
    this.#builds++;
    try {
      return await fn();
    } finally {
      this.#builds--;
    }
  }

  /** Runs `fn` (storage GC) while no build runs here, holding new builds back; undefined, not run, if one is under way. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.#builds > 0 || this.#collecting) return undefined;
    let done!: () => void;
    this.#collecting = new Promise<void>((resolve) => { done = resolve; });
    try {
      return await fn();
    } finally {
      this.#collecting = undefined;
      done();
    }
  }

  /** Aborts everything (server shutdown). */
  abortAll(reason: string): void {
    for (const s of this.#byId.values()) s.controller.abort(new Error(reason));
  }

  /** Every deploy in flight here. */
  list(): RunningDeploy[] {
    return [...this.#byId.values()];
  }
}

/** An app command running for a key: its own stop signal, also aborted when its caller goes away. */
export interface RunningSession {
  /** The app it works on; null for a stream over every app the key may use (the dashboard's events). */
  app: string | null;
  identity: Identity;
  controller: AbortController;
}

/**
 * App commands in flight in this process. A key's rights are checked when a command starts; a
 * command that keeps running (`logs -t`, `run`) is tracked here so that it can be stopped when
 * the key loses the app while it runs.
 */
export class RunningSessions {
  #all = new Set<RunningSession>();

  /** Registers a command on `app` for `identity`; its controller is aborted too when `caller` aborts. */
  begin(app: string | null, identity: Identity, caller: AbortSignal): RunningSession {
    const s: RunningSession = { app, identity, controller: new AbortController() };
    if (caller.aborted) s.controller.abort(caller.reason);
    else caller.addEventListener('abort', () => s.controller.abort(caller.reason), { once: true });
    this.#all.add(s);
    return s;
  }

  /** Forgets a finished command. */
  end(s: RunningSession): void {
    this.#all.delete(s);
  }

  /** Every command in flight here. */
  list(): RunningSession[] {
    return [...this.#all];
  }
}

/** The configured builder, or a sentence saying how to set one up. */
export function requireBuilder(services: Pick<Services, 'builder'>): Builder {
  const builder = services.builder;
  if (!builder) throw new UserError('This server has no builder configured: install pack and a Docker engine (see the README, "npm run testbed"), or build in the cluster (SLIPWAY_BUILD_BACKEND=cluster with KUBECONFIG set), then restart Slipway.');
  return builder;
}

/** A push's builder and deployer, checked once (requireBackends) and handed down its walk. */
export interface PushBackends {
  builder: Builder;
  deployer: Deployer;
}

/** The configured builder and deployer, or the sentence for the first one missing. */
export function requireBackends(services: Pick<Services, 'builder' | 'deployer'>): PushBackends {
  return { builder: requireBuilder(services), deployer: requireDeployer(services) };
}

/** The configured deployer, or a sentence saying how to set one up. */
export function requireDeployer(services: Pick<Services, 'deployer'>): Deployer {
  const deployer = services.deployer;
  if (!deployer) throw new UserError('This server has no Kubernetes cluster configured: set KUBECONFIG to a kubeconfig for your k3s cluster, then restart Slipway.');
  return deployer;
}

/** What a job is and who starts it. */
export interface JobSpec {
  /** What it does, as the user typed it: `config:set`, `push`, `ps:scale`… */
  kind: string;
  app: string;
  identity: Identity;
  origin: JobOrigin;
  /**
   * A foreground caller's signal (its connection): when it aborts, the job is cancelled. Without
   * one the job is detached: it runs until it ends, or until jobs:cancel stops it.
   */
  caller?: AbortSignal;
  /** The caller's own view of the transcript (its output), written to as the job writes. */
  echo?: Transcript;
  /** Called with the new job before its work starts (an SSH command says the job's id). */
  onStart?: (job: JobRow) => void;
}

/** A started job: its row (running) and its work's outcome. */
export interface StartedJob<T> {
  job: JobRow;
  /** The work's value, or its error (also recorded in the job). */
  result: Promise<T>;
  /** The job's row once it ended. */
  ended: Promise<JobRow>;
}

/**
 * The job runner as the services carry it; jobs/runner.ts implements it. Declared here, with the
 * other services, so that what every entry point is handed does not depend on the operations layer.
 */
export interface Jobs {
  /** Starts `work` as a job and returns at once (see JobRunner.start). */
  start<T>(spec: JobSpec, work: (t: Transcript, signal: AbortSignal) => Promise<T>): StartedJob<T>;
  /** The stored job, if it exists (callers check the caller's rights on its app). */
  get(id: string): JobRow | undefined;
  /** Every line of the job's transcript, then new ones, until it ends or `signal` aborts; resolves with the job then. */
  follow(job: JobRow, onLines: (lines: string[]) => Promise<void> | void, signal: AbortSignal): Promise<JobRow>;
  /** Stops a running job; resolves once it ended. */
  cancel(job: JobRow, by: string): Promise<JobRow>;
  /** The server is stopping: jobs ending from now on are interrupted. */
  close(): void;
}

/** What changed about an app, as an `app` event says it. */
export type AppChange = 'created' | 'destroyed' | 'scaled' | 'config' | 'stopped' | 'started' | 'domains' | 'data' | 'asleep' | 'woke';

/** Something that happened in this process: a job started or ended, a release was recorded or ended, an app changed. */
export type SlipwayEvent =
  | { type: 'job'; app: string; job: JobRow }
  | { type: 'release'; app: string; version: number }
  | { type: 'app'; app: string; change: AppChange };

/**
 * The in-process event bus as the services carry it; jobs/events.ts implements it. Listeners are
 * called synchronously by publish, so a listener that checks rights sees the store as it was when
 * the event happened (an app about to be destroyed still has its grants).
 */
export interface EventBus {
  /** Hands the event to every listener; a listener that throws is logged and the others still get it. */
  publish(event: SlipwayEvent): void;
  /** Adds a listener for `key` (the identity's name); returns the function that removes it. */
  subscribe(key: string, listener: (event: SlipwayEvent) => void): () => void;
  /** How many listeners `key` has now (GET /events bounds the streams one key may hold). */
  count(key: string): number;
}
