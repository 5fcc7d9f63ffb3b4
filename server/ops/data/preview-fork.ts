// previews:config --fork-db: a new preview's Postgres databases start as copies of the parent's,
// restored from the parent's latest backup as it ended (no later WAL replayed), never read from
// the parent's live database. A scratch copy of the parent's database is started in the parent's
// namespace from its backup volume (mounted read-only, as a restore drill does), pg_dump of that
// copy is streamed straight into pg_restore in the preview's own new database (as the preview's
// role, --no-owner --no-acl, as an import is), and the scratch copy is deleted. The parent's data
// never passes through the server's disk, and the preview's database never reaches the parent's.
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { UserError } from '../../errors.ts';
import { dataClaimName } from '../../deploy/data.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { requireDeployer, type Services } from '../../context.ts';
import type { DataRow } from '../../store/data.ts';
import { showSize } from '../storage/volumes.ts';
import { serviceOf } from './addons.ts';
import { toolError } from './backups.ts';
import type { Progress } from '../actor.ts';

/** How long the parent's scratch copy may take to restore its latest backup and start. */
const FORK_TIMEOUT_MS = 15 * 60_000;

/**
 * Why `parent`'s previews cannot be forks of its databases now, as one sentence, or undefined:
 * each of its Postgres databases needs a backup to be copied from.
 */
export function forkRefusal(services: Pick<Services, 'store'>, parent: string): string | undefined {
  const postgres = services.store.data.list(parent).filter((r) => r.kind === 'postgres');
  if (postgres.length === 0) return `${parent} has no Postgres database; --fork-db copies the parent's Postgres databases into each new preview (addons:create ${parent} postgres makes one).`;
  const none = postgres.find((r) => !services.store.data.lastBackupAt(parent, r.name));
  if (none) return `${parent}'s database ${none.name} has no backup yet, and a preview's copy is restored from the latest backup, never from the live database; pg:backups:capture ${parent} ${none.name} takes one.`;
  return undefined;
}

/** The end of a command's standard error, for its one sentence. */
function errorTail(): { write: (c: Buffer) => Promise<void>; text: () => string } {
  let err = Buffer.alloc(0);
  return { write: async (c) => { err = Buffer.concat([err, c]).subarray(-4096); }, text: () => err.toString() };
}

/**
 * Fills the preview's new, empty Postgres database `into` with the data of the parent's `from` as
 * its latest backup holds it: pg_dump in a scratch copy restored from `from`'s backup volume,
 * streamed into pg_restore in `into`. One sentence when either side fails (the caller removes `into`).
 */
export async function forkInto(services: Services, parent: string, from: DataRow, preview: string, into: DataRow, progress: Progress): Promise<{ bytes: number; readyMs: number }> {
  const { store, config } = services;
  const deployer = requireDeployer(services);
  const ca = store.data.ca(parent);
  if (!ca) throw new Error(`${parent} has databases but no data certificate authority`);
  const max = Math.min(config.databaseImportMaxBytes, quantityValue(into.size));
  const t = progress.transcript;
  t.detail(`Copying ${parent}'s ${from.name} as of its latest backup (${store.data.lastBackupAt(parent, from.name)}) into it: a scratch copy restored from its backups, never the live database`);
  const archive = new PassThrough();
  // Open while pg_dump runs: the image ends pg_dump when its input ends.
  const dumpInput = new PassThrough();
  const dumpErr = errorTail();
  const importErr = errorTail();
  let bytes = 0;
  const importing = deployer.data.stream({ app: preview, name: into.name, kind: 'postgres' }, ['import', String(max)], {
    stdin: archive, stdout: async () => {}, stderr: importErr.write,
  }, progress.signal).finally(() => {
    // pg_restore ended (or failed early): what pg_dump still writes is dropped, so it is never held.
    archive.resume();
  });
  const dumping = deployer.data.fromBackup({ ...serviceOf(services, parent, from, ca.cert), restore: { fromClaim: dataClaimName(from.name, 'backup'), target: 'immediate' } }, ['dump'], {
    stdin: dumpInput,
    stdout: async (c) => {
      bytes += c.length;
      if (!archive.write(c)) await Promise.race([once(archive, 'drain'), importing.then(() => undefined, () => undefined)]);
    },
    stderr: dumpErr.write,
  }, { signal: progress.signal, timeoutMs: FORK_TIMEOUT_MS }).finally(() => {
    dumpInput.end();
    archive.end();
  });
  const [dumped, imported] = await Promise.allSettled([dumping, importing]);
  if (dumped.status === 'rejected') throw dumped.reason;
  if (dumped.value.code !== 0) {
    const why = toolError(dumpErr.text()).replace(/^pg_dump: error: /, '');
    throw new UserError(`pg_dump of the copy of ${parent}'s ${from.name} failed (exit ${dumped.value.code})${why ? `: ${why}` : ''}.`);
  }
  if (imported.status === 'rejected') throw imported.reason;
  if (imported.value !== 0) {
    const why = toolError(importErr.text()).replace(/^slipway-postgres: (import: )?/, '');
    throw new UserError(`The copy of ${parent}'s ${from.name} could not be restored into ${preview}'s ${into.name} (${why || `exit ${imported.value}`}).`);
  }
  t.detail(`Restored ${showSize(bytes)} of ${parent}'s ${from.name} into ${into.name} (its scratch copy started in ${(dumped.value.readyMs / 1000).toFixed(1)} s)`);
  return { bytes, readyMs: dumped.value.readyMs };
}
