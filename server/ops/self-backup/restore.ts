// `slipway restore ARCHIVE --key FILE` (the local CLI, on the machine that will run Slipway): the
// archive is decrypted and checked into a new directory beside the data directory, its images are
// pushed into the configured registry by digest, and only then is the new directory renamed to be
// the data directory. Refused with one sentence, nothing left behind, for a data directory that is
// not empty, a wrong key, a damaged or truncated archive, or one from a newer Slipway. A machine
// whose registry has another address gets the images there and the releases' references moved
// to it (store/db.ts retargetImages). The next
// start of the server applies every app's current release to the cluster (ops/admin/reconcile.ts:
// what is missing there is applied from the database), from the restored images, without a build.
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import type { Config } from '../../config.ts';
import { RegistryBlobs, type ImageBlobs } from '../../build/registry-blobs.ts';
import { identityIn } from './age.ts';
import { readArchive } from './read.ts';
import { ENTRY, type BackupManifest } from './contents.ts';
import { retargetImages } from '../../store/db.ts';

/** What a restore brought back. */
export interface Restored {
  dataDir: string;
  manifest: Pick<BackupManifest, 'slipway' | 'schema' | 'createdAt' | 'registry'>;
  apps: string[];
  releases: number;
  images: number;
  blobsPushed: number;
  blobsPresent: number;
  /** References to images moved from the archive's registry address to this machine's (0 when they are the same). */
  retargeted: number;
  /** Where the images were pushed (SLIPWAY_REGISTRY). */
  registry: string;
  ms: number;
}

interface Descriptor { digest: string; size: number; mediaType?: string }
interface OciManifest { mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] }

/** Whether `dir` is absent or an empty directory; one sentence otherwise. */
export function requireEmpty(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`${dir} is a file, not a data directory: restore goes into an empty or new directory (SLIPWAY_DATA_DIR).`);
  if (readdirSync(dir).length) throw new UserError(`${dir} is not empty: restore only goes into an empty or new data directory (SLIPWAY_DATA_DIR), so that nothing there is overwritten.`);
}

/** Reads the key file; one sentence when it cannot be read or holds no key. */
function readKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`The key file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
  }
  return identityIn(text, file);
}

/** Restores `archive` into config.dataDir (which must be empty or absent), pushing its images into `images` (the configured registry by default). */
export async function restoreArchive(input: { config: Pick<Config, 'dataDir' | 'registry' | 'registryAuth'>; archive: string; keyFile: string; images?: ImageBlobs }): Promise<Restored> {
  const started = Date.now();
  const dataDir = resolve(input.config.dataDir);
  const archive = resolve(input.archive);
  requireEmpty(dataDir);
  if (!existsSync(archive) || !statSync(archive).isFile()) throw new UserError(`There is no archive at ${archive}.`);
  const identity = readKey(resolve(input.keyFile));
  const parent = dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, `.${basename(dataDir)}.restore-`));
  try {
    const check = await readArchive(archive, identity, work, basename(archive));
    const pushed = await pushImages(input.images ?? new RegistryBlobs(input.config.registry, input.config.registryAuth), work, check.manifest);
    // The data directory as the server lays it out; the archive's own bookkeeping goes.
    const next = join(work, 'data');
    mkdirSync(next, { recursive: true, mode: 0o700 });
    renameSync(join(work, ENTRY.store), join(next, 'slipway.db'));
    // Every release names its image by the registry's address (127.0.0.1:5000/slipway/APP@sha256:…):
    // on a machine whose registry has another address, the references follow the images there
    // (same repository, same digest), in the copy before it becomes the data directory.
    const from = check.manifest.registry;
    const retargeted = from === input.config.registry ? 0 : retargetImages(join(next, 'slipway.db'), from, input.config.registry);
    // The keys the store's secrets are sealed with (archives from before schema 24 hold none).
    if (existsSync(join(work, ENTRY.keys))) {
      renameSync(join(work, ENTRY.keys), join(next, 'keys'));
      chmodSync(join(next, 'keys'), 0o700);
    }
    if (existsSync(join(work, ENTRY.repos))) renameSync(join(work, ENTRY.repos), join(next, 'repos'));
    // What the server ran with (the registry credential included), for the operator to set again.
    renameSync(join(work, ENTRY.settings), join(next, 'restored-settings.json'));
    chmodSync(join(next, 'restored-settings.json'), 0o600);
    writeFileSync(join(next, 'restored-from.json'), JSON.stringify({ archive, restoredAt: new Date().toISOString(), ...pick(check.manifest) }, null, 2), { mode: 0o600 });
    // The last step: the data directory appears whole or not at all (an empty one is replaced).
    if (existsSync(dataDir)) {
      requireEmpty(dataDir);
      rmdirSync(dataDir);
    }
    chmodSync(next, 0o700);
    renameSync(next, dataDir);
    const m = check.manifest;
    return { dataDir, manifest: pick(m), apps: m.apps.map((a) => a.name), releases: m.apps.reduce((n, a) => n + a.releases.length, 0), images: m.images.length, ...pushed, retargeted, registry: input.config.registry, ms: Date.now() - started };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function pick(m: BackupManifest): Restored['manifest'] {
  return { slipway: m.slipway, schema: m.schema, createdAt: m.createdAt, registry: m.registry };
}

/** How many repositories are pushed at once: a registry answers each blob's requests in turn, so one at a time waits on it (bench/results/self-backup.md). */
export const PUSHING = 4;

/**
 * Puts every image of the archive into the registry under its repository and digest: blobs first
 * (one the repository has already is not sent again), then an index's images, then the manifest.
 * PUSHING repositories at a time, each repository's images in turn (they share layers).
 */
async function pushImages(images: ImageBlobs, dir: string, manifest: BackupManifest): Promise<{ blobsPushed: number; blobsPresent: number }> {
  const blobPath = (digest: string) => join(dir, ENTRY.images, 'blobs', 'sha256', digest.slice('sha256:'.length));
  let blobsPushed = 0;
  let blobsPresent = 0;
  const done = new Set<string>();
  const putBlob = async (repository: string, d: Descriptor) => {
    const key = `${repository}@${d.digest}`;
    if (done.has(key)) return;
    if (await images.hasBlob(repository, d.digest)) blobsPresent++;
    else {
      await images.putBlob(repository, d.digest, statSync(blobPath(d.digest)).size, () => createReadStream(blobPath(d.digest)));
      blobsPushed++;
    }
    done.add(key);
  };
  const putManifest = async (repository: string, digest: string, mediaType: string) => {
    const bytes = readFileSync(blobPath(digest));
    const m = JSON.parse(bytes.toString('utf8')) as OciManifest;
    for (const child of m.manifests ?? []) await putManifest(repository, child.digest, child.mediaType ?? m.mediaType ?? mediaType);
    for (const d of [m.config, ...(m.layers ?? [])]) if (d) await putBlob(repository, d);
    await images.putManifest(repository, digest, { bytes, mediaType: m.mediaType ?? mediaType });
  };
  const byRepository = new Map<string, BackupManifest['images']>();
  for (const image of manifest.images) byRepository.set(image.repository, (byRepository.get(image.repository) ?? []).concat(image));
  const queue = [...byRepository.values()];
  let failed = false;
  const worker = async () => {
    for (let next = queue.shift(); next && !failed; next = queue.shift()) {
      try {
        for (const image of next) await putManifest(image.repository, image.digest, image.mediaType);
      } catch (err) {
        failed = true; // The other workers take no new repository; the restore fails with this error.
        throw err;
      }
    }
  };
  // Every worker ends before the restore goes on (or cleans up after the first error).
  const ended = await Promise.allSettled(Array.from({ length: PUSHING }, worker));
  const error = ended.find((e) => e.status === 'rejected');
  if (error) throw error.reason;
  return { blobsPushed, blobsPresent };
}
