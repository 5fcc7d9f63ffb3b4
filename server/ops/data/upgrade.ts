// pg:upgrade APP [NAME] --to 18: a major upgrade that keeps the old database. A NEW instance is
// restored from the source's backups (as pg:restore does: the source's backup volume mounted
// read-only, after a backup of the source so the copy holds everything committed until then),
// its row counts taken, then started with the newer image, which runs pg_upgrade on the copy
// before it serves (images/README.md); checked (its version, the heartbeat, the same row counts),
// backed up, and promoted to the source's attachment in ONE release. The source is never written
// and stays attached as its own NAME_URL, so a rollback brings it back with the old code. A
// failure at any step removes the new instance and changes nothing else.
import { performance } from 'node:perf_hooks';
import { UserError } from '../../errors.ts';
import { dataClaimName, dataHostNames } from '../../deploy/data.ts';
import { newServerCert } from '../../data/certs.ts';
import { requireDeployer } from '../../context.ts';
import type { Upgraded } from '../../shapes/backups.ts';
import { attachmentVar, dataName, freeName, upgradeTarget } from './rules.ts';
import { checked, guardsOf, imageOf, makeAndAttach, serviceOf } from './addons.ts';
import { rowUrl } from './attachments.ts';
import { backupCommand, inDatabase, postgresOf, promote } from './backups.ts';
import type { Actor, Progress } from '../actor.ts';

/** How long the restore, and then pg_upgrade with its statistics, may each take before the copy accepts connections. */
const STEP_TIMEOUT_MS = 15 * 60_000;

/** `row-counts`' lines (`DATABASE SCHEMA.TABLE COUNT`) as a map; one sentence when a line is not that. */
export function parseRowCounts(out: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const m = /^(.+) (\d+)$/.exec(line);
    if (!m) throw new Error(`row-counts printed a line that is not "DATABASE TABLE COUNT": ${JSON.stringify(line.slice(0, 200))}`);
    counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

/** The tables whose counts differ between `before` and `after` (one missing counts as a difference), as "table: before → after". */
export function countDifferences(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string[] {
  const tables = [...new Set([...before.keys(), ...after.keys()])].sort();
  return tables.filter((t) => before.get(t) !== after.get(t)).map((t) => `${t}: ${before.get(t) ?? 'absent'} → ${after.get(t) ?? 'absent'}`);
}

/** The major of `SHOW server_version` (`18.6 (Debian 18.6-3)` → `18`). */
export function serverMajor(version: string): string {
  return /^(\d+)/.exec(version.trim())?.[1] ?? '';
}

/**
 * pg:upgrade: the app's Postgres database `raw` (its first by default) upgraded to `to` in a new
 * instance (`name`, default the first free postgres-N) and made the holder of the source's
 * attachment in one release.
 */
export async function upgradeDatabase(actor: Actor, app: string, opts: { database?: string | undefined; to: string; name?: string | undefined }, progress: Progress): Promise<Upgraded> {
  const { store } = actor.services;
  const source = postgresOf(actor.services, app, opts.database);
  const to = upgradeTarget(source.version, opts.to);
  // Refused at once without the newer image, or without a cluster.
  imageOf(actor.services, 'postgres', to);
  const deployer = requireDeployer(actor.services);
  // The source moves to its own NAME_URL in the release that promotes the copy: it needs one.
  const own = attachmentVar(source.name);
  if (source.attachment === own) throw new UserError(`${source.name} is attached as ${own}, the name it would keep beside the upgraded copy; pg:promote ${app} ${source.name} to DATABASE_URL (or another name) first.`);
  const held = store.config.all(app)[own];
  if (held !== undefined && held !== rowUrl(app, source)) throw new UserError(`${own} is already set for ${app}; config:unset it first, so ${source.name} can keep its own name beside the upgraded copy.`);
  const name = opts.name !== undefined ? dataName(opts.name) : freeName('postgres', store.data.list(app).map((r) => r.name));
  const first = checked(actor, app, { kind: 'postgres', name, as: attachmentVar(name) }, 'postgres', source.size);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const tls = await newServerCert(ca, dataHostNames(app, first.name));
  const t = progress.transcript;
  const signal = progress.signal;
  const result = { name: first.name, from: source.name, fromVersion: source.version, version: to, serverVersion: '', tables: 0, rows: 0, newestHeartbeat: null as string | null, restoreMs: 0, upgradeMs: 0 };

  // Everything the source has committed until now goes into its archive with a backup (the rule
  // for an upgrade: a backup first); the copy is restored to the end of that archive.
  t.step(`Backing up ${source.name} of ${app} first (incremental)`);
  await inDatabase(actor, app, source, backupCommand(actor.services, 'incr'), signal, (line) => { if (/new backup label|ERROR/.test(line)) t.detail(line.replace(/^P\d+ +\w+: /, '')); });
  store.data.backedUp(app, source.name);

  return makeAndAttach(actor, app, 'pg:upgrade', progress, () => {
    checked(actor, app, { kind: 'postgres', name: first.name, as: first.attachment }, 'postgres', source.size);
    return { ...source, name: first.name, attachment: first.attachment, version: to, tlsKey: tls.key, tlsCert: tls.cert, createdAt: '' };
  }, async (row, p) => {
    // The job's transcript and signal from here (the backup above was the caller's).
    const { transcript: t, signal } = p;
    const guards = guardsOf(actor.services, app);
    const old = serviceOf(actor.services, app, { ...row, version: source.version }, ca.cert);
    t.step(`Restoring ${source.name} (Postgres ${source.version}) into a new database ${row.name} (${source.name} is not touched)`);
    let started = performance.now();
    await deployer.data.apply({ ...old, restore: { fromClaim: dataClaimName(source.name, 'backup') } }, guards, { transcript: t, signal, timeoutMs: STEP_TIMEOUT_MS });
    result.restoreMs = Math.round(performance.now() - started);
    result.newestHeartbeat = (await inDatabase(actor, app, row, ['last-heartbeat'], signal)).trim() || null;
    const before = parseRowCounts(await inDatabase(actor, app, row, ['row-counts'], signal));
    t.detail(`Restored in ${(result.restoreMs / 1000).toFixed(1)} s: ${before.size} tables, ${sum(before)} rows; newest heartbeat ${result.newestHeartbeat ?? 'none'}`);

    t.step(`Upgrading ${row.name} to Postgres ${to} (pg_upgrade --link, then its statistics)`);
    started = performance.now();
    // The newer image on the same volumes, no longer reading the source's backup volume.
    await deployer.data.apply({ ...serviceOf(actor.services, app, row, ca.cert), upgradeFrom: source.version }, guards, { transcript: t, signal, timeoutMs: STEP_TIMEOUT_MS });
    result.upgradeMs = Math.round(performance.now() - started);
    result.serverVersion = (await inDatabase(actor, app, row, ['server-version'], signal)).trim();
    if (serverMajor(result.serverVersion) !== to) throw new UserError(`${row.name} answers as Postgres ${result.serverVersion || '(no version)'} after the upgrade, not ${to}; it was removed.`);
    // The heartbeat restored must be there, or a later one (the heartbeat round writes into every
    // database, this one included); the times are ISO 8601 in UTC, which sort as strings.
    const heartbeat = (await inDatabase(actor, app, row, ['last-heartbeat'], signal)).trim() || null;
    if (result.newestHeartbeat !== null && (heartbeat === null || heartbeat < result.newestHeartbeat)) throw new UserError(`The heartbeat in ${row.name} went back in the upgrade (${result.newestHeartbeat} before, ${heartbeat ?? 'none'} after); it was removed.`);
    const after = parseRowCounts(await inDatabase(actor, app, row, ['row-counts'], signal));
    const differ = countDifferences(before, after);
    if (differ.length) throw new UserError(`The row counts of ${row.name} differ after the upgrade (${differ.slice(0, 3).join('; ')}${differ.length > 3 ? `; ${differ.length - 3} more` : ''}); it was removed.`);
    result.tables = after.size;
    result.rows = sum(after);
    t.detail(`Postgres ${result.serverVersion} accepted connections ${(result.upgradeMs / 1000).toFixed(1)} s after it started; every table has its rows`);

    // Its repository's stanza was upgraded with it; a full backup starts its own history.
    t.detail(`Taking a first full backup of ${row.name}`);
    await inDatabase(actor, app, row, backupCommand(actor.services, 'full'), signal);
    store.data.backedUp(app, row.name);
  }, async (row) => {
    const p = await promote(actor, app, row, source.attachment, progress);
    return { ...result, attachment: p.attachment, release: p.release };
  });
}

function sum(counts: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}
