// Reading one backup archive back into a directory and checking it: every entry's SHA-256 against
// the archive's checksums, every blob against its digest, every image the manifest lists complete
// (its manifests, config and layers), and the store copy through SQLite's integrity check. The same
// reading serves backup:verify (into a scratch directory) and restore (into the new data dir).
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.ts';
import { inspectStoreFile, openSecretsOf, SCHEMA_VERSION } from '../../store/db.ts';
import { decrypting } from './age.ts';
import { extractTar, type ReadEntry } from './tar.ts';
import { ENTRY, FORMAT, type BackupManifest } from './contents.ts';

/** What reading an archive found: its manifest and what it checked. */
export interface ArchiveCheck {
  manifest: BackupManifest;
  files: number;
  blobs: number;
  /** Bytes of the plain tar's entries. */
  bytes: number;
}

interface Descriptor { digest: string }
interface OciManifest { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] }

/** The sentence for an archive whose contents do not add up (it decrypted, so it was written so or tampered with by the key's holder). */
function damaged(name: string, why: string): UserError {
  return new UserError(`${name} is damaged: ${why}; it cannot be restored.`);
}

/**
 * Decrypts `file` with `identity` into `dir` (an empty directory the caller owns and removes on
 * failure) and checks everything; `name` is how sentences call the archive. An archive from a
 * newer schema than this Slipway's is refused as soon as its manifest is read.
 */
export async function readArchive(file: string, identity: string, dir: string, name: string): Promise<ArchiveCheck> {
  const plain = await decrypting(createReadStream(file), identity, name);
  let manifest: BackupManifest | undefined;
  const entries = await extractTar(plain, dir, (e: ReadEntry, path: string) => {
    if (!manifest) {
      if (e.name !== ENTRY.manifest) throw damaged(name, `its first entry is ${e.name}, not ${ENTRY.manifest}`);
      manifest = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
      if (manifest.format !== FORMAT) throw new UserError(`${name} is in backup format ${manifest.format}, which this Slipway (format ${FORMAT}) does not read: restore it with the Slipway that wrote it (${manifest.slipway}) or a newer one.`);
      if (manifest.schema > SCHEMA_VERSION) throw new UserError(`${name} was written by a newer Slipway (${manifest.slipway}, store schema ${manifest.schema}; this one has ${SCHEMA_VERSION}): restore it with that version or a newer one.`);
    }
  });
  if (!manifest) throw damaged(name, 'it holds no manifest');
  const last = entries.at(-1);
  if (last?.name !== ENTRY.checksums) throw damaged(name, `its last entry is ${last?.name ?? 'missing'}, not ${ENTRY.checksums}`);
  const sums = JSON.parse(readFileSync(join(dir, ENTRY.checksums), 'utf8')) as Record<string, string>;
  const blobPrefix = `${ENTRY.images}/blobs/sha256/`;
  const blobs = new Set<string>();
  let bytes = 0;
  for (const e of entries) {
    bytes += e.size;
    if (e.directory || e.name === ENTRY.checksums) continue;
    if (e.name.startsWith(blobPrefix)) {
      if (e.name.slice(blobPrefix.length) !== e.sha256) throw damaged(name, `the blob ${e.name} does not match its digest`);
      blobs.add(`sha256:${e.sha256}`);
    } else if (sums[e.name] !== e.sha256) throw damaged(name, `${e.name} does not match its checksum`);
  }
  const files = entries.filter((e) => !e.directory && !e.name.startsWith(blobPrefix) && e.name !== ENTRY.checksums);
  const present = new Set(files.map((e) => e.name));
  const absent = Object.keys(sums).filter((n) => !present.has(n));
  if (absent.length) throw damaged(name, `${absent.slice(0, 3).join(', ')} listed in its checksums is missing`);

  // Every image complete: each manifest listed, what it references, down an index's images.
  const need = (digest: string, of: string) => { if (!blobs.has(digest)) throw damaged(name, `${digest} of ${of} is missing`); };
  const walk = (digest: string, of: string): void => {
    need(digest, of);
    const m = JSON.parse(readFileSync(join(dir, blobPrefix + digest.slice('sha256:'.length)), 'utf8')) as OciManifest;
    for (const child of m.manifests ?? []) walk(child.digest, of);
    for (const d of [m.config, ...(m.layers ?? [])]) if (d) need(d.digest, of);
  };
  for (const image of manifest.images) walk(image.digest, `${image.repository}@${image.digest}`);

  const store = inspectStoreFile(join(dir, ENTRY.store));
  if (store.integrity !== 'ok') throw damaged(name, `its store fails SQLite's integrity check (${store.integrity.slice(0, 200)})`);
  if (store.schema !== manifest.schema) throw damaged(name, `its store has schema ${store.schema}, its manifest says ${manifest.schema}`);
  try {
    openSecretsOf(join(dir, ENTRY.store), join(dir, ENTRY.keys));
  } catch (err) {
    throw damaged(name, `its store's secrets do not open with the keys it holds (${(err as Error).message})`);
  }
  return { manifest, files: files.length, blobs: blobs.size, bytes };
}
