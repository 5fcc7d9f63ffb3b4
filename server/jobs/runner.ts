// Runs every change that rolls out as a job: a row in the store (who, what, how it ended), a
// transcript on disk next to the app's build logs, and, while it runs, followers from any
// connection. A job runs on its own controller: a foreground caller (an SSH command, a push)
// passes its connection's signal and the job stops when the caller goes away, as `git push`
// does; a caller that detaches (the API) passes none, and only jobs:cancel, apps:unlock, a key
// losing the app or the server stopping end it early.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Identity } from '../auth/identity.ts';
import type { Config } from '../config.ts';
import { UserError } from '../errors.ts';
import { log } from '../output/log.ts';
import { errorLine } from '../output/output.ts';
import { lineTranscript, type Transcript } from '../output/transcript.ts';
import type { Store } from '../store/index.ts';
import type { JobEnd, JobOrigin, JobRow } from '../store/jobs.ts';
import { appName } from '../names.ts';
import { hasEnded } from './job.ts';
import { JobLog } from './job-log.ts';

/** How many jobs an app keeps (with their transcripts); older finished ones are forgotten as new ones start. */
export const JOBS_KEPT = 200;

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

/** A started job: its row (queued or running) and its work's outcome. */
export interface StartedJob<T> {
  job: JobRow;
  /** The work's value, or its error (also recorded in the job). */
  result: Promise<T>;
  /** The job's row once it ended. */
  ended: Promise<JobRow>;
}

/** Where the runner registers a running job, so apps:unlock, a revoked key and shutdown stop it (RunningDeploys). */
export interface DeployRegistry {
  begin(app: string, identity: Identity): { id: string; controller: AbortController };
  end(d: { id: string }): void;
}

interface Live {
  row: JobRow;
  log: JobLog;
  controller: AbortController;
  ended: Promise<JobRow>;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A new job id: 12 characters of [a-z0-9] (62 bits), URL-safe and not guessable. */
function newId(): string {
  let id = '';
  for (let i = 0; i < 12; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** The sentence a job records for the error that ended it (`stopped`: the reason it was aborted, if it was). */
function errorSentence(err: unknown, id: string, stopped: unknown): string {
  if (err instanceof UserError) return err.message;
  if (stopped instanceof Error) return `The job was cancelled: ${stopped.message.replace(/\.$/, '')}.`;
  return `Internal error; the server log has the details (job ${id}).`;
}

/** Starts, follows and cancels jobs; one per server process. */
export class JobRunner {
  readonly #store: Pick<Store, 'jobs' | 'releases'>;
  readonly #config: Pick<Config, 'logsDir' | 'maxBuildLogBytes'>;
  readonly #deploys: DeployRegistry;
  readonly #live = new Map<string, Live>();
  #closing = false;

  constructor(store: Pick<Store, 'jobs' | 'releases'>, config: Pick<Config, 'logsDir' | 'maxBuildLogBytes'>, deploys: DeployRegistry) {
    this.#store = store;
    this.#config = config;
    this.#deploys = deploys;
  }

  /**
   * Starts `work` as a job and returns at once: the job's row, the work's result, and the job's
   * end. `work` gets the transcript (the job's file, its followers and the caller's echo) and the
   * job's signal. The job succeeds when `work` resolves (recording the release the app then runs),
   * is cancelled when its signal was aborted, and fails otherwise.
   */
  start<T>(spec: JobSpec, work: (t: Transcript, signal: AbortSignal) => Promise<T>): StartedJob<T> {
    const { app } = spec;
    const dir = join(this.#config.logsDir, appName(app));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const id = newId();
    const queued = this.#store.jobs.create({ id, kind: spec.kind, app, by: spec.identity.name, origin: spec.origin, logFile: join(dir, `job-${id}.log`) });
    this.#prune(app);
    const jobLog = new JobLog(queued.logFile, this.#config.maxBuildLogBytes);
    const running = this.#deploys.begin(app, spec.identity);
    const { controller } = running;
    // A reason meant for the user (the caller's key lost the app) is kept; any other is the client leaving.
    const onCaller = () => {
      const why: unknown = spec.caller!.reason;
      controller.abort(why instanceof UserError ? why : new Error('the client went away', { cause: why }));
    };
    if (spec.caller?.aborted) onCaller();
    else spec.caller?.addEventListener('abort', onCaller, { once: true });
    const echo = spec.echo;
    const t = lineTranscript((line) => {
      jobLog.line(line);
      if (echo) echo.raw(line);
    }, () => echo?.drained() ?? Promise.resolve());

    const row = this.#store.jobs.start(id);
    spec.onStart?.(row);
    let settle!: (r: JobRow) => void;
    const ended = new Promise<JobRow>((resolve) => { settle = resolve; });
    this.#live.set(id, { row, log: jobLog, controller, ended });
    const result = (async () => {
      try {
        const value = await work(t, controller.signal);
        this.#finish(id, 'succeeded', { release: this.#store.releases.current(app)?.version ?? null });
        return value;
      } catch (err) {
        const status: JobEnd = this.#closing ? 'interrupted' : controller.signal.aborted ? 'cancelled' : 'failed';
        const stopped = controller.signal.aborted ? controller.signal.reason as unknown : undefined;
        if (!(err instanceof UserError) && !stopped) log.error('job failed', { job: id, app, kind: spec.kind, err });
        const error = errorSentence(err, id, stopped);
        // The saved transcript ends as its caller saw it end: with why (the caller's own
        // rendering of the error goes to the caller, so not through the echo).
        jobLog.line(errorLine(error));
        this.#finish(id, status, { error });
        throw err;
      } finally {
        spec.caller?.removeEventListener('abort', onCaller);
        this.#deploys.end(running);
        await jobLog.end().catch((err: unknown) => log.warn('could not finish writing a job transcript', { job: id, err }));
        this.#live.delete(id);
        settle(this.#stored(id) ?? { ...row, status: 'interrupted' });
      }
    })();
    // A detached caller may never look at the result: the error is in the job and the log, and
    // must not also end the process as an unhandled rejection.
    result.catch(() => {});
    return { job: row, result, ended };
  }

  /** The stored job, if it exists (whatever its app: callers check the caller's rights on it). */
  get(id: string): JobRow | undefined {
    return this.#store.jobs.get(id);
  }

  /**
   * Sends `onLines` every line of the job's transcript, then the new ones as it writes them, and
   * resolves with the job once it ended (at once with the saved transcript for a finished job).
   * Stops early, with the job as it stands, when `signal` aborts (already aborted: what there is now).
   */
  async follow(job: JobRow, onLines: (lines: string[]) => Promise<void> | void, signal: AbortSignal): Promise<JobRow> {
    const live = this.#live.get(job.id);
    if (!live) {
      const text = await readFile(job.logFile, 'utf8').catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw err;
      });
      if (text) await onLines(text.replace(/\n$/, '').split('\n'));
      return this.#store.jobs.get(job.id) ?? job;
    }
    // Read once even when `signal` is aborted already: that is how a snapshot is taken.
    let cursor = 0;
    for (;;) {
      const { lines, next } = live.log.read(cursor);
      cursor = next;
      if (lines.length) await onLines(lines);
      if (live.log.ended && live.log.read(cursor).lines.length === 0) return live.ended;
      if (signal.aborted) return this.#store.jobs.get(job.id) ?? job;
      await live.log.waitPast(cursor, signal);
    }
  }

  /** Stops a job running here (jobs:cancel) and resolves once it ended; a UserError if it already ended or runs in another process. */
  cancel(job: JobRow, by: string): Promise<JobRow> {
    const live = this.#live.get(job.id);
    if (!live) {
      const now = this.#store.jobs.get(job.id) ?? job;
      if (hasEnded(now.status)) throw new UserError(`Job ${job.id} has already ended (${now.status}).`);
      throw new UserError(`Job ${job.id} is not running in this server (another process, such as the local slipway command, runs it).`);
    }
    live.controller.abort(new UserError(`The job was cancelled by ${by}.`));
    return live.ended;
  }

  /** Jobs running here now. */
  running(): JobRow[] {
    return [...this.#live.values()].map((l) => l.row);
  }

  /**
   * The server is stopping: jobs that end from now on are recorded as interrupted (their work is
   * aborted by the shutdown), and a job whose row cannot be written any more is found running at
   * the next start and marked interrupted then.
   */
  close(): void {
    this.#closing = true;
  }

  #finish(id: string, status: JobEnd, result: { release?: number | null; error?: string }): void {
    try {
      this.#store.jobs.finish(id, status, result);
    } catch (err) {
      // Past shutdown the database may be closed: the next start marks the job interrupted.
      if (!this.#closing) throw err;
      log.warn('could not record the end of a job while stopping; the next start marks it interrupted', { job: id, err });
    }
  }

  /** The stored row; undefined when it is gone (the app was destroyed) or, while stopping, the database is closed. */
  #stored(id: string): JobRow | undefined {
    try {
      return this.#store.jobs.get(id);
    } catch (err) {
      if (!this.#closing) throw err;
      log.warn('could not read a job while stopping', { job: id, err });
      return undefined;
    }
  }

  #prune(app: string): void {
    for (const old of this.#store.jobs.prune(app, JOBS_KEPT)) rmSync(old.logFile, { force: true });
  }
}

/**
 * At start-up, before any job runs: every job a previous server left queued or running is marked
 * interrupted; its transcript stays as it was written. Returns how many.
 */
export function interruptAbandonedJobs(store: Pick<Store, 'jobs'>): number {
  const jobs = store.jobs.interruptAbandoned();
  for (const job of jobs) {
    try {
      appendFileSync(job.logFile, errorLine(job.error!) + '\n', { mode: 0o600 });
    } catch (err) {
      // The transcript's folder went with its app (an interrupted apps:destroy): nothing to say it in.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`could not mark the transcript of job ${job.id} interrupted`, { cause: err });
    }
  }
  return jobs.length;
}
