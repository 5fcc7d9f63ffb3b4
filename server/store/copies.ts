// The copy of the store taken before a migration (install.sh --upgrade's safety net, and any start
// of a newer Slipway on an older store): consistent (SQLite's online backup), proven, kept in the
// data directory's upgrades folder.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyStore, inspectStoreFile, openAsIs, refuseNewer, schemaOf, SCHEMA_VERSION } from './db.ts';

/** How many copies taken before migrating are kept: the newest (install.sh --upgrade's way back) and two before it. */
export const KEPT_COPIES = 3;

/** The copies taken before migrating, in `dir`, oldest first (their names sort by time within a schema, and schemas only grow). */
function copiesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const name = /^store-before-v(\d+)-(.+)\.sqlite$/;
  return readdirSync(dir).filter((f) => name.test(f)).sort((a, b) => {
    const [, va, ta] = name.exec(a)!;
    const [, vb, tb] = name.exec(b)!;
    return Number(va) - Number(vb) || (ta! < tb! ? -1 : ta! > tb! ? 1 : 0);
  });
}

/**
 * After a migration committed: removes all but the newest KEPT_COPIES copies in `dir` (an old copy
 * holds what the store held then: a copy from before schema 26 its secrets in clear). The removed
 * files' names.
 */
export function pruneCopies(dir: string, keep = KEPT_COPIES): string[] {
  const all = copiesIn(dir);
  const gone = all.slice(0, Math.max(0, all.length - keep));
  for (const f of gone) rmSync(join(dir, f), { force: true });
  return gone;
}

/**
 * Before a store at an older schema is migrated: a consistent copy of it in `dir`
 * (`store-before-vN-TIME.sqlite`, N the schema it will be migrated to), proven by opening it and
 * checking its integrity and schema. Undefined when there is nothing to migrate (no store yet, a
 * new one, or one at this schema); a newer store is refused here as openDb refuses it.
 */
export async function copyBeforeMigrating(file: string, dir: string, at: Date = new Date()): Promise<string | undefined> {
  if (!existsSync(file)) return undefined;
  // Read-only: the copy is taken with SQLite's online backup, which only reads.
  const db = openAsIs(file);
  try {
    const schema = schemaOf(db);
    refuseNewer(file, schema);
    if (schema === 0 || schema === SCHEMA_VERSION) return undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const copy = join(dir, `store-before-v${SCHEMA_VERSION}-${at.toISOString().replace(/[:.]/g, '-')}.sqlite`);
    try {
      await copyStore(db, copy);
    } catch (err) {
      throw new Error(`Could not copy the store to ${copy} before migrating it from schema ${schema} to ${SCHEMA_VERSION}; nothing was migrated.`, { cause: err });
    }
    const found = inspectStoreFile(copy);
    if (found.integrity !== 'ok' || found.schema !== schema) {
      throw new Error(`The copy of the store taken before migrating (${copy}) does not check out (schema ${found.schema}, integrity ${found.integrity}); nothing was migrated.`);
    }
    return copy;
  } finally {
    db.close();
  }
}
