// Runs every change that rolls out as a job: a row in the store (who, what, how it ended), a
// transcript on disk next to the app's build logs, and, while it runs, followers from any
// connection. A job runs on its own controller: a foreground caller (an SSH command, a push)
// passes its connection's signal and the job stops when the caller goes away, as `git push`
// does; a caller that detaches (the API) passes none, and only jobs:cancel, apps:unlock, a key
// losing the app or the server stopping end it early.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { AuditRecorder, EventBus, Jobs, JobSpec, RunningDeploys, StartedJob } from '../context.ts';
import type { Config } from '../config.ts';
import { UserError } from '../errors.ts';
import { log } from '../output/log.ts';
import { lineTranscript, type Transcript } from '../output/transcript.ts';
import type { Store } from '../store/index.ts';
import { INTERRUPTED, type JobEnd, type JobRow } from '../store/jobs.ts';
import { appName } from '../names.ts';
import { hasEnded } from './job.ts';
import { noteAuditJob } from '../audit-scope.ts';
import { JobLog } from './job-log.ts';
import { jobEnded, jobStarted } from '../observe/metrics.ts';
import { credentialOf } from '../auth/credential.ts';

/** How often a job run by another process is looked at again by a follower here. */
export const FILE_POLL_MS = 500;

/** The bytes of `file` from `offset` on (none if it does not exist: its app's logs are gone). */
async function readFrom(file: string, offset: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** How many jobs an app keeps (with their transcripts); older finished ones are forgotten as new ones start. */
export const JOBS_KEPT = 200;

/** Where the runner registers a running job, so apps:unlock, a revoked key and shutdown stop it. */
type DeployRegistry = Pick<RunningDeploys, 'begin' | 'end'>;

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
export class JobRunner implements Jobs {
  readonly #store: Pick<Store, 'jobs' | 'releases' | 'audit'>;
  readonly #config: Pick<Config, 'logsDir' | 'maxBuildLogBytes'>;
  readonly #deploys: DeployRegistry;
  readonly #events: Pick<EventBus, 'publish'> | undefined;
  /** Records the jobs the server starts on its own (a round's sync, a preview's expiry) when they end; an adapter records the rest. */
  readonly #audit: AuditRecorder | undefined;
  readonly #live = new Map<string, Live>();
  #closing = false;

  /** `events` hears each job start and end (a `job` event with the row). */
  constructor(store: Pick<Store, 'jobs' | 'releases' | 'audit'>, config: Pick<Config, 'logsDir' | 'maxBuildLogBytes'>, deploys: DeployRegistry, events?: Pick<EventBus, 'publish'>, audit?: AuditRecorder) {
    this.#audit = audit;
    this.#store = store;
    this.#config = config;
    this.#deploys = deploys;
    this.#events = events;
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
    const logFile = join(dir, `job-${id}.log`);
    // The file first: a job is never recorded without the transcript it points to.
    const jobLog = new JobLog(logFile, this.#config.maxBuildLogBytes);
    try {
      this.#store.jobs.create({ id, kind: spec.kind, app, by: spec.identity.name, origin: spec.origin, logFile, credential: credentialOf(spec.identity, (hash) => this.#store.audit.tokenName(hash)) });
      this.#prune(app);
    } catch (err) {
      jobLog.end();
      rmSync(logFile, { force: true });
      throw err;
    }
    // Started by an adapter that records it (its entry names the job), or by the server on its own.
    const ownJob = !noteAuditJob(id);
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
    let settle!: (r: JobRow) => void;
    const ended = new Promise<JobRow>((resolve) => { settle = resolve; });
    this.#live.set(id, { row, log: jobLog, controller, ended });
    jobStarted(spec.kind);
    this.#events?.publish({ type: 'job', app, job: row });
    const result = (async () => {
      // Until the work's outcome is known, the job has failed (whatever throws on the way there).
      let end: { status: JobEnd; release?: number | null; error?: string } = { status: 'failed', error: errorSentence(undefined, id, undefined) };
      try {
        spec.onStart?.(row);
        const value = await work(t, controller.signal);
        end = { status: 'succeeded', release: this.#store.releases.current(app)?.version ?? null };
        return value;
      } catch (err) {
        const status: JobEnd = this.#closing ? 'interrupted' : controller.signal.aborted ? 'cancelled' : 'failed';
        const stopped = controller.signal.aborted ? controller.signal.reason as unknown : undefined;
        if (!(err instanceof UserError) && !stopped) log.error('job failed', { job: id, app, kind: spec.kind, err });
        const error = status === 'interrupted' ? INTERRUPTED : errorSentence(err, id, stopped);
        // The saved transcript ends as its caller saw it end: with why (the caller's own
        // rendering of the error goes to the caller, so not through the echo).
        lineTranscript((l) => jobLog.line(l)).warn(error);
        end = { status, error };
        throw err;
      } finally {
        spec.caller?.removeEventListener('abort', onCaller);
        this.#deploys.end(running);
        // The transcript is whole before the row says the job ended: a reader in another
        // process (following by the file) stops at the row's end and reads the rest first.
        try {
          jobLog.end();
        } catch (err) {
          log.error('could not finish writing a job transcript', { job: id, err });
        }
        try {
          this.#finish(id, end.status, end);
        } finally {
          jobEnded(spec.kind, end.status);
          this.#live.delete(id);
          const last = this.#stored(id);
          settle(last ?? { ...row, ...end, release: end.release ?? null, error: end.error ?? null });
          // A row that is gone went with its app (apps:destroy says so with its own event).
          if (last) this.#events?.publish({ type: 'job', app, job: last });
          if (ownJob) this.#recordOwn(spec, id, end);
        }
      }
    })();
    // A detached caller may never look at the result: the error is in the job and the log, and
    // must not also end the process as an unhandled rejection.
    result.catch(() => {});
    return { job: row, result, ended };
  }

  /** The entry of a job the server started on its own; a failure to record is logged, the job's end stands. */
  #recordOwn(spec: JobSpec, id: string, end: { status: JobEnd; error?: string }): void {
    if (!this.#audit) return;
    try {
      this.#audit.record({
        actor: spec.identity.name, interface: 'server', action: `job:${spec.kind}`, app: spec.app, job: id,
        outcome: end.status === 'succeeded' ? 'ok' : 'failed', meta: { origin: spec.origin, status: end.status, ...(end.error ? { error: end.error.slice(0, 300) } : {}) },
      });
    } catch (err) {
      log.error('an audit entry could not be recorded', { err, job: id });
    }
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
    if (!live) return this.#followFile(job, onLines, signal);
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

  /**
   * Follows a job that does not run here (ended, or run by another process such as the local
   * slipway command) through its file: the lines there, then, while its row says it runs, what is
   * added, polled every FILE_POLL_MS; the row's end comes after the file's (see start).
   */
  async #followFile(job: JobRow, onLines: (lines: string[]) => Promise<void> | void, signal: AbortSignal): Promise<JobRow> {
    const decoder = new StringDecoder('utf8');
    let offset = 0;
    let partial = '';
    for (;;) {
      const row = this.#store.jobs.get(job.id) ?? job;
      const chunk = await readFrom(job.logFile, offset);
      offset += chunk.length;
      const parts = (partial + decoder.write(chunk)).split('\n');
      partial = parts.pop()!;
      if (parts.length) await onLines(parts);
      if (hasEnded(row.status) || signal.aborted) {
        if (partial) await onLines([partial]);
        return row;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, FILE_POLL_MS);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
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

  /**
   * The stored row; undefined when it is gone (the app was destroyed) or cannot be read (the
   * database closed at shutdown): followers waiting on a job's end must get one either way.
   */
  #stored(id: string): JobRow | undefined {
    try {
      return this.#store.jobs.get(id);
    } catch (err) {
      log[this.#closing ? 'warn' : 'error']('could not read a job that ended', { job: id, err });
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
      lineTranscript((l) => appendFileSync(job.logFile, l + '\n', { mode: 0o600 })).warn(job.error!);
    } catch (err) {
      // The transcript's folder went with its app (an interrupted apps:destroy): nothing to say it in.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`could not mark the transcript of job ${job.id} interrupted`, { cause: err });
    }
  }
  return jobs.length;
}
