// Databases for apps (Heroku's addons:*, Dokku's postgres:* and redis:*): Postgres and Valkey
// instances Slipway runs in the app's namespace, each attached to the app as a config var
// (DATABASE_URL, REDIS_URL) holding a TLS URL with its own random credentials. Attaching is a
// config change, so it is a release: rolled out with the cutover and undone by a rollback. A
// database that does not start, or whose release fails, is removed again: nothing is left.
import { randomBytes } from 'node:crypto';
import { UserError } from '../../errors.ts';
import { newAuthority, newServerCert } from '../../data/certs.ts';
import { dataHost, dataHostNames, dataPort } from '../../deploy/data.ts';
import { log } from '../../output/log.ts';
import type { DataKind, DataService } from '../../model.ts';
import type { DataGuards } from '../../deploy/deployer.ts';
import type { DataRow } from '../../store/data.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { AddonCreated, AddonInfo } from '../../shapes/data.ts';
import { lockApp } from '../lock.ts';
import { rollOut } from '../rollout.ts';
import { databaseRefusal, quotaPlan } from '../releases/release.ts';
import { setConfig } from '../config/config.ts';
import { DEFAULT_VOLUME_SIZE, volumeSize } from '../storage/volumes.ts';
import { claimsOf } from '../storage/storage.ts';
import { databaseLimits } from './resources.ts';
import { attachmentVar, claimRefusal, DATA_KINDS, dataKind, dataName, dataVersion, defaultAttachment, freeName } from './rules.ts';
import type { Actor, Progress } from '../actor.ts';
import { databaseStats, fullVolumes } from './stats.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { DATABASE, loginOf, rowUrl, varsHolding } from './attachments.ts';
import type { ProcessIo } from '../../kube/process-io.ts';

/** How long a new database may take to accept connections (an image pull on a cold node included). */
const START_TIMEOUT_MS = 180_000;

/** What addons:create is asked for. */
export interface AddonRequest {
  kind: string;
  version?: string | undefined;
  size?: string | undefined;
  /** Its name in the app; default `postgres`, `postgres-2`, … */
  name?: string | undefined;
  /** The attachment (`DATABASE` sets DATABASE_URL); default the kind's, or NAME_URL when that is taken. */
  as?: string | undefined;
}

/** The image a kind runs (Postgres 18: the upgrade image), or the sentence saying this server has none. */
export function imageOf(services: Pick<Services, 'config'>, kind: DataKind, version?: string): string {
  if (kind === 'postgres' && version === '18') {
    const image = services.config.postgres18Image;
    if (!image) throw new UserError('This server has no Postgres 18 image: its administrator sets SLIPWAY_POSTGRES18_IMAGE (the testbed builds it from Debian\'s packages: images/postgres18).');
    return image;
  }
  const image = kind === 'postgres' ? services.config.postgresImage : services.config.valkeyImage;
  if (!image) throw new UserError(`This server runs no ${DATA_KINDS[kind].title}: its administrator sets ${kind === 'postgres' ? 'SLIPWAY_POSTGRES_IMAGE' : 'SLIPWAY_VALKEY_IMAGE'} (install.sh and the testbed build the image from Debian's packages).`);
  return image;
}

/** The sentence addons and addons:info show for a database running another image than the server's, or undefined. */
function imageBehind(app: string, row: Pick<DataRow, 'name' | 'kind' | 'version'>, running: string | null, current: string | undefined): string | undefined {
  if (running === null || current === undefined || running === current) return undefined;
  return `${row.name} runs ${running}, not this server's ${current}: addons:update ${app} ${row.name} moves it (a restart: a few seconds without it).`;
}

/** The image this server runs a database of `row`'s kind and major with, or undefined when it has none. */
function serverImage(services: Pick<Services, 'config'>, row: Pick<DataRow, 'kind' | 'version'>): string | undefined {
  try {
    return imageOf(services, row.kind, row.version);
  } catch {
    return undefined;
  }
}

/** The database `raw` of the app, or the sentence saying it has none of that name. */
export function existing(services: Pick<Services, 'store'>, app: string, raw: string): DataRow {
  const name = dataName(raw);
  const row = services.store.data.get(app, name);
  if (!row) throw new UserError(`${app} has no database ${name}; addons ${app} lists its databases.`);
  return row;
}

/**
 * The app's database `raw`, or its first of `kind`; one sentence when it has none, or when `raw`
 * is of another kind (`otherKind` words that sentence; by default "X is a Valkey database, not Postgres.").
 */
export function databaseOf(services: Pick<Services, 'store'>, app: string, kind: DataKind, raw: string | undefined, otherKind?: (row: DataRow) => string): DataRow {
  const row = raw !== undefined ? existing(services, app, raw) : services.store.data.list(app).find((r) => r.kind === kind);
  if (!row) throw new UserError(`${app} has no ${DATA_KINDS[kind].title} database; addons:create ${app} ${kind} makes one.`);
  if (row.kind !== kind) throw new UserError(otherKind?.(row) ?? `${row.name} is a ${DATA_KINDS[row.kind].title} database, not ${DATA_KINDS[kind].title}.`);
  return row;
}

/**
 * Makes a database and attaches it. Making it is a job (kind `what`, under the app's lock: its
 * transcript kept, jobs:cancel and the caller going away stop it): `make` checks again and gives
 * the row, which is recorded as made by that job, and `start` brings it up with the job's
 * transcript and signal (the deployer's apply and whatever must come before it is used). Then
 * `attach` releases it, a job of its own. A failure at either step removes the database with its
 * volumes; a server that stops midway leaves the making job interrupted and the row naming it,
 * and the next start removes that half-made database (removeHalfMade), so nothing is left.
 */
export async function makeAndAttach<T>(actor: Actor, app: string, what: string, progress: Progress, make: () => DataRow, start: (row: DataRow, p: Progress) => Promise<void>, attach: (row: DataRow) => Promise<T>): Promise<T> {
  const { store } = actor.services;
  let job: string | null = null;
  // The caller hears of the release's job (the API answers with it), not of this one.
  const making: Progress = { ...progress, onJob: (j) => { job = j.id; } };
  const row = await rollOut(actor, app, what, making, async (p) => {
    const made = make();
    store.data.add(app, made, job);
    try {
      await start(made, p);
    } catch (err) {
      await removeQuietly(actor, app, made.name, err);
      throw err;
    }
    store.data.made(app, made.name);
    return made;
  });
  try {
    return await attach(row);
  } catch (err) {
    // The release failed and the config change was taken back: the database goes too.
    const again = lockApp(actor.services, app, `${what} by ${actor.identity.name} (undo)`);
    try {
      await removeQuietly(actor, app, row.name, err);
    } finally {
      again();
    }
    throw err;
  }
}

/**
 * The app's databases a stopped server left half-made (their making job died with it): removed
 * with their volumes, as a failure midway would have removed them. For the start-up reconcile,
 * before any job of this server runs; the names removed.
 */
export async function removeHalfMade(services: Pick<Services, 'store' | 'deployer'>, app: string): Promise<string[]> {
  const removed: string[] = [];
  for (const { name, job } of services.store.data.making(app)) {
    await services.deployer?.data.remove(app, name);
    services.store.data.remove(app, name);
    log.warn('removed a database its making job left half-made (the server stopped before it was made)', { app, name, job });
    removed.push(name);
  }
  return removed;
}

/** The guards a database's namespace gets before its pod: the app's quota and egress exceptions. */
export function guardsOf(services: Pick<Services, 'config' | 'store'>, app: string): DataGuards {
  return { app, quota: quotaPlan(services, app), egress: services.store.egress.list(app) };
}

/** Every database of every app (the heartbeat's walk); without previews' (`backedUp`), those whose backups are kept (the backups', drills' and doctor's). */
export function allDatabases(services: Pick<Services, 'store'>, which: 'all' | 'backedUp' = 'all'): { app: string; row: DataRow }[] {
  return services.store.apps.list().filter((a) => which === 'all' || !isPreview(services, a.name))
    .flatMap((a) => services.store.data.list(a.name).map((row) => ({ app: a.name, row })));
}

/** Whether `app` is a preview: its databases keep their backups in scratch space (DataService.scratchBackups), and no round backs them up or drills them. */
export function isPreview(services: Pick<Services, 'store'>, app: string): boolean {
  return services.store.previews.get(app) !== undefined;
}

/** What the deployer runs for a stored database. */
export function serviceOf(services: Pick<Services, 'config' | 'store'>, app: string, row: DataRow, ca: string): DataService {
  const { config } = services;
  return {
    app, name: row.name, kind: row.kind, image: imageOf(services, row.kind, row.version), size: row.size,
    ...(row.storageClass ? { storageClass: row.storageClass } : {}),
    credentials: { username: loginOf(row), password: row.password, database: DATABASE },
    tls: { key: row.tlsKey, cert: row.tlsCert, ca },
    resources: databaseLimits(services, app),
    maxConnections: config.databaseMaxConnections,
    archiveTimeoutS: config.databaseArchiveTimeoutS,
    ...(isPreview(services, app) ? { scratchBackups: true } : {}),
  };
}

/** The app's databases' certificate authority, made (and kept) with its first database. */
export async function authorityOf(services: Pick<Services, 'store'>, app: string): Promise<{ key: string; cert: string }> {
  return services.store.data.ca(app) ?? services.store.data.keepCa(app, await newAuthority(app));
}

/** New random credentials for a database: a user `u` + 12 hex digits and a 32-character password. */
export function newLogin(): { username: string; password: string } {
  return { username: `u${randomBytes(6).toString('hex')}`, password: randomBytes(24).toString('base64url') };
}

/** A new database's row: what it is, new credentials, and its certificate. */
export function newDataRow(d: Pick<DataRow, 'name' | 'kind' | 'version' | 'size' | 'storageClass' | 'attachment'>, tls: { key: string; cert: string }): DataRow {
  return { ...d, ...newLogin(), tlsKey: tls.key, tlsCert: tls.cert, createdAt: '' };
}

/** Everything that refuses the request, checked before anything is made (and again under the lock). */
export function checked(actor: Actor, app: string, req: AddonRequest, kind: DataKind, size: string): { name: string; attachment: string } {
  const { store, config } = actor.services;
  const rows = store.data.list(app);
  if (rows.length >= config.appMaxDatabases) throw new UserError(`${app} has ${rows.length} databases, the most an app may have (SLIPWAY_APP_MAX_DATABASES); addons:destroy one first.`);
  const name = req.name !== undefined ? dataName(req.name) : freeName(kind, rows.map((r) => r.name));
  if (rows.some((r) => r.name === name)) throw new UserError(`${app} already has a database ${name}; choose another with --name.`);
  const vars = store.config.all(app);
  const inUse = new Set([...Object.keys(vars), ...rows.map((r) => r.attachment)]);
  const attachment = req.as !== undefined ? attachmentVar(req.as) : defaultAttachment(kind, name, inUse);
  if (inUse.has(attachment)) throw new UserError(`${attachment} is already set for ${app}; attach the database under another name with --as, or config:unset ${app} ${attachment} first.`);
  const refusal = claimsRefusal(actor, app, [size]) ?? databaseRefusal(actor.services, app, databaseLimits(actor.services, app));
  if (refusal) throw new UserError(refusal.replace(/scale down or lower its limits\.$/, 'scale down, lower its limits, or raise its quota before adding a database.'));
  return { name, attachment };
}

/**
 * Whether the app's volume quota holds new databases of these sizes all together (each two
 * volumes, a preview's one): the first one past it, as claimRefusal words it; undefined when all fit.
 */
export function claimsRefusal(actor: Actor, app: string, sizes: readonly string[]): string | undefined {
  const { config } = actor.services;
  const storage = quotaPlan(actor.services, app).storage ?? { volumes: config.appMaxVolumes, size: config.appMaxStorage };
  const per = isPreview(actor.services, app) ? 1 : 2;
  let held = claimsOf(actor.services, app);
  for (const size of sizes) {
    const refusal = claimRefusal(app, held, size, { claims: storage.volumes, storage: storage.size }, per);
    if (refusal) return refusal;
    held = { claims: held.claims + per, bytes: held.bytes + per * quantityValue(size) };
  }
  return undefined;
}

/**
 * addons:create: makes a database (its TLS certificate from the app's own authority, random
 * credentials), waits until it accepts connections, then attaches it: the config var is set in
 * one release (stored only when the app runs nothing yet). Any failure removes what was made.
 */
export async function createAddon(actor: Actor, app: string, req: AddonRequest, progress: Progress): Promise<AddonCreated> {
  const { config } = actor.services;
  const kind = dataKind(req.kind);
  const version = dataVersion(kind, req.version);
  const size = volumeSize(req.size ?? DEFAULT_VOLUME_SIZE, config.storageMaxSize);
  // Refused at once when this server has no image for the kind, or no cluster.
  imageOf(actor.services, kind);
  const deployer = requireDeployer(actor.services);
  const first = checked(actor, app, req, kind, size);
  const ca = await authorityOf(actor.services, app);
  const tls = await newServerCert(ca, dataHostNames(app, first.name));
  const t = progress.transcript;
  return makeAndAttach(actor, app, 'addons:create', progress, () => {
    // Again under the lock: another addons:create or a config change may have finished meanwhile.
    const { name, attachment } = checked(actor, app, req, kind, size);
    if (name !== first.name) throw new UserError(`A database named ${first.name} was made for ${app} meanwhile; try again.`);
    return newDataRow({ name, kind, version, size, storageClass: config.storageClass ?? null, attachment }, tls);
  }, async (row, p) => {
    p.transcript.step(`Creating ${DATA_KINDS[kind].title} ${version} ${row.name} (${size}) for ${app}`);
    await deployer.data.apply(serviceOf(actor.services, app, row, ca.cert), guardsOf(actor.services, app), { transcript: p.transcript, signal: p.signal, timeoutMs: START_TIMEOUT_MS });
  }, async (row) => {
    t.step(`Attaching ${row.name} as ${row.attachment}`);
    const r = await setConfig(actor, app, { set: { [row.attachment]: rowUrl(app, row) } }, progress);
    return { name: row.name, kind, version, size, attachment: row.attachment, release: r.release };
  });
}

/** Removes a database that failed to come up; a failure to remove is logged with the first error, which is the one the user sees. */
export async function removeQuietly(actor: Actor, app: string, name: string, cause: unknown): Promise<void> {
  try {
    await actor.services.deployer?.data.remove(app, name);
    actor.services.store.data.remove(app, name);
  } catch (err) {
    log.error('a database that failed to start could not be removed', { app, name, err, cause });
  }
}

/** addons --json: the app's databases with their state on the cluster. */
export async function listAddons(actor: Actor, app: string): Promise<AddonInfo[]> {
  const { store, deployer } = actor.services;
  const rows = store.data.list(app);
  const states = rows.length && deployer ? await deployer.data.states(app) : [];
  const found = rows.map((r) => states.find((x) => x.name === r.name));
  // What each ready database's pod says of itself, all asked at once.
  const stats = await Promise.all(rows.map((r, i) => (found[i]?.ready ? databaseStats(actor.services, app, r, actor.signal) : null)));
  return rows.map((r, i) => {
    const s = found[i];
    const drills = store.data.drills(app, r.name);
    return {
      name: r.name, kind: r.kind, version: r.version, size: r.size, attachment: r.attachment,
      host: dataHost(app, r.name), port: dataPort(r.kind),
      state: s?.state ?? 'absent', ready: s?.ready ?? false, restarts: s?.restarts ?? 0,
      volumes: s?.volumes ?? { data: 'absent', backup: 'absent' },
      createdAt: r.createdAt,
      lastBackupAt: store.data.lastBackupAt(app, r.name),
      backupAt: store.data.backupAt(app, r.name),
      lastDrill: drills.last ?? null,
      lastVerifiedRestore: drills.lastOk ?? null,
      stats: stats[i] ?? null,
      image: s?.image ?? null,
      problems: [...(stats[i] ? fullVolumes(app, r.name, stats[i], r.kind) : []), ...[imageBehind(app, r, s?.image ?? null, serverImage(actor.services, r))].filter((p) => p !== undefined)],
    };
  });
}

/** addons:info: one database; pg:info: `raw`, or the app's first of `kind`. */
export async function addonInfo(actor: Actor, app: string, raw: string | undefined, kind?: DataKind): Promise<AddonInfo> {
  const row = raw !== undefined && kind === undefined ? existing(actor.services, app, raw) : databaseOf(actor.services, app, kind ?? 'postgres', raw);
  return (await listAddons(actor, app)).find((a) => a.name === row.name)!;
}

/**
 * addons:destroy: detaches the database (its config var unset in one release, when it still holds
 * this database's URL), then deletes it with its data and backups.
 */
export async function destroyAddon(actor: Actor, app: string, raw: string, progress: Progress): Promise<{ name: string; release: number | null }> {
  const { store } = actor.services;
  const row = existing(actor.services, app, raw);
  let release: number | null = null;
  // Every var that still holds its URL (after a rolled-back promotion, not always the recorded one).
  const holding = varsHolding(store.config.all(app), app, row);
  if (holding.length) {
    progress.transcript.step(`Detaching ${row.name} (${holding.join(', ')})`);
    release = (await setConfig(actor, app, { unset: holding }, progress)).release;
  }
  const unlock = lockApp(actor.services, app, `addons:destroy by ${actor.identity.name}`);
  try {
    existing(actor.services, app, row.name);
    progress.transcript.step(`Destroying ${row.name} and its data`);
    await actor.services.deployer?.data.remove(app, row.name);
    store.data.remove(app, row.name);
  } finally {
    unlock();
  }
  return { name: row.name, release };
}

/**
 * pg:psql and redis:cli: the database's own client in its pod, as the app's user over TLS,
 * attached to the caller's streams; the first database of `kind` unless one is named.
 */
export async function openConsole(actor: Actor, app: string, kind: DataKind, raw: string | undefined, io: ProcessIo | undefined, signal: AbortSignal): Promise<{ exitCode: number }> {
  const row = databaseOf(actor.services, app, kind, raw);
  if (!io) throw new UserError('This needs a byte stream to attach to (an SSH session).');
  return { exitCode: await requireDeployer(actor.services).data.console({ app, name: row.name, kind }, io, signal) };
}
