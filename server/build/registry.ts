// The registry's side of garbage collection: tags and digests over the distribution HTTP API,
// deleting manifests by digest (the registry needs storage.delete.enabled), the bytes an app's
// images hold, and `garbage-collect` of the registry's storage, which only a registry binary on
// the same machine as the storage can run. Also the copy of one image from an app's repository to
// another's by digest, for a promotion: its blobs are mounted across repositories and its manifest
// put byte for byte, so nothing is rebuilt and no layer passes through Slipway.
import { createHash } from 'node:crypto';
import type { RegistryAuth } from '../config.ts';
import { run } from '../exec.ts';
import { MANIFEST_TYPES, registryAuthHeaders, registryBase } from './image.ts';
import { imageRepository } from './pack.ts';

/** One tag of an app's repository and the manifest digest it points at. */
export interface RegistryTag { tag: string; digest: string }

/** How a storage collection went: skipped (and why), or run (how long, what it deleted). */
export type StorageCollection =
  | { ran: false; reason: string }
  | { ran: true; ms: number; blobsDeleted: number; manifestsDeleted: number };

/** The registry as garbage collection needs it; tests put a fake here. */
export interface ImageRegistry {
  /** The app's tags with their digests (none when the repository does not exist). */
  tags(app: string): Promise<RegistryTag[]>;
  /** Deletes one manifest (and so every tag on it); an absent one is already deleted. */
  remove(app: string, digest: string): Promise<void>;
  /** The bytes the app's images hold in the registry (each blob once). */
  bytes(app: string, digests: readonly string[]): Promise<number>;
  /** Frees the storage of deleted manifests; the caller makes sure nothing is being pushed. */
  collectStorage(signal?: AbortSignal): Promise<StorageCollection>;
  /**
   * Makes the manifest `digest` of app `from`'s repository app `to`'s too, under `tag` (the same
   * digest: the same image, not a rebuild), and returns its reference there (`…/slipway/TO@digest`).
   */
  copy(from: string, to: string, digest: string, tag: string): Promise<string>;
}

/** What the registry client needs from the config. */
export interface RegistrySettings {
  registry: string;
  /** The registry's config.yml, when its storage is on this machine; undefined skips storage GC. */
  gcConfig: string | undefined;
  binary: string;
  /** The registry's credential: tags, manifests and deletes need it on a closed registry. */
  auth?: Readonly<RegistryAuth>;
}

interface Manifest { mediaType?: string; config?: { digest: string; size: number }; layers?: { digest: string; size: number }[]; manifests?: { digest: string; size: number }[] }

/** A digest as the registry API takes it in a path or query (sha256 only: what pack and the registry write). */
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A tag as the distribution spec allows it. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** The distribution registry over HTTP, plus its `garbage-collect` command for storage. */
export class RegistryApi implements ImageRegistry {
  readonly settings: RegistrySettings;
  constructor(settings: RegistrySettings) {
    this.settings = settings;
  }

  /** The app's repository as the API names it: `slipway/APP` (imageRepository without the host). */
  #repo(app: string): string {
    return imageRepository(this.settings.registry, app).slice(this.settings.registry.length + 1);
  }

  #url(app: string, path: string): string {
    return `${registryBase(this.settings.registry)}/v2/${this.#repo(app)}/${path}`;
  }

  async #fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array<ArrayBuffer> } = {}): Promise<Response> {
    try {
      return await fetch(url, { method: init.method, headers: { ...init.headers, ...registryAuthHeaders(this.settings.auth) }, ...(init.body ? { body: init.body } : {}), signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new Error(`the registry at ${this.settings.registry} is not reachable`, { cause: err });
    }
  }

  async tags(app: string): Promise<RegistryTag[]> {
    const res = await this.#fetch(this.#url(app, 'tags/list'));
    if (res.status === 404) return [];
    if (res.status === 401) throw new Error(`the registry at ${this.settings.registry} refused Slipway's credential (401) listing the tags of ${app}: check SLIPWAY_REGISTRY_AUTH_FILE`);
    if (!res.ok) throw new Error(`the registry answered ${res.status} listing the tags of ${app}`);
    const names = ((await res.json()) as { tags?: string[] | null }).tags ?? [];
    const out: RegistryTag[] = [];
    for (const tag of names) {
      const head = await this.#fetch(this.#url(app, `manifests/${tag}`), { method: 'HEAD', headers: { accept: MANIFEST_TYPES } });
      const digest = head.headers.get('docker-content-digest');
      // A tag deleted between the listing and here is simply gone.
      if (head.status === 404) continue;
      if (!head.ok || !digest) throw new Error(`the registry answered ${head.status} for ${app}:${tag} without a digest`);
      out.push({ tag, digest });
    }
    return out;
  }

  async remove(app: string, digest: string): Promise<void> {
    const res = await this.#fetch(this.#url(app, `manifests/${digest}`), { method: 'DELETE' });
    if (res.status === 202 || res.status === 404) return;
    if (res.status === 405) throw new Error(`the registry at ${this.settings.registry} does not allow deletes: set storage.delete.enabled: true in its config`);
    throw new Error(`the registry answered ${res.status} deleting ${app}@${digest}`);
  }

  async bytes(app: string, digests: readonly string[]): Promise<number> {
    const sizes = new Map<string, number>();
    for (const digest of digests) {
      const res = await this.#fetch(this.#url(app, `manifests/${digest}`), { headers: { accept: MANIFEST_TYPES } });
      if (res.status === 404) continue;
      if (!res.ok) throw new Error(`the registry answered ${res.status} for ${app}@${digest}`);
      const text = await res.text();
      sizes.set(digest, Buffer.byteLength(text));
      const m = JSON.parse(text) as Manifest;
      for (const b of [m.config, ...(m.layers ?? []), ...(m.manifests ?? [])]) if (b) sizes.set(b.digest, b.size);
    }
    let total = 0;
    for (const s of sizes.values()) total += s;
    return total;
  }

  async copy(from: string, to: string, digest: string, tag: string): Promise<string> {
    if (!TAG.test(tag)) throw new Error(`${tag} is not a valid tag`);
    await this.#copyManifest(from, to, digest, tag);
    return `${imageRepository(this.settings.registry, to)}@${digest}`;
  }

  /** Copies one manifest (an index's images first, by digest), its blobs mounted, and puts it under `reference` in `to`. */
  async #copyManifest(from: string, to: string, digest: string, reference: string): Promise<void> {
    if (!DIGEST.test(digest)) throw new Error(`${digest} is not a sha256 digest`);
    const res = await this.#fetch(this.#url(from, `manifests/${digest}`), { headers: { accept: MANIFEST_TYPES } });
    if (!res.ok) throw new Error(`the registry answered ${res.status} for ${from}@${digest}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // The very bytes, or the digest changes: the target must run what was tested, not a lookalike.
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest) throw new Error(`the registry's manifest ${from}@${digest} does not match its digest`);
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Manifest;
    const type = res.headers.get('content-type') ?? m.mediaType;
    if (!type) throw new Error(`the registry gave no media type for ${from}@${digest}`);
    for (const child of m.manifests ?? []) await this.#copyManifest(from, to, child.digest, child.digest);
    for (const blob of [m.config, ...(m.layers ?? [])]) if (blob) await this.#mount(from, to, blob.digest);
    const put = await this.#fetch(this.#url(to, `manifests/${reference}`), { method: 'PUT', headers: { 'content-type': type }, body: bytes });
    if (put.status !== 201) throw new Error(`the registry answered ${put.status} putting ${to}:${reference}`);
    const stored = put.headers.get('docker-content-digest');
    if (stored && stored !== digest) throw new Error(`the registry stored ${to}:${reference} as ${stored}, not ${digest}`);
  }

  /** Links a blob of `from` into `to` without moving its bytes (a cross-repository mount); one `to` has already stays. */
  async #mount(from: string, to: string, digest: string): Promise<void> {
    if (!DIGEST.test(digest)) throw new Error(`${digest} is not a sha256 digest`);
    const head = await this.#fetch(this.#url(to, `blobs/${digest}`), { method: 'HEAD' });
    if (head.ok) return;
    const res = await this.#fetch(this.#url(to, `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(this.#repo(from))}`), { method: 'POST' });
    if (res.status === 201) return;
    if (res.status === 202) {
      // The registry opened an upload instead of mounting: a promotion never uploads, so drop it.
      const location = res.headers.get('location');
      if (location) await this.#fetch(new URL(location, registryBase(this.settings.registry)).href, { method: 'DELETE' });
      throw new Error(`the registry at ${this.settings.registry} would not mount ${digest} from ${from} into ${to}`);
    }
    throw new Error(`the registry answered ${res.status} mounting ${digest} from ${from} into ${to}`);
  }

  async collectStorage(signal?: AbortSignal): Promise<StorageCollection> {
    const { gcConfig, binary } = this.settings;
    if (!gcConfig) return { ran: false, reason: 'SLIPWAY_REGISTRY_GC_CONFIG is not set (the registry\'s config.yml on this machine)' };
    const started = Date.now();
    // --delete-untagged: the manifests deleted above lose their tags, and what nothing tags is
    // garbage too; the registry prints one line per blob and manifest it deletes.
    const r = await run(binary, ['garbage-collect', '--delete-untagged', gcConfig], { signal, timeoutMs: 30 * 60_000 }).catch((err: unknown) => {
      throw new Error(`could not run ${binary} garbage-collect (set SLIPWAY_REGISTRY_BINARY to the registry binary)`, { cause: err });
    });
    if (r.exitCode !== 0 || r.stopped) throw new Error(`${binary} garbage-collect ${r.stopped ?? `exited with ${r.exitCode}`}: ${r.stderr.split('\n').slice(-5).join(' ')}`);
    const text = `${r.stdout}\n${r.stderr}`;
    const counts = /(\d+) blobs and (\d+) manifests eligible for deletion/.exec(text);
    return { ran: true, ms: Date.now() - started, blobsDeleted: Number(counts?.[1] ?? 0), manifestsDeleted: Number(counts?.[2] ?? 0) };
  }
}
