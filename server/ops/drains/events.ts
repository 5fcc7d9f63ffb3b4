// Slipway's own events in the log drains (issue 39): for each app with a drain (or while a global
// drain exists), builds and jobs started and ended, releases created (by whom, with the image's
// digest) and deployed, crashes and failed health checks of its instances, database backups and
// restore drills, as Heroku's `app[api]` lines are, named `app[slipway]`; and every audit entry,
// for the global drains only (an off-box copy that catches a log cut short).
//
// The server writes them as JSON lines to files in SLIPWAY_COLLECTOR_EVENTS_DIR (`apps/APP.log`,
// `audit.log`), a folder of its node that the collector there reads like the pods' logs (the same
// kept read positions, the same routing by app, the same queues), so no new way in to the
// collector and no line lost across a restart of either. The app a line belongs to is the file's
// name, which only the server writes. Each file is bounded: past MAX_FILE_BYTES it is renamed to
// `.1` (which the collector reads too) and a new one begun.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AppChange, Services, SlipwayEvent } from '../../context.ts';
import type { AuditRow } from '../../store/audit.ts';
import type { JobRow } from '../../store/jobs.ts';
import type { InstanceEvent } from '../../deploy/instance-events.ts';
import { log } from '../../output/log.ts';

/** Past this size a file is renamed to `.1` (replacing the one before) and a new one begun. */
const MAX_FILE_BYTES = 1024 * 1024;
/** The name the bus counts this listener under (GET /events bounds streams per key name; this is no key). */
const LISTENER = 'slipway:drain-events';

/** Where audit entries are heard as they are stored (ops/audit/recorder.ts). */
export interface AuditEntries {
  onEntry(listener: (row: AuditRow) => void): () => void;
}

/** One event line: the text drains show, and what an OTLP record carries beside it. */
export interface EventLine {
  message: string;
  /** build, job, release, crashed, unhealthy, scale, sleep, backup, drill. */
  event: string;
  release?: string;
  actor?: string;
  job?: string;
}

/** Words for a job's kind at the start of its line: a push is a build (and a deploy). */
function jobLabel(kind: string): string {
  return kind === 'push' ? 'Build' : kind;
}

/** The line of a job that started or ended; undefined for a state nobody reads (queued). */
export function jobLine(job: JobRow): EventLine | undefined {
  const base = { event: job.kind === 'push' ? 'build' : 'job', actor: job.by, job: job.id, ...(job.release ? { release: `v${job.release}` } : {}) };
  const what = `${jobLabel(job.kind)} by ${job.by}`;
  switch (job.status) {
    case 'queued': return undefined;
    case 'running': return { ...base, message: `${jobLabel(job.kind)} started by ${job.by}` };
    case 'succeeded': return { ...base, message: `${what} succeeded${job.release ? `: v${job.release}` : ''}` };
    case 'failed': return { ...base, message: `${what} failed${job.error ? `: ${job.error}` : ''}` };
    case 'cancelled': case 'interrupted': return { ...base, message: `${what} was ${job.status}` };
  }
}

/** The line of a change of the app's processes (ps:scale, ps:stop and ps:start, sleeping and waking); none for the others (their jobs have lines). */
export function changeLine(change: AppChange, formation: Readonly<Record<string, number>>): EventLine | undefined {
  switch (change) {
    case 'scaled': return { event: 'scale', message: `Scaled to ${Object.entries(formation).map(([t, n]) => `${t}=${n}`).join(' ') || 'nothing'}` };
    case 'stopped': return { event: 'scale', message: 'Processes stopped (ps:stop)' };
    case 'started': return { event: 'scale', message: 'Processes started (ps:start)' };
    case 'asleep': return { event: 'sleep', message: 'Asleep: no request within its ps:sleep time, web at 0 instances until the next one' };
    case 'woke': return { event: 'sleep', message: 'Woke: web instances ready again' };
    default: return undefined;
  }
}

/** The image as a line names it: its digest when the reference has one. */
function imageWords(image: string | null): string {
  if (!image) return '';
  const at = image.indexOf('@');
  return ` (image ${at >= 0 ? image.slice(at + 1) : image})`;
}

/** Writes the event lines (see the file's comment); `stop` ends every subscription. */
export class DrainEvents {
  readonly #services: Services;
  readonly #dir: string;
  readonly #sizes = new Map<string, number>();
  /** Releases whose line for a status was written: `app/vN` → status (a canary publishes a release at every step). */
  readonly #releases = new Map<string, string>();
  /** Backups and drills already written, `app/db` → the newest time written; none older than the server's start is. */
  readonly #data = new Map<string, string>();
  readonly #since = new Date().toISOString();
  readonly #stops: (() => void)[] = [];

  constructor(services: Services) {
    this.#services = services;
    this.#dir = services.config.collectorEventsDir;
  }

  /** Starts listening to the bus, the audit log's entries and the cluster's reports of instances. */
  start(audit: AuditEntries): this {
    const s = this.#services;
    // Made by the server before a collector mounts it (the kubelet would make it root's).
    try {
      mkdirSync(join(this.#dir, 'apps'), { recursive: true, mode: 0o700 });
    } catch (err) {
      log.warn('the folder of events for the log drains cannot be made', { err, dir: this.#dir });
    }
    this.#stops.push(s.events.subscribe(LISTENER, (e) => this.#onEvent(e)));
    this.#stops.push(audit.onEntry((row) => this.#onAudit(row)));
    const collector = s.deployer?.collector;
    if (collector && s.config.collectorImage) this.#stops.push(collector.instanceEvents((e) => this.#onInstance(e)));
    return this;
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  /** Whether a drain would receive the app's lines: its own, or a global one. */
  #drained(app: string): boolean {
    const drains = this.#services.store.drains;
    return drains.list(app).length > 0 || drains.list(null).length > 0;
  }

  #onEvent(e: SlipwayEvent): void {
    if (!this.#drained(e.app)) return;
    if (e.type === 'job') {
      const line = jobLine(e.job);
      if (line) this.appLine(e.app, line);
    } else if (e.type === 'release') {
      this.#onRelease(e.app, e.version);
    } else if (e.change === 'data') {
      this.#onData(e.app);
    } else {
      const line = changeLine(e.change, this.#services.store.formation.all(e.app));
      if (line) this.appLine(e.app, line);
    }
  }

  #onRelease(app: string, version: number): void {
    const r = this.#services.store.releases.get(app, version);
    if (!r) return;
    const key = `${app}/v${version}`;
    if (this.#releases.get(key) === r.status) return;
    this.#releases.set(key, r.status);
    if (r.status !== 'pending') this.#releases.delete(key);
    const base = { event: 'release', release: `v${version}`, ...(r.createdBy ? { actor: r.createdBy } : {}) };
    if (r.status === 'pending') this.appLine(app, { ...base, message: `Release v${version} created by ${r.createdBy ?? 'an unknown key'}: ${r.description}${imageWords(r.image)}` });
    else this.appLine(app, { ...base, message: r.status === 'succeeded' ? `Release v${version} is live` : `Release v${version} failed` });
  }

  #onData(app: string): void {
    const data = this.#services.store.data;
    for (const db of data.list(app)) {
      const key = `${app}/${db.name}`;
      const seen = this.#data.get(key) ?? this.#since;
      const backupAt = data.lastBackupAt(app, db.name);
      if (backupAt && backupAt > seen) this.appLine(app, { event: 'backup', message: `Backup of ${db.name} taken` });
      const drill = data.drills(app, db.name).last;
      if (drill && drill.at > seen) {
        const figures = [drill.rpoS !== null ? `RPO ${drill.rpoS} s` : '', drill.rtoMs !== null ? `RTO ${drill.rtoMs} ms` : ''].filter(Boolean).join(', ');
        this.appLine(app, {
          event: 'drill',
          message: drill.ok ? `Restore drill of ${db.name} passed${figures ? ` (${figures})` : ''}` : `Restore drill of ${db.name} failed at ${drill.step ?? 'a step'}: ${drill.message ?? 'no reason given'}`,
        });
      }
      // ISO times compare as text: the newest of what was seen, the backup and the drill.
      this.#data.set(key, [seen, backupAt ?? '', drill?.at ?? ''].reduce((a, b) => (b > a ? b : a)));
    }
  }

  #onInstance(e: InstanceEvent): void {
    if (!this.#drained(e.app)) return;
    if (e.kind === 'autoscaled') this.appLine(e.app, { event: 'scale', message: `Autoscaled ${e.process} ${e.what}` });
    else this.appLine(e.app, { event: e.kind, message: `Process ${e.instance} ${e.what}`, ...(e.release ? { release: `v${e.release}` } : {}) });
  }

  #onAudit(row: AuditRow): void {
    if (this.#services.store.drains.list(null).length === 0) return;
    this.#append('audit.log', JSON.stringify(row));
  }

  /** Writes one `app[slipway]` line of `app`. */
  appLine(app: string, line: EventLine): void {
    this.#append(join('apps', `${app}.log`), JSON.stringify({ ts: Date.now(), ...line }));
  }

  #append(file: string, text: string): void {
    const path = join(this.#dir, file);
    try {
      let size = this.#sizes.get(path);
      size ??= statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      if (size > MAX_FILE_BYTES) {
        renameSync(path, `${path}.1`);
        size = 0;
      }
      const bytes = `${text}\n`;
      appendFileSync(path, bytes, { mode: 0o600 });
      this.#sizes.set(path, size + Buffer.byteLength(bytes));
    } catch (err) {
      log.warn('an event for the log drains was not written', { err, file: path });
    }
  }
}
