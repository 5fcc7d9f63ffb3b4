// Every secret column of the store, and re-sealing them all at once: the migration that sealed the
// values stored in clear before schema 24, and secrets:rotate-key, which moves every value to a new
// key. Both run inside one transaction of their caller, so either every value moved or none did.
import type { Db } from './handle.ts';
import type { Sealer } from './sealing.ts';


/** The schema whose migration sealed the values stored in clear before it (sealInPlace). */
const SEALED_AT = 26;
/** The schema whose migration sealed the log drains' URLs and headers (sealDrains). */
const DRAINS_SEALED_AT = 28;

/** A stored secret as read: its column, its row (the associated data), its stored text. */
interface Stored { rowid: number; text: string; row: (string | number)[] }

/**
 * The secret columns: the name each is sealed under (its associated data with the row's key) and
 * how its rows are read and written. Token and session secrets are not here: only their SHA-256
 * hashes are stored. The SQL is each column's own literal text (the store never builds SQL).
 */
const COLUMNS: { column: string; since: number; read: (db: Db) => Stored[]; write: (db: Db, rowid: number, text: string) => void }[] = [
  {
    column: 'config.value',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; key: string; value: string }>('SELECT rowid, app, key, value FROM config').all().map((r) => ({ rowid: r.rowid, text: r.value, row: [r.app, r.key] })),
    write: (db, rowid, text) => { db.prepare('UPDATE config SET value = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'releases.config',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; version: number; config: string }>('SELECT rowid, app, version, config FROM releases').all().map((r) => ({ rowid: r.rowid, text: r.config, row: [r.app, r.version] })),
    write: (db, rowid, text) => { db.prepare('UPDATE releases SET config = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'data_services.password',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; name: string; password: string }>('SELECT rowid, app, name, password FROM data_services').all().map((r) => ({ rowid: r.rowid, text: r.password, row: [r.app, r.name] })),
    write: (db, rowid, text) => { db.prepare('UPDATE data_services SET password = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'data_services.tls_key',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; name: string; tls_key: string }>('SELECT rowid, app, name, tls_key FROM data_services').all().map((r) => ({ rowid: r.rowid, text: r.tls_key, row: [r.app, r.name] })),
    write: (db, rowid, text) => { db.prepare('UPDATE data_services SET tls_key = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'data_ca.key',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; key: string }>('SELECT rowid, app, key FROM data_ca').all().map((r) => ({ rowid: r.rowid, text: r.key, row: [r.app] })),
    write: (db, rowid, text) => { db.prepare('UPDATE data_ca SET key = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'certs.key_pem',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; host: string; key_pem: string }>('SELECT rowid, app, host, key_pem FROM certs').all().map((r) => ({ rowid: r.rowid, text: r.key_pem, row: [r.app, r.host] })),
    write: (db, rowid, text) => { db.prepare('UPDATE certs SET key_pem = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'syncs.webhook_secret',
    since: SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; app: string; webhook_secret: string }>('SELECT rowid, app, webhook_secret FROM syncs WHERE webhook_secret IS NOT NULL').all().map((r) => ({ rowid: r.rowid, text: r.webhook_secret, row: [r.app] })),
    write: (db, rowid, text) => { db.prepare('UPDATE syncs SET webhook_secret = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'drains.url',
    since: DRAINS_SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; id: string; url: string }>('SELECT rowid, id, url FROM drains').all().map((r) => ({ rowid: r.rowid, text: r.url, row: [r.id] })),
    write: (db, rowid, text) => { db.prepare('UPDATE drains SET url = ? WHERE rowid = ?').run(text, rowid); },
  },
  {
    column: 'drains.headers',
    since: DRAINS_SEALED_AT,
    read: (db) => db.prepare<[], { rowid: number; id: string; headers: string }>('SELECT rowid, id, headers FROM drains').all().map((r) => ({ rowid: r.rowid, text: r.headers, row: [r.id] })),
    write: (db, rowid, text) => { db.prepare('UPDATE drains SET headers = ? WHERE rowid = ?').run(text, rowid); },
  },
];

/** The names of the secret columns (docs and tests list them). */
export const SECRET_COLUMNS: readonly string[] = COLUMNS.map((c) => c.column);

/**
 * Seals every secret value again with the key `to`, reading each with `open` (the plain text as
 * stored before schema 24, or the sealer's open); `each` is called after every value (a test's
 * injected failure). Returns how many values were sealed. Runs in the caller's transaction.
 */
export function resealAll(db: Db, sealer: Sealer, to: string, open: (text: string, column: string, row: readonly (string | number)[]) => string, each?: (done: number) => void, columns = COLUMNS): number {
  let done = 0;
  for (const c of columns) {
    for (const s of c.read(db)) {
      c.write(db, s.rowid, sealer.seal(open(s.text, c.column, s.row), c.column, s.row, to));
      done++;
      each?.(done);
    }
  }
  return done;
}

/** Opens every secret value (a backup's check that its keys open its store copy); the number opened. */
export function openAll(db: Db, sealer: Sealer): number {
  let n = 0;
  // A copy from an older Slipway: only the columns sealed at its schema hold sealed values.
  const schema = db.pragma('user_version', { simple: true }) as number;
  for (const c of COLUMNS.filter((x) => x.since <= schema)) {
    for (const s of c.read(db)) {
      sealer.open(s.text, c.column, s.row);
      n++;
    }
  }
  return n;
}

/** How many values each key seals, by key id (`clear` for a value not sealed). */
export function valuesByKey(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of COLUMNS) {
    for (const s of c.read(db)) {
      const id = /^sealed:v1:([0-9a-f]{16}):/.exec(s.text)?.[1] ?? 'clear';
      out[id] = (out[id] ?? 0) + 1;
    }
  }
  return out;
}

/** Seals with key `to` the values kept in clear in the columns first sealed by the migration to schema `since`. */
function sealClear(db: Db, sealer: Sealer, to: string, since: number): void {
  resealAll(db, sealer, to, (text) => text, undefined, COLUMNS.filter((c) => c.since === since));
}

/**
 * Schema 24: seals every secret value stored in clear, with the current key (made now, in the key
 * folder, unless SLIPWAY_STORE_KEY gives one), in the migration's own transaction, and names that
 * key in the store. Written against the tables as they are at schema 24.
 */
export function sealInPlace(db: Db, sealer: Sealer): void {
  const to = sealer.current();
  sealClear(db, sealer, to, SEALED_AT);
  sealer.setCurrent(to);
}

/**
 * Schema 28: seals the log drains' URLs (a syslog URL's or an HTTPS drain's user and password,
 * a token in its path) and OTLP headers (an API key), stored in clear since schema 27, with the
 * store's current key, in the migration's own transaction.
 */
export function sealDrains(db: Db, sealer: Sealer): void {
  sealClear(db, sealer, sealer.current(), DRAINS_SEALED_AT);
}

/** What secrets:rotate-key did: the key every value is now sealed with, the one before, how many values, which key files went. */
export interface Rotation { key: string; previous: string; values: number; removed: string[]; fromEnvironment: boolean }

/** The store's keys: which seals new values, and rotation. */
export function secretsStore(db: Db, sealer: Sealer) {
  return {
    /** The key new values are sealed with, every key at hand, and how many values each seals. */
    status: (): { current: string; keys: { id: string; source: 'file' | 'environment' }[]; values: Record<string, number> } => ({
      current: sealer.current(),
      keys: sealer.ids().map((id) => ({ id, source: sealer.given(id) ? 'environment' : 'file' })),
      values: valuesByKey(db),
    }),
    /**
     * Seals every value with a new key (SLIPWAY_STORE_KEY's first, when given): the key's file is
     * written and synced first; every value is opened and sealed again, and the new key named, in
     * one transaction; only once that committed are the other key files removed. A crash before
     * the commit leaves every value with the old key (its file is still there), one after it every
     * value with the new key (its file was written before). `each` is called after every value.
     */
    rotate: (each?: (done: number) => void): Rotation => {
      const previous = sealer.current();
      const fromEnvironment = sealer.given(previous);
      const to = fromEnvironment ? previous : sealer.createKey();
      let values = 0;
      try {
        db.transaction(() => {
          values = resealAll(db, sealer, to, (text, column, row) => sealer.open(text, column, row), each);
          sealer.setCurrent(to);
        }).immediate();
      } catch (err) {
        // Rolled back: no value names the new key, so its file goes (a crash would leave it, unused).
        if (!fromEnvironment) sealer.removeKey(to);
        throw err;
      }
      return { key: to, previous, values, removed: sealer.removeOthers(to), fromEnvironment };
    },
  };
}
