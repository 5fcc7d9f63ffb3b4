import { now, type Db } from './db.ts';
import type { DataKind } from '../model.ts';
import type { Sealer } from './sealing.ts';

/** One of an app's databases as stored: what it is, the config var it is attached as, its secrets. */
export interface DataRow {
  name: string;
  kind: DataKind;
  /** The server's major version (`17`, `8`). */
  version: string;
  /** What its data volume holds (its backup volume holds as much). */
  size: string;
  /** The StorageClass its claims name; null: the cluster's default. */
  storageClass: string | null;
  /** The config var holding its URL (`DATABASE_URL`). */
  attachment: string;
  username: string;
  /** Secret: never logged, never shown but through config. */
  password: string;
  /** Postgres: the role that owns the data, which `username` acts as after a credential rotation (null: `username` itself). */
  owner?: string | null;
  /** The PEM key and certificate it serves TLS with (signed by the app's data CA). */
  tlsKey: string;
  tlsCert: string;
  createdAt: string;
}

/** One restore drill: when, whether it proved the backup, the step that failed, and what it measured. */
export interface DrillRow {
  at: string;
  ok: boolean;
  /** The step that failed: verify, restore, heartbeat, amcheck (null when it passed). */
  step: string | null;
  /** One sentence: what failed, or what was checked. */
  message: string | null;
  /** Recovery point: how old the newest heartbeat in the restored copy was, against the time recovered to, in seconds. */
  rpoS: number | null;
  /** Recovery time: from starting the copy until it accepted connections, in ms. */
  rtoMs: number | null;
}

interface DrillRaw { at: string; ok: number; step: string | null; message: string | null; rpo_s: number | null; rto_ms: number | null }

interface Raw { name: string; kind: DataKind; version: string; size: string; storage_class: string | null; attachment: string; username: string; password: string; tls_key: string; tls_cert: string; created_at: string; owner: string | null }

const COLUMNS = 'name, kind, version, size, storage_class, attachment, username, password, tls_key, tls_cert, created_at, owner';
/** Each app's databases (addons:create) and its data certificate authority; passwords and keys stored sealed. */
export function dataStore(db: Db, sealer: Sealer) {
  const row = (app: string) => (r: Raw): DataRow => ({
    name: r.name, kind: r.kind, version: r.version, size: r.size, storageClass: r.storage_class, attachment: r.attachment,
    username: r.username, password: sealer.open(r.password, 'data_services.password', [app, r.name]), tlsKey: sealer.open(r.tls_key, 'data_services.tls_key', [app, r.name]),
    tlsCert: r.tls_cert, createdAt: r.created_at, owner: r.owner,
  });
  const ca = (app: string, r: { key: string; cert: string } | undefined) => r && { key: sealer.open(r.key, 'data_ca.key', [app]), cert: r.cert };
  return {
    /** The app's databases, oldest first. */
    list: (app: string): DataRow[] =>
      db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM data_services WHERE app = ? ORDER BY created_at, rowid`).all(app).map(row(app)),
    get: (app: string, name: string): DataRow | undefined => {
      const r = db.prepare<[string, string], Raw>(`SELECT ${COLUMNS} FROM data_services WHERE app = ? AND name = ?`).get(app, name);
      return r && row(app)(r);
    },
    /** Adds a database, made by job `makingJob` until `made` says it is (null: made already); false when the app has one of that name already. */
    add: (app: string, d: Omit<DataRow, 'createdAt'>, makingJob: string | null = null): boolean => db.transaction(() =>
      db.prepare('INSERT OR IGNORE INTO data_services (app, name, kind, version, size, storage_class, attachment, username, password, tls_key, tls_cert, created_at, owner, making_job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(app, d.name, d.kind, d.version, d.size, d.storageClass, d.attachment, d.username, sealer.seal(d.password, 'data_services.password', [app, d.name]), sealer.seal(d.tlsKey, 'data_services.tls_key', [app, d.name]), d.tlsCert, now(), d.owner ?? null, makingJob).changes > 0).immediate(),
    /** The database is made: its job's end no longer concerns it. */
    made: (app: string, name: string): void => {
      db.prepare('UPDATE data_services SET making_job = NULL WHERE app = ? AND name = ?').run(app, name);
    },
    /** The app's databases still being made, with the job making each (after a restart: half-made ones). */
    making: (app: string): { name: string; job: string }[] =>
      db.prepare<[string], { name: string; job: string }>('SELECT name, making_job AS job FROM data_services WHERE app = ? AND making_job IS NOT NULL ORDER BY rowid').all(app),
    /** A credential rotation: the login and password the database is used with, acting as `owner` (null: as itself). */
    setLogin: (app: string, name: string, login: { username: string; password: string; owner: string | null }): void => db.transaction(() => {
      db.prepare('UPDATE data_services SET username = ?, password = ?, owner = ? WHERE app = ? AND name = ?').run(login.username, sealer.seal(login.password, 'data_services.password', [app, name]), login.owner, app, name);
    }).immediate(),
    /** Records a login rotated away from: a round removes its LOGIN once no session uses it. */
    retire: (app: string, name: string, username: string): void => {
      db.prepare('INSERT OR IGNORE INTO data_retiring (app, name, username, since) VALUES (?, ?, ?, ?)').run(app, name, username, now());
    },
    /** Logins rotated away from and not yet retired, every app's, oldest first. */
    retiring: (): { app: string; name: string; username: string; since: string }[] =>
      db.prepare<[], { app: string; name: string; username: string; since: string }>('SELECT app, name, username, since FROM data_retiring ORDER BY since, rowid').all(),
    /** A retiring login can no longer log in: forgotten. */
    retired: (app: string, name: string, username: string): void => {
      db.prepare('DELETE FROM data_retiring WHERE app = ? AND name = ? AND username = ?').run(app, name, username);
    },
    /** Changes the config var a database is recorded as attached as (pg:promote). */
    setAttachment: (app: string, name: string, attachment: string): void => {
      db.prepare('UPDATE data_services SET attachment = ? WHERE app = ? AND name = ?').run(attachment, app, name);
    },
    /** Records that a backup of the database ended now. */
    backedUp: (app: string, name: string): void => {
      db.prepare('UPDATE data_services SET last_backup_at = ? WHERE app = ? AND name = ?').run(now(), app, name);
    },
    /** When the database's last backup taken by Slipway ended (null: none yet). */
    lastBackupAt: (app: string, name: string): string | null =>
      db.prepare<[string, string], { at: string | null }>('SELECT last_backup_at AS at FROM data_services WHERE app = ? AND name = ?').get(app, name)?.at ?? null,
    /** The time of day (HH:MM, UTC) its daily backup is scheduled at; null: by the interval since the last one. */
    backupAt: (app: string, name: string): string | null =>
      db.prepare<[string, string], { at: string | null }>('SELECT backup_at AS at FROM data_services WHERE app = ? AND name = ?').get(app, name)?.at ?? null,
    /** pg:backups:schedule (HH:MM, UTC) and unschedule (null). */
    setBackupAt: (app: string, name: string, at: string | null): void => {
      db.prepare('UPDATE data_services SET backup_at = ? WHERE app = ? AND name = ?').run(at, app, name);
    },
    /** Records a restore drill's outcome, keeping the newest 30 per database. */
    addDrill: (app: string, name: string, d: Omit<DrillRow, 'at'>): void => {
      db.prepare('INSERT INTO data_drills (app, name, at, ok, step, message, rpo_s, rto_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(app, name, now(), d.ok ? 1 : 0, d.step, d.message, d.rpoS, d.rtoMs);
      db.prepare('DELETE FROM data_drills WHERE app = ? AND name = ? AND rowid NOT IN (SELECT rowid FROM data_drills WHERE app = ? AND name = ? ORDER BY at DESC, rowid DESC LIMIT 30)').run(app, name, app, name);
    },
    /** The newest drill of the database, and its newest successful one. */
    drills: (app: string, name: string): { last: DrillRow | undefined; lastOk: DrillRow | undefined } => {
      const drill = (r: DrillRaw | undefined): DrillRow | undefined => r && { at: r.at, ok: r.ok === 1, step: r.step, message: r.message, rpoS: r.rpo_s, rtoMs: r.rto_ms };
      return {
        last: drill(db.prepare<[string, string], DrillRaw>('SELECT at, ok, step, message, rpo_s, rto_ms FROM data_drills WHERE app = ? AND name = ? ORDER BY at DESC, rowid DESC LIMIT 1').get(app, name)),
        lastOk: drill(db.prepare<[string, string], DrillRaw>('SELECT at, ok, step, message, rpo_s, rto_ms FROM data_drills WHERE app = ? AND name = ? AND ok = 1 ORDER BY at DESC, rowid DESC LIMIT 1').get(app, name)),
      };
    },
    /** Removes a database's row; false when there was none. */
    remove: (app: string, name: string): boolean =>
      db.prepare('DELETE FROM data_services WHERE app = ? AND name = ?').run(app, name).changes > 0,
    /** The app's data certificate authority (key and certificate, PEM), if it has one yet. */
    ca: (app: string): { key: string; cert: string } | undefined =>
      ca(app, db.prepare<[string], { key: string; cert: string }>('SELECT key, cert FROM data_ca WHERE app = ?').get(app)),
    /** Keeps the app's data certificate authority; the first one stays (returns the one kept). */
    keepCa: (app: string, made: { key: string; cert: string }): { key: string; cert: string } => db.transaction(() => {
      db.prepare('INSERT OR IGNORE INTO data_ca (app, key, cert) VALUES (?, ?, ?)').run(app, sealer.seal(made.key, 'data_ca.key', [app]), made.cert);
      return ca(app, db.prepare<[string], { key: string; cert: string }>('SELECT key, cert FROM data_ca WHERE app = ?').get(app))!;
    }).immediate(),
  };
}
