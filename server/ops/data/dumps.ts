// Logical dumps of a Postgres database (Heroku's pg:backups:download and pg:backups:restore of a
// pg_dump archive): a `pg_dump -Fc` of the live database streamed to the caller as it is made
// (never kept whole in the server's memory or on its disk), and an archive from the caller (a
// Heroku or Dokku export) restored into a NEW database, made like addons:create and attached
// under its own NAME_URL, or promoted to DATABASE_URL in that same release. The archive is
// restored by pg_restore as the app's own role (--no-owner --no-acl), never as the superuser: an
// archive can hold any SQL. A bad archive removes the new database; the live one is never touched.
import { PassThrough, Readable } from 'node:stream';
import { UserError } from '../../errors.ts';
import { newServerCert } from '../../data/certs.ts';
import { dataHostNames } from '../../deploy/data.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { requireDeployer } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import type { Imported } from '../../shapes/dumps.ts';
import { setConfig } from '../config/config.ts';
import { DEFAULT_VOLUME_SIZE, showSize, volumeSize } from '../storage/volumes.ts';
import { attachmentVar, freeName } from './rules.ts';
import { authorityOf, checked, databaseOf, guardsOf, imageOf, makeAndAttach, newDataRow, serviceOf } from './addons.ts';
import { rowUrl } from './attachments.ts';
import { promoteDatabase, toolError } from './backups.ts';
import type { Actor, Progress } from '../actor.ts';

/** How long a new database may take to start before the archive goes in. */
const START_TIMEOUT_MS = 180_000;

/** The end of a command's standard error, kept for its one sentence. */
function errorTail(): { write: (c: Buffer) => Promise<void>; text: () => string } {
  let err = Buffer.alloc(0);
  return { write: async (c) => { err = Buffer.concat([err, c]).subarray(-4096); }, text: () => err.toString() };
}

/** A download about to be streamed: the database, the file name to save it as, and `run`, which streams it. */
export interface Dump {
  database: string;
  filename: string;
  /** Streams the archive to `write` as pg_dump makes it, paced by `write`; ends pg_dump when `signal` aborts. */
  run(write: (chunk: Buffer) => Promise<void>, signal: AbortSignal): Promise<{ bytes: number }>;
}

/**
 * pg:backups:download: checks that the app has the Postgres database `raw` (or a first one) and a
 * cluster, then gives what streams its `pg_dump -Fc` (the caller sends headers in between).
 */
export function prepareDump(actor: Actor, app: string, raw: string | undefined): Dump {
  const row = databaseOf(actor.services, app, 'postgres', raw, (r) => `${r.name} is a Valkey database; pg:backups:download dumps a Postgres one.`);
  const deployer = requireDeployer(actor.services);
  return {
    database: row.name,
    filename: `${app}-${row.name}.dump`,
    run: async (write, signal) => {
      let bytes = 0;
      const err = errorTail();
      // Open while the dump runs: the image ends pg_dump when its input ends, which is what a
      // caller that went away leaves behind (the exec's streams closed), not only a finished dump.
      const input = new PassThrough();
      let code: number;
      try {
        code = await deployer.data.stream({ app, name: row.name, kind: row.kind }, ['dump'], {
          stdin: input,
          stdout: async (c) => { bytes += c.length; await write(c); },
          stderr: err.write,
        }, signal);
      } finally {
        input.end();
      }
      if (code !== 0) {
        const why = toolError(err.text()).replace(/^pg_dump: error: /, '');
        throw new UserError(`pg_dump of ${row.name} failed (exit ${code})${why ? `: ${why}` : ''}; the download is incomplete.`);
      }
      return { bytes };
    },
  };
}

/** What pg:backups:restore is asked for. */
export interface ImportRequest {
  /** The new database's name (default postgres-2, …). */
  to?: string | undefined;
  /** Its volumes' size (default 1Gi); the archive may be no larger. */
  size?: string | undefined;
  /** Make it the app's DATABASE_URL in the same release. */
  promote?: boolean | undefined;
}

/**
 * Passes `input` on, counting its bytes: past `max`, one chunk more (so the importer sees there is
 * more than it takes) and then the end, with `over` called. Input that fails (a client gone
 * mid-upload) calls `broken`. The caller's stream is never destroyed here: its answer still goes out on it.
 */
function bounded(input: Readable, max: number, over: () => void, broken: (err: unknown) => void): { stream: Readable; bytes: () => number } {
  let seen = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const c of input.iterator({ destroyOnReturn: false })) {
        const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
        seen += chunk.length;
        yield chunk;
        if (seen > max) {
          input.pause();
          over();
          return;
        }
      }
    } catch (err) {
      broken(err);
      throw err;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Its failure is reported through `broken`; an 'error' event nobody listens to would end the server.
  stream.on('error', () => {});
  return { stream, bytes: () => seen };
}

/**
 * pg:backups:restore: a NEW Postgres database (made like addons:create: its own credentials and
 * certificate, within the app's limits) into which the pg_dump archive read from `input` is
 * restored by pg_restore as the app's role; then attached as NAME_URL, or with `promote` as
 * DATABASE_URL, in one release. The archive is bounded by SLIPWAY_DATABASE_IMPORT_MAX_BYTES and
 * by the database's size. A bad or oversized archive, or an upload cut short, removes the new
 * database; nothing else changes.
 */
export async function importDump(actor: Actor, app: string, req: ImportRequest, input: Readable | undefined, progress: Progress): Promise<Imported> {
  const { store, config } = actor.services;
  if (!input) throw new UserError('pg:backups:restore reads the archive from standard input: ssh … pg:backups:restore APP < app.dump (or POST it to the API).');
  imageOf(actor.services, 'postgres');
  const deployer = requireDeployer(actor.services);
  const size = volumeSize(req.size ?? DEFAULT_VOLUME_SIZE, config.storageMaxSize);
  const max = Math.min(config.databaseImportMaxBytes, quantityValue(size));
  const name = req.to ?? freeName('postgres', store.data.list(app).map((r) => r.name));
  const first = checked(actor, app, { kind: 'postgres', name, as: attachmentVar(name) }, 'postgres', size);
  const ca = await authorityOf(actor.services, app);
  const tls = await newServerCert(ca, dataHostNames(app, first.name));
  const t = progress.transcript;
  // The upload stops the import when it is cut short, as a client that goes away does.
  const stop = new AbortController();
  const stops = [stop.signal, ...(actor.signal ? [actor.signal] : [])];
  let tooLarge = false;
  const upload = bounded(input, max, () => { tooLarge = true; }, (err) => stop.abort(new UserError('The upload ended before the archive did; nothing was changed.', { cause: err })));
  let bytes = 0;
  return makeAndAttach(actor, app, 'pg:backups:restore', progress, (): DataRow => {
    checked(actor, app, { kind: 'postgres', name: first.name, as: first.attachment }, 'postgres', size);
    return { ...newDataRow({ name: first.name, kind: 'postgres', version: '17', size, storageClass: config.storageClass ?? null, attachment: first.attachment }, tls), owner: null };
  }, async (row, p) => {
    const t = p.transcript;
    const signal = AbortSignal.any([p.signal, ...stops]);
    t.step(`Creating Postgres 17 ${row.name} (${size}) for ${app} to restore the archive into (no live database is touched)`);
    await deployer.data.apply(serviceOf(actor.services, app, row, ca.cert), guardsOf(actor.services, app), { transcript: t, signal, timeoutMs: START_TIMEOUT_MS });
    t.step(`Restoring the archive into ${row.name} with pg_restore --no-owner --no-acl, as the app's role`);
    const err = errorTail();
    const code = await deployer.data.stream({ app, name: row.name, kind: 'postgres' }, ['import', String(max)], {
      stdin: upload.stream,
      stdout: async () => {},
      stderr: err.write,
    }, signal).catch((e: unknown) => { throw signal.aborted ? signal.reason : e; });
    bytes = Math.min(upload.bytes(), max);
    if (tooLarge) throw new UserError(`The archive is larger than ${showSize(max)}, the most ${row.name} takes (SLIPWAY_DATABASE_IMPORT_MAX_BYTES, and its size: --size); ${row.name} was removed and nothing else changed.`);
    if (signal.aborted) throw signal.reason;
    if (code !== 0) {
      const why = toolError(err.text()).replace(/^slipway-postgres: (import: )?/, '');
      throw new UserError(`The archive could not be restored (${why || `exit ${code}`}); ${row.name} was removed and nothing else changed.`);
    }
    t.detail(`Restored ${showSize(bytes)} of archive into ${row.name}`);
  }, async (row) => {
    if (req.promote) {
      const p = await promoteDatabase(actor, app, row.name, undefined, progress);
      return { name: row.name, bytes, attachment: p.attachment, release: p.release, promoted: true };
    }
    t.step(`Attaching ${row.name} as ${row.attachment}`);
    const r = await setConfig(actor, app, { set: { [row.attachment]: rowUrl(app, row) } }, progress);
    return { name: row.name, bytes, attachment: row.attachment, release: r.release, promoted: false };
  });
}
