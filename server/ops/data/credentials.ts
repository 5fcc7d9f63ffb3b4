// pg:credentials:rotate and redis:credentials:rotate (Heroku's verbs): new random credentials for
// a database, in the app's config in ONE release, while the old ones keep working until nothing
// uses them. Postgres: the new login is a role of its own that is a member of the role owning the
// data and acts as it (ALTER ROLE … SET role), so what it makes belongs to that role and the next
// rotation's login can use it too. Valkey: the new login is an ACL user with every right (the
// rights `default` had; until its first rotation a Valkey database is used as `default`). The
// database's Secret gets the new login, so a restarted pod sets it up again. The `db-logins` round
// retires each login rotated away from once none of its sessions remain (pg_stat_activity;
// Valkey's CLIENT LIST, user=), the app's old release and a console left open included, and the
// pod reads the new login from its Secret (the kubelet brings the change in within a minute or so):
// Postgres's loses its LOGIN, Valkey's ACL user is deleted (`default` turned off).
import { Readable } from 'node:stream';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import type { DataKind } from '../../model.ts';
import type { Rotated } from '../../shapes/dumps.ts';
import { lockApp } from '../lock.ts';
import { setConfig } from '../config/config.ts';
import { databaseOf, existing, guardsOf, newLogin, serviceOf } from './addons.ts';
import { loginOf, rowUrl } from './attachments.ts';
import { toolError } from './backups.ts';
import type { Actor, Progress } from '../actor.ts';

/** How often the db-logins round looks for retired logins' sessions. */
export const RETIRE_ROUND_MS = 60_000;
/** How long a Valkey database brought up to date before its rotation may take to accept connections again. */
const APPLY_TIMEOUT_MS = 180_000;
/** A Valkey login's owner once it is an ACL user: it has the rights `default` had. */
const VALKEY_OWNER = 'default';

/** A stream of one line: the new password for login-add's standard input. */
async function* passwordLine(password: string): AsyncGenerator<Buffer> {
  yield Buffer.from(`${password}\n`);
}

/** Adds the login `username` (Postgres: acting as `owner`; Valkey: an ACL user) in the database's pod; one sentence when it fails. */
async function addLogin(services: Services, app: string, row: DataRow, login: { username: string; password: string; owner: string }, signal: AbortSignal): Promise<void> {
  let err = '';
  const command = row.kind === 'postgres' ? ['login-add', login.username, login.owner] as const : ['login-add', login.username] as const;
  const code = await requireDeployer(services).data.stream({ app, name: row.name, kind: row.kind }, [...command], {
    stdin: Readable.from(passwordLine(login.password)),
    stdout: async () => {},
    stderr: async (c) => { err = (err + c.toString()).slice(-4096); },
  }, signal);
  if (code !== 0) throw new UserError(`The new login could not be made in ${row.name} (exit ${code}): ${toolError(err) || 'no reason given'}.`);
}

/**
 * pg:credentials:rotate and redis:credentials:rotate (`kind`; the API names the database, of
 * either kind): a new login and password for the app's database `raw` (or its first of `kind`),
 * made in the database, written to its Secret, and set in the app's config var in one release; the
 * old login keeps working until no session uses it (the db-logins round). When the release fails,
 * the config is as it was and so are the database's credentials.
 */
export async function rotateCredentials(actor: Actor, app: string, raw: string | undefined, progress: Progress, kind?: DataKind): Promise<Rotated> {
  const { store } = actor.services;
  const row = kind === undefined && raw !== undefined ? existing(actor.services, app, raw) : databaseOf(actor.services, app, kind ?? 'postgres', raw, (r) => `${r.name} is a ${r.kind === 'valkey' ? 'Valkey' : 'Postgres'} database; ${r.kind === 'valkey' ? 'redis' : 'pg'}:credentials:rotate ${app} ${r.name} rotates its credentials.`);
  const deployer = requireDeployer(actor.services);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const t = progress.transcript;
  const old = { username: row.username, password: row.password, owner: row.owner ?? null };
  const oldLogin = loginOf(row);
  const next = { ...newLogin(), owner: row.kind === 'valkey' ? VALKEY_OWNER : row.owner ?? row.username };
  // Whether the app's config holds this database's URL now: then it is changed in a release.
  const attached = store.config.all(app)[row.attachment] === rowUrl(app, row);
  const unlock = lockApp(actor.services, app, `${row.kind === 'valkey' ? 'redis' : 'pg'}:credentials:rotate by ${actor.identity.name}`);
  let current: DataRow;
  try {
    existing(actor.services, app, row.name);
    if (row.kind === 'valkey') {
      // Its pod as this server makes it now, with the same login: it reads its login from the
      // Secret's files and has login-add. A database made before is started again (once).
      t.step(`Checking that ${row.name} runs as this server makes it (a database made by an older server starts again)`);
      await deployer.data.apply(serviceOf(actor.services, app, row, ca.cert), guardsOf(actor.services, app), { transcript: t, signal: progress.signal, timeoutMs: APPLY_TIMEOUT_MS });
    }
    t.step(`Making a new login for ${row.name} (${oldLogin} keeps working until no ${row.kind === 'valkey' ? 'connection' : 'session'} uses it)`);
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
      const again = lockApp(actor.services, app, `${row.kind === 'valkey' ? 'redis' : 'pg'}:credentials:rotate by ${actor.identity.name} (undo)`);
      try {
        await undo(actor, app, row, old, next.username, ca.cert, err);
      } finally {
        again();
      }
      throw err;
    }
  }
  // Only now: until the release that no longer uses it, the old login must keep working.
  store.data.retire(app, row.name, oldLogin);
  return { name: row.name, attachment: row.attachment, release, retiring: oldLogin };
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
 * The db-logins round: each login rotated away from loses its LOGIN (Valkey: its ACL user) once no
 * session uses it, and is then forgotten; one database's failure does not stop the others.
 */
export async function retireLogins(services: Services, signal: AbortSignal): Promise<void> {
  if (!services.deployer) return;
  const failed: string[] = [];
  for (const r of services.store.data.retiring()) {
    if (signal.aborted) break;
    const row = services.store.data.get(r.app, r.name);
    if (!row) continue;
    // A login that is the database's again (a failed rotation undone) is not retired.
    if (loginOf(row) === r.username) {
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
