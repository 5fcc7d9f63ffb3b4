// redis:restore: a Valkey database's newest snapshot, checked whole first (valkey-check-rdb), made
// into a NEW instance (pg:restore's sibling; Valkey has no archive to recover to a point in time
// from). The source is never touched: its backup volume is mounted read-only while the new
// instance starts from the snapshot (no append-only file yet); once it answers, its heartbeat and
// keys are read, it writes its own append-only file (aof-on), it is started again on its own volumes
// alone, and it takes its own first snapshot. Only then is it attached, as NEW_URL, or with
// --promote as REDIS_URL in that same release (the source keeping its own NAME_URL, so a rollback
// puts it back). A failure at any step removes the new instance.
import { performance } from 'node:perf_hooks';
import { UserError } from '../../errors.ts';
import { dataClaimName, dataHostNames } from '../../deploy/data.ts';
import { newServerCert } from '../../data/certs.ts';
import { requireDeployer } from '../../context.ts';
import type { Restored } from '../../shapes/backups.ts';
import { setConfig } from '../config/config.ts';
import { attachmentVar, freeName } from './rules.ts';
import { checked, databaseOf, existing, guardsOf, makeAndAttach, newLogin, serviceOf } from './addons.ts';
import { rowUrl } from './attachments.ts';
import { inDatabase, promote, restoreDatabase, toolError } from './backups.ts';
import type { Actor, Progress } from '../actor.ts';

/** How long the new instance may take to load its snapshot and accept connections. */
const RESTORE_TIMEOUT_MS = 10 * 60_000;

/** What a restore into a new database is asked for (pg:restore, redis:restore, the API). */
export interface RestoreRequest {
  from?: string | undefined;
  at?: string | undefined;
  to?: string | undefined;
  promote?: boolean | undefined;
}

/** The API's restore of the database `from`, of either kind: pg:restore's or redis:restore's. */
export async function restoreAny(actor: Actor, app: string, req: RestoreRequest & { from: string }, progress: Progress): Promise<Restored> {
  const source = existing(actor.services, app, req.from);
  return source.kind === 'valkey' ? restoreValkey(actor, app, req, progress) : restoreDatabase(actor, app, req, progress);
}

/**
 * redis:restore: a NEW Valkey instance from the newest snapshot of `from` (the app's first Valkey
 * by default), once valkey-check-rdb found it whole; checked (its heartbeat and keys), given its
 * own append-only file and first snapshot, then attached as NEW_URL, or with `promote` as
 * REDIS_URL in the same release. The source is not touched; a failure removes the new instance.
 */
export async function restoreValkey(actor: Actor, app: string, req: RestoreRequest, progress: Progress): Promise<Restored> {
  const { store } = actor.services;
  const source = databaseOf(actor.services, app, 'valkey', req.from, (r) => `${r.name} is a Postgres database; pg:restore ${app} --from ${r.name} restores it.`);
  if (req.at !== undefined) throw new UserError('A Valkey database comes back from its newest snapshot only (it keeps no archive to recover to a time); leave out --at.');
  const name = req.to ?? freeName('valkey', store.data.list(app).map((r) => r.name));
  const attachment = attachmentVar(name);
  const first = checked(actor, app, { kind: 'valkey', name, as: attachment }, 'valkey', source.size);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const deployer = requireDeployer(actor.services);
  const t = progress.transcript;
  // The newest snapshot, checked whole before anything is made: the new instance starts from it.
  t.step(`Checking the newest snapshot of ${source.name} (valkey-check-rdb)`);
  const verify = await deployer.data.command({ app, name: source.name, kind: 'valkey' }, ['verify'], { signal: progress.signal });
  if (verify.code !== 0) {
    const why = toolError(verify.stderr).replace(/^slipway-valkey: verify: /, '') || `exit ${verify.code}`;
    throw new UserError(/no snapshot/.test(why)
      ? `${source.name} has no snapshot to restore yet; the db-backups round takes one a day (rounds:run db-backups takes it now).`
      : `The newest snapshot of ${source.name} cannot be restored: ${why.replace(/\.$/, '')}.`);
  }
  t.detail(verify.stdout.trim());
  const tls = await newServerCert(ca, dataHostNames(app, first.name));
  let readyMs = 0;
  let newestHeartbeat: string | null = null;
  const restored = (attachment: string, release: number | null, promoted: boolean): Restored => ({ name: first.name, from: source.name, attachment, target: null, newestHeartbeat, readyMs, release, promoted });
  return makeAndAttach(actor, app, 'redis:restore', progress, () => {
    checked(actor, app, { kind: 'valkey', name: first.name, as: first.attachment }, 'valkey', source.size);
    // Its own credentials: the snapshot holds the data, not the users.
    return { ...source, ...newLogin(), owner: null, name: first.name, attachment: first.attachment, tlsKey: tls.key, tlsCert: tls.cert, createdAt: '' };
  }, async (row, p) => {
    const t = p.transcript;
    const guards = guardsOf(actor.services, app);
    const service = serviceOf(actor.services, app, row, ca.cert);
    t.step(`Restoring the newest snapshot of ${source.name} into a new database ${row.name} (${source.name} is not touched)`);
    const started = performance.now();
    await deployer.data.apply({ ...service, restore: { fromClaim: dataClaimName(source.name, 'backup') } }, guards, { transcript: t, signal: p.signal, timeoutMs: RESTORE_TIMEOUT_MS });
    readyMs = Math.round(performance.now() - started);
    t.detail(`${row.name} accepted connections ${(readyMs / 1000).toFixed(1)} s after it started`);
    newestHeartbeat = (await inDatabase(actor, app, row, ['last-heartbeat'], p.signal)).trim() || null;
    const keys = (await inDatabase(actor, app, row, ['check'], p.signal)).trim();
    t.detail(`${keys.replace(/^keys /, '')} keys; ${newestHeartbeat ? `newest heartbeat in it: ${newestHeartbeat}` : 'no heartbeat in it (the source had none yet)'}`);
    // Its data into its own append-only file, then on its own: the source's volume is no longer mounted.
    await inDatabase(actor, app, row, ['aof-on'], p.signal);
    await deployer.data.apply(service, guards, { transcript: t, signal: p.signal, timeoutMs: RESTORE_TIMEOUT_MS });
    const again = (await inDatabase(actor, app, row, ['check'], p.signal)).trim();
    if (again !== keys) throw new UserError(`${row.name} held ${keys.replace(/^keys /, '')} keys from the snapshot but ${again.replace(/^keys /, '')} after it started on its own volumes; it is removed.`);
    t.detail(`Taking a first snapshot of ${row.name}`);
    await inDatabase(actor, app, row, ['snapshot'], p.signal);
    store.data.backedUp(app, row.name);
  }, async (row) => {
    // Promoted at once, in the same release: the app's REDIS_URL may name a database whose data is lost.
    if (req.promote) {
      const p = await promote(actor, app, row, 'REDIS_URL', progress);
      return restored(p.attachment, p.release, true);
    }
    t.step(`Attaching ${row.name} as ${row.attachment}`);
    const r = await setConfig(actor, app, { set: { [row.attachment]: rowUrl(app, row) } }, progress);
    return restored(row.attachment, r.release, false);
  });
}
