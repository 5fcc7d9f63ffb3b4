// A preview's own databases: a preview of an app that has databases gets, before its first
// deploy, an empty database of each of the parent's kinds and versions, attached under the same
// config var, so its code runs against a database of its own and never sees the parent's data
// (the parent's databases admit only the parent's own pods anyway: kube/netpol.ts). With
// previews:config --fork-db its Postgres databases are copies of the parent's latest backups
// instead (preview-fork.ts). They live in the preview's namespace and go with it.
import { newServerCert } from '../../data/certs.ts';
import { dataHostNames } from '../../deploy/data.ts';
import { requireDeployer } from '../../context.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { DEFAULT_VOLUME_SIZE } from '../storage/volumes.ts';
import { DATA_KINDS } from './rules.ts';
import { authorityOf, checked, claimsRefusal, guardsOf, newDataRow, removeQuietly, serviceOf } from './addons.ts';
import { rowUrl } from './attachments.ts';
import { forkInto, forkRefusal } from './preview-fork.ts';
import { UserError } from '../../errors.ts';
import type { Actor, Progress } from '../actor.ts';

/** How long a preview's database may take to accept connections (an image pull on a cold node included). */
const START_TIMEOUT_MS = 180_000;

/** The size of a preview's copy of a database: the parent's, at most the default volume size. */
export function previewDatabaseSize(parentSize: string): string {
  return quantityValue(parentSize) <= quantityValue(DEFAULT_VOLUME_SIZE) ? parentSize : DEFAULT_VOLUME_SIZE;
}

/**
 * Makes the preview's empty databases, one for each of the parent's, under the same names and
 * config vars; stores each var without a release (the preview's deploy that follows releases
 * them). Runs under the preview's lock, in its first deploy; one that exists already is kept. A
 * database that does not come up is removed, and the deploy fails with its reason.
 */
export async function makePreviewDatabases(actor: Actor, parent: string, preview: string, progress: Progress): Promise<string[]> {
  const { store, config } = actor.services;
  const wanted = store.data.list(parent).filter((p) => !store.data.get(preview, p.name));
  if (wanted.length === 0) return [];
  const deployer = requireDeployer(actor.services);
  // A fork needs a backup of each of the parent's Postgres databases: refused before anything is made.
  const fork = store.previews.settings(parent).forkDb;
  if (fork) {
    const refusal = forkRefusal(actor.services, parent);
    if (refusal) throw new UserError(refusal);
  }
  // All of them within the preview's share, or none is made: a refusal after the first would
  // leave it started (and a preview that exists already would keep it on every push).
  const refusal = claimsRefusal(actor, preview, wanted.map((p) => previewDatabaseSize(p.size)));
  if (refusal) throw new UserError(`${refusal.replace(/\.$/, '')}: the preview's databases (one for each of ${parent}'s) were not made.`);
  const ca = await authorityOf(actor.services, preview);
  const t = progress.transcript;
  const made: string[] = [];
  for (const p of wanted) {
    const size = previewDatabaseSize(p.size);
    const { name, attachment } = checked(actor, preview, { kind: p.kind, name: p.name, as: p.attachment }, p.kind, size);
    const tls = await newServerCert(ca, dataHostNames(preview, name));
    const row = newDataRow({ name, kind: p.kind, version: p.version, size, storageClass: config.storageClass ?? null, attachment }, tls);
    const copy = fork && p.kind === 'postgres';
    t.step(copy
      ? `Creating ${DATA_KINDS[p.kind].title} ${p.version} ${name} (${size}) for preview ${preview}, as ${attachment}, a copy of ${parent}'s latest backup (previews:config --fork-db)`
      : `Creating an empty ${DATA_KINDS[p.kind].title} ${p.version} ${name} (${size}) for preview ${preview}, as ${attachment} (${parent}'s data stays with ${parent})`);
    store.data.add(preview, row);
    try {
      await deployer.data.apply(serviceOf(actor.services, preview, row, ca.cert), guardsOf(actor.services, preview), { transcript: t, signal: progress.signal, timeoutMs: START_TIMEOUT_MS });
      if (copy) await forkInto(actor.services, parent, p, preview, row, progress);
    } catch (err) {
      await removeQuietly(actor, preview, name, err);
      throw err;
    }
    store.config.change(preview, { [attachment]: rowUrl(preview, row) });
    made.push(name);
  }
  return made;
}
