// Which config var holds each database's URL. A database row records the var it was attached
// under, but the config is what the app runs with: a rollback brings back an earlier release's
// config, so after a promotion is rolled back the old database holds DATABASE_URL again. The
// record follows the config here, so addons:info names the var the app reads and addons:destroy
// detaches whatever var still points at the database it takes.
import { dataUrl } from '../../deploy/data.ts';
import type { Store } from '../../store/index.ts';
import type { DataRow } from '../../store/data.ts';
import { attachmentVar } from './rules.ts';

/** The database name inside every Postgres of an app. */
export const DATABASE = 'app';

/**
 * The user a stored database is used as: its row's, but a Valkey database's is `default` (whose
 * password is requirepass) until a credential rotation makes it an ACL user of its own (then its
 * `owner` is `default`: it has the rights `default` had).
 */
export function loginOf(row: Pick<DataRow, 'kind' | 'username' | 'owner'>): string {
  return row.kind === 'valkey' && !row.owner ? 'default' : row.username;
}

/** The URL a stored database is attached with. */
export function rowUrl(app: string, row: DataRow): string {
  return dataUrl(app, { name: row.name, kind: row.kind, credentials: { username: loginOf(row), password: row.password, database: DATABASE } });
}

/** Every config var whose value is the database's URL, its recorded one first. */
export function varsHolding(vars: Readonly<Record<string, string>>, app: string, row: DataRow): string[] {
  const url = rowUrl(app, row);
  const holding = Object.keys(vars).filter((k) => vars[k] === url).sort();
  return holding.includes(row.attachment) ? [row.attachment, ...holding.filter((k) => k !== row.attachment)] : holding;
}

/**
 * After the config changed wholesale (a rollback): each database whose recorded var no longer
 * holds its URL is recorded under the var that does, when one does. A database no var holds is
 * detached; it keeps its record unless another database now holds that var, and then takes its
 * own name (NAME_URL), as a promotion leaves the database it moves aside.
 */
export function followConfig(store: Store, app: string): void {
  const vars = store.config.all(app);
  const rows = store.data.list(app);
  const held = new Map(rows.map((row) => [row, varsHolding(vars, app, row)[0]]));
  const taken = new Set([...Object.keys(vars), ...[...held.values()].filter((v) => v !== undefined)]);
  for (const row of rows) {
    const holder = held.get(row);
    if (holder !== undefined) {
      if (holder !== row.attachment) store.data.setAttachment(app, row.name, holder);
      continue;
    }
    const own = attachmentVar(row.name);
    if (taken.has(row.attachment) && !taken.has(own)) {
      store.data.setAttachment(app, row.name, own);
      taken.add(own);
    }
  }
}
