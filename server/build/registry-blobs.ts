// Images moved whole, by digest, between the registry and a file: what Slipway's own backup reads
// (a release's manifest, config and layers) and its restore writes back (blobs first, then the
// manifest byte for byte, so every reference `…/slipway/APP@sha256:…` in the store resolves to
// the very image it named). Over the distribution HTTP API, with the registry's credential.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RegistryAuth } from '../config.ts';
import { MANIFEST_TYPES, registryAuthHeaders, registryBase } from './image.ts';

/** A manifest as stored: its exact bytes and media type. */
export interface StoredManifest { bytes: Uint8Array; mediaType: string }

/** The registry as a backup reads and a restore writes it; tests put a fake here. */
export interface ImageBlobs {
  /** The registry these images are in, as image names start with it (`127.0.0.1:5000`). */
  readonly registry: string;
  /** The manifest `repository@digest`, checked against its digest; undefined when it is gone. */
  manifest(repository: string, digest: string): Promise<StoredManifest | undefined>;
  /** A blob's bytes (its digest is the caller's to check as they pass). */
  blob(repository: string, digest: string): Promise<Readable>;
  /** Whether the repository has the blob. */
  hasBlob(repository: string, digest: string): Promise<boolean>;
  /** Uploads a blob (`open` gives its bytes); the registry checks the digest. */
  putBlob(repository: string, digest: string, size: number, open: () => Readable): Promise<void>;
  /** Puts a manifest under its own digest. */
  putManifest(repository: string, digest: string, manifest: StoredManifest): Promise<void>;
}

/** A digest as the registry API takes it (sha256 only). */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A repository path as Slipway names them (`slipway/APP`). */
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** The distribution registry at `registry`, with its credential. */
export class RegistryBlobs implements ImageBlobs {
  readonly registry: string;
  readonly #auth: Readonly<RegistryAuth> | undefined;
  constructor(registry: string, auth?: Readonly<RegistryAuth>) {
    this.registry = registry;
    this.#auth = auth;
  }

  #url(repository: string, path: string): string {
    if (!REPOSITORY.test(repository)) throw new Error(`${repository} is not a repository name`);
    return `${registryBase(this.registry)}/v2/${repository}/${path}`;
  }

  async #fetch(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
    const { timeoutMs = 30_000, ...rest } = init;
    try {
      return await fetch(url, { ...rest, headers: { ...(rest.headers as Record<string, string> | undefined), ...registryAuthHeaders(this.#auth) }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`the registry at ${this.registry} is not reachable`, { cause: err });
    }
  }

  async manifest(repository: string, digest: string): Promise<StoredManifest | undefined> {
    if (!DIGEST.test(digest)) throw new Error(`${digest} is not a sha256 digest`);
    const res = await this.#fetch(this.#url(repository, `manifests/${digest}`), { headers: { accept: MANIFEST_TYPES } });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`the registry answered ${res.status} for ${repository}@${digest}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest) throw new Error(`the registry's manifest ${repository}@${digest} does not match its digest`);
    const mediaType = res.headers.get('content-type') ?? (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string }).mediaType;
    if (!mediaType) throw new Error(`the registry gave no media type for ${repository}@${digest}`);
    return { bytes, mediaType };
  }

  async blob(repository: string, digest: string): Promise<Readable> {
    if (!DIGEST.test(digest)) throw new Error(`${digest} is not a sha256 digest`);
    // A layer may take long over a slow link: the deadline is for the whole transfer.
    const res = await this.#fetch(this.#url(repository, `blobs/${digest}`), { timeoutMs: 30 * 60_000 });
    if (!res.ok || !res.body) throw new Error(`the registry answered ${res.status} for the blob ${repository}@${digest}`);
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.#fetch(this.#url(repository, `blobs/${digest}`), { method: 'HEAD' });
    if (res.status === 404) return false;
    if (!res.ok) throw new Error(`the registry answered ${res.status} for the blob ${repository}@${digest}`);
    return true;
  }

  async putBlob(repository: string, digest: string, size: number, open: () => Readable): Promise<void> {
    if (!DIGEST.test(digest)) throw new Error(`${digest} is not a sha256 digest`);
    const start = await this.#fetch(this.#url(repository, 'blobs/uploads/'), { method: 'POST' });
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) throw new Error(`the registry answered ${start.status} starting an upload to ${repository}`);
    const url = new URL(location, registryBase(this.registry));
    url.searchParams.set('digest', digest);
    const put = await this.#fetch(url.href, {
      method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: Readable.toWeb(open()) as unknown as ReadableStream<Uint8Array>, duplex: 'half', timeoutMs: 30 * 60_000,
    } as RequestInit & { duplex: 'half'; timeoutMs: number });
    if (put.status !== 201) throw new Error(`the registry answered ${put.status} uploading ${repository}@${digest}`);
  }

  async putManifest(repository: string, digest: string, manifest: StoredManifest): Promise<void> {
    const put = await this.#fetch(this.#url(repository, `manifests/${digest}`), { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: manifest.bytes as Uint8Array<ArrayBuffer> });
    if (put.status !== 201) throw new Error(`the registry answered ${put.status} putting ${repository}@${digest}`);
    const stored = put.headers.get('docker-content-digest');
    if (stored && stored !== digest) throw new Error(`the registry stored ${repository}@${digest} as ${stored}`);
  }
}
