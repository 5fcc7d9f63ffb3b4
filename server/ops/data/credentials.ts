// pg:credentials:rotate (Heroku's verb): new random credentials for a Postgres database, in the
// app's config in ONE release, while the old ones keep working until no session uses them. The
// new login is a role of its own that is a member of the role owning the data and acts as it
// (ALTER ROLE … SET role), so what it makes belongs to that role and the next rotation's login can
// use it too. The database's Secret gets the new login, so a restarted pod sets it up again.
// The `db-logins` round removes the LOGIN of each login rotated away from once pg_stat_activity
// shows none of its sessions (the app's old release, a console left open) and the pod reads the
// new login from its Secret (the kubelet brings the change in within a minute or so).
import { Readable } from 'node:stream';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import type { Rotated } from '../../shapes/dumps.ts';
import { lockApp } from '../lock.ts';
import { setConfig } from '../config/config.ts';
import { databaseOf, existing, newLogin, rowUrl, serviceOf } from './addons.ts';
import { toolError } from './backups.ts';
import type { Actor, Progress } from '../actor.ts';

/** How often the db-logins round looks for retired logins' sessions. */
export const RETIRE_ROUND_MS = 60_000;

/** A stream of one line: the new password for login-add's standard input. */
async function* passwordLine(password: string): AsyncGenerator<Buffer> {
  yield Buffer.from(`${password}\n`);
}

/** Adds the login `username` (acting as `owner`) in the database's pod; one sentence when it fails. */
async function addLogin(services: Services, app: string, row: DataRow, login: { username: string; password: string; owner: string }, signal: AbortSignal): Promise<void> {
  let err = '';
  const code = await requireDeployer(services).data.stream({ app, name: row.name, kind: row.kind }, ['login-add', login.username, login.owner], {
    stdin: Readable.from(passwordLine(login.password)),
    stdout: async () => {},
    stderr: async (c) => { err = (err + c.toString()).slice(-4096); },
  }, signal);
  if (code !== 0) throw new UserError(`The new login could not be made in ${row.name} (exit ${code}): ${toolError(err) || 'no reason given'}.`);
}

/**
 * pg:credentials:rotate: a new login and password for the app's Postgres database `raw` (or its
 * first), made in the database, written to its Secret, and set in the app's config var in one
 * release; the old login keeps working until no session uses it (the db-logins round). When the
 * release fails, the config is as it was and so are the database's credentials.
 */
export async function rotateCredentials(actor: Actor, app: string, raw: string | undefined, progress: Progress): Promise<Rotated> {
  const { store } = actor.services;
  const row = databaseOf(actor.services, app, 'postgres', raw, (r) => `${r.name} is a Valkey database; its credentials are not rotated yet (pg:credentials:rotate is for Postgres).`);
  const deployer = requireDeployer(actor.services);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const t = progress.transcript;
  const old = { username: row.username, password: row.password, owner: row.owner ?? null };
  const next = { ...newLogin(), owner: row.owner ?? row.username };
  // Whether the app's config holds this database's URL now: then it is changed in a release.
  const attached = store.config.all(app)[row.attachment] === rowUrl(app, row);
  const unlock = lockApp(actor.services, app, `pg:credentials:rotate by ${actor.identity.name}`);
  let current: DataRow;
  try {
    existing(actor.services, app, row.name);
    t.step(`Making a new login for ${row.name} (${row.username} keeps working until no session uses it)`);
    await addLogin(actor.services, app, row, next, progress.signal);
    store.data.setLogin(app, row.name, next);
    current = existing(actor.services, app, row.name);
    await deployer.data.secret(serviceOf(actor.services, app, current, ca.cert));
  } catch (err) {
    await undo(actor, app, row, old, next.username, ca.cert, err);
    throw err;
  } finally {
    unlock();
  }
  let release: number | null = null;
  if (attached) {
    t.step(`Setting ${row.attachment} to the new credentials`);
    try {
      release = (await setConfig(actor, app, { set: { [row.attachment]: rowUrl(app, current) } }, progress)).release;
    } catch (err) {
      const again = lockApp(actor.services, app, `pg:credentials:rotate by ${actor.identity.name} (undo)`);
      try {
        await undo(actor, app, row, old, next.username, ca.cert, err);
      } finally {
        again();
      }
      throw err;
    }
  }
  // Only now: until the release that no longer uses it, the old login must keep working.
  store.data.retire(app, row.name, old.username);
  return { name: row.name, attachment: row.attachment, release, retiring: old.username };
}

/** Puts the old login back as the database's (store and Secret); the new one is retired by the round. A failure here is logged with the first error, which the user sees. */
async function undo(actor: Actor, app: string, row: DataRow, old: { username: string; password: string; owner: string | null }, made: string, ca: string, cause: unknown): Promise<void> {
  try {
    actor.services.store.data.setLogin(app, row.name, old);
    actor.services.store.data.retire(app, row.name, made);
    await actor.services.deployer?.data.secret(serviceOf(actor.services, app, { ...row, ...old }, ca));
  } catch (err) {
    log.error('a credential rotation that failed could not be undone', { app, database: row.name, err, cause });
  }
}

/**
 * The db-logins round: each login rotated away from loses its LOGIN once no session uses it, and
 * is then forgotten; one database's failure does not stop the others.
 */
export async function retireLogins(services: Services, signal: AbortSignal): Promise<void> {
  if (!services.deployer) return;
  const failed: string[] = [];
  for (const r of services.store.data.retiring()) {
    if (signal.aborted) break;
    const row = services.store.data.get(r.app, r.name);
    if (!row) continue;
    // A login that is the database's again (a failed rotation undone) is not retired.
    if (row.username === r.username) {
      services.store.data.retired(r.app, r.name, r.username);
      continue;
    }
    const out = await services.deployer.data.command({ app: r.app, name: r.name, kind: row.kind }, ['login-retire', r.username], { signal })
      .catch((err: unknown) => ({ code: -1, stdout: '', stderr: (err as Error).message }));
    if (out.code !== 0) {
      failed.push(`${r.app}/${r.name}`);
      log.warn('retiring a database login failed', { app: r.app, database: r.name, login: r.username, code: out.code, stderr: out.stderr.slice(-300) });
      continue;
    }
    // The number of its sessions, or `mounted` while the pod still reads it as its login.
    if (out.stdout.trim() === '0') {
      services.store.data.retired(r.app, r.name, r.username);
      log.info('a rotated database login can no longer log in', { app: r.app, database: r.name, login: r.username });
    }
  }
  if (failed.length) throw new Error(`retiring old logins failed in ${failed.join(', ')}`);
}
