// Writing one backup archive: the tar of contents.ts, encrypted with age as it is written, into a
// temporary name beside the final one, renamed once complete (a crash leaves no archive that looks
// whole). Nothing is held whole in memory: files and layers stream through.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, lstatSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config.ts';
import type { Store } from '../../store/index.ts';
import { copyStore, inspectStoreFile } from '../../store/db.ts';
import type { ImageBlobs } from '../../build/registry-blobs.ts';
import { encrypting } from './age.ts';
import { TarWriter } from './tar.ts';
import { ENTRY, FORMAT, imagesToKeep, manifestApps, manifestDatabases, type BackupManifest, type ManifestImage } from './contents.ts';
import { auditKeyFile } from '../audit/checkpoint.ts';

/** What went into an archive. */
export interface Written {
  manifest: BackupManifest;
  /** The archive's size on disk, and the SHA-256 of its encrypted bytes (bit rot shows against it). */
  bytes: number;
  sha256: string;
  blobs: number;
  blobBytes: number;
  files: number;
}

interface Descriptor { mediaType?: string; digest: string; size: number }
interface OciManifest { mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] }

/** The settings the server runs with that a restore needs: the non-secret ones and the registry credential. */
export function settingsOf(config: Readonly<Config>): Record<string, unknown> {
  return {
    publicHost: config.publicHost, baseDomain: config.baseDomain, registry: config.registry, registryPull: config.registryPull,
    buildRegistry: config.buildRegistry, builderImage: config.builderImage, buildBackend: config.buildBackend,
    keepReleases: config.keepReleases, acmeEmail: config.acmeEmail ?? null, acmeIssuer: config.acmeIssuer,
    storageClass: config.storageClass ?? null, backupRecipient: config.backupRecipient ?? null,
    registryAuth: config.registryAuth ? { username: config.registryAuth.username, password: config.registryAuth.password } : null,
  };
}

/**
 * Writes the archive `file` (through `file.partial`, renamed at the end) encrypted to every one of
 * `recipients`; on any failure nothing is left behind.
 */
export async function writeArchive(input: { config: Readonly<Config>; store: Store; images: ImageBlobs; file: string; recipients: readonly string[]; signal?: AbortSignal }): Promise<Written> {
  const { config, store, images, file } = input;
  const partial = `${file}.partial`;
  const storeCopy = `${file}.store`;
  try {
    // The store first, as of one moment: the manifest is read from the copy, so both agree.
    await copyStore(store.db, storeCopy);
    // The keys its secrets are sealed with, as of the same moment (a rotation is refused while a
    // backup is written, and runs whole between two turns of the event loop in any case).
    const keys = store.sealer.exportKeys();
    const schema = inspectStoreFile(storeCopy).schema;
    const apps = manifestApps(store);
    const tar = new TarWriter();
    const hash = createHash('sha256');
    let bytes = 0;
    const sealed = encrypting(tar.output, input.recipients).then(async (encrypted) => pipeline(
      encrypted,
      new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); bytes += chunk.length; cb(null, chunk); } }),
      createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
      ...(input.signal ? [{ signal: input.signal }] as const : []),
    )).catch((err: unknown) => { tar.abort(err as Error); throw err; });
    const filling = fill(tar, { config, store, images, storeCopy, keys, schema, apps, signal: input.signal });
    // A failure on either side stops both: the tar's writer waits on the file, the file on the tar.
    const [content] = await Promise.all([filling.catch((err: unknown) => { tar.abort(err as Error); throw err; }), sealed]);
    renameSync(partial, file);
    return { ...content, bytes, sha256: hash.digest('hex') };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    rmSync(storeCopy, { force: true });
  }
}

/** Adds every entry in order, then the checksums, and ends the tar. */
async function fill(tar: TarWriter, c: { config: Readonly<Config>; store: Store; images: ImageBlobs; storeCopy: string; keys: { id: string; base64: string }[]; schema: number; apps: BackupManifest['apps']; signal?: AbortSignal }): Promise<Omit<Written, 'bytes' | 'sha256'>> {
  const sums: Record<string, string> = {};
  let files = 0;
  // The images are looked up before the manifest is written, so it lists only what the archive holds.
  const wanted = imagesToKeep(c.apps);
  const found: { image: ManifestImage; bytes: Uint8Array; children: Descriptor[] }[] = [];
  const missing: string[] = [];
  for (const w of wanted) {
    const m = await c.images.manifest(w.repository, w.digest);
    if (!m) { missing.push(w.image); continue; }
    const parsed = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as OciManifest;
    found.push({ image: { repository: w.repository, digest: w.digest, mediaType: m.mediaType }, bytes: m.bytes, children: [...(parsed.manifests ?? [])] });
  }
  const manifest: BackupManifest = {
    format: FORMAT, slipway: c.config.version, schema: c.schema, createdAt: new Date().toISOString(), registry: c.images.registry,
    apps: c.apps, images: found.map((f) => f.image), missingImages: missing, databases: manifestDatabases(c.store),
  };
  const add = async (name: string, data: Uint8Array) => { sums[name] = await tar.buffer(name, data); files++; };
  await add(ENTRY.manifest, Buffer.from(JSON.stringify(manifest, null, 2)));
  sums[ENTRY.store] = await tar.file(ENTRY.store, c.storeCopy, statSync(c.storeCopy).size);
  files++;
  // Every key at hand, those from SLIPWAY_STORE_KEY too: the archive restores without the secret manager.
  await tar.directory(ENTRY.keys);
  for (const k of c.keys) await add(`${ENTRY.keys}/store-${k.id}.key`, Buffer.from(`${k.base64}\n`));
  if (existsSync(c.config.hostKeyFile)) {
    sums[ENTRY.hostKey] = await tar.file(ENTRY.hostKey, c.config.hostKeyFile, statSync(c.config.hostKeyFile).size);
    files++;
  }
  // The audit log's signing key, so a restored server still verifies the checkpoints in its chain
  // (the latest-checkpoint file stays behind: it may be newer than this copy of the store).
  const auditKey = auditKeyFile(c.config);
  if (existsSync(auditKey)) {
    sums[ENTRY.auditKey] = await tar.file(ENTRY.auditKey, auditKey, statSync(auditKey).size);
    files++;
  }
  await add(ENTRY.settings, Buffer.from(JSON.stringify(settingsOf(c.config), null, 2)));
  files += await addTree(tar, c.config.reposDir, ENTRY.repos, sums, c.signal);

  // The image layout: every manifest and blob once, by digest.
  const written = new Set<string>();
  let blobBytes = 0;
  const blobName = (digest: string) => `${ENTRY.images}/blobs/sha256/${digest.slice('sha256:'.length)}`;
  const putBlob = async (repository: string, d: Descriptor) => {
    if (written.has(d.digest)) return;
    c.signal?.throwIfAborted();
    const got = await tar.fromStream(blobName(d.digest), d.size, await c.images.blob(repository, d.digest));
    if (`sha256:${got}` !== d.digest) throw new Error(`the registry's blob ${repository}@${d.digest} does not match its digest`);
    written.add(d.digest);
    blobBytes += d.size;
  };
  const putManifest = async (repository: string, digest: string, bytes: Uint8Array) => {
    if (written.has(digest)) return;
    await tar.buffer(blobName(digest), bytes);
    written.add(digest);
    blobBytes += bytes.length;
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as OciManifest;
    for (const d of [m.config, ...(m.layers ?? [])]) if (d) await putBlob(repository, d);
  };
  for (const f of found) {
    for (const child of f.children) {
      const cm = await c.images.manifest(f.image.repository, child.digest);
      if (!cm) throw new Error(`the registry lost ${f.image.repository}@${child.digest}, a part of ${f.image.digest}, during the backup`);
      await putManifest(f.image.repository, child.digest, cm.bytes);
    }
    await putManifest(f.image.repository, f.image.digest, f.bytes);
  }
  await add(`${ENTRY.images}/oci-layout`, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const index = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: found.map((f) => ({ mediaType: f.image.mediaType, digest: f.image.digest, size: f.bytes.length, annotations: { 'io.slipway.repository': f.image.repository } })),
  };
  await add(`${ENTRY.images}/index.json`, Buffer.from(JSON.stringify(index)));
  await tar.buffer(ENTRY.checksums, Buffer.from(JSON.stringify(sums)));
  tar.end();
  return { manifest, blobs: written.size, blobBytes, files: files + 1 };
}

/**
 * Adds a directory tree under `prefix`: directories, then at each level every other entry before
 * `objects`, so a repository's refs are read before its objects and every object a copied ref
 * names is in the copy (git writes objects before the ref that names them, and never changes one).
 * Lock files, temporary objects and a push's quarantine are left out.
 */
async function addTree(tar: TarWriter, root: string, prefix: string, sums: Record<string, string>, signal?: AbortSignal): Promise<number> {
  if (!existsSync(root)) return 0;
  let files = 0;
  const walk = async (dir: string, name: string): Promise<void> => {
    signal?.throwIfAborted();
    await tar.directory(name);
    let children: string[];
    try {
      children = readdirSync(dir).sort((a, b) => (a === 'objects' ? 1 : 0) - (b === 'objects' ? 1 : 0) || a.localeCompare(b));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const child of children) {
      // git's lock files, temporary objects and a push's quarantine are not part of any repository yet.
      if (child.endsWith('.lock') || child.startsWith('tmp_') || child.startsWith('incoming-')) continue;
      const path = join(dir, child);
      let st;
      try { st = lstatSync(path); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (st.isDirectory()) await walk(path, `${name}/${child}`);
      else if (st.isFile()) {
        sums[`${name}/${child}`] = await tar.file(`${name}/${child}`, path, st.size, st.mode & 0o700);
        files++;
      }
    }
  };
  await walk(root, prefix);
  return files;
}
