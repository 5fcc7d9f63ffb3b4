// The one home of the S3 client (AWS's SDK): a bucket at an S3-compatible endpoint that Slipway
// copies files to, reads back and deletes from (its own backups: ops/self-backup; databases'
// encrypted dumps: ops/data/copies.ts). Path-style
// requests (the bucket in the path), as every S3-compatible service takes them. Checksums are
// sent and checked only where the protocol requires them (the SDK's default sends one with every
// upload, which services other than AWS's may refuse); Slipway checks its own instead, a SHA-256
// of the whole object read back. Over HTTPS the payload is not signed (UNSIGNED-PAYLOAD, as S3
// allows and `curl --aws-sigv4` does): TLS protects it, and hashing every byte once more for the
// signature made the upload slower than curl's (bench/results/self-backup.md).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Target } from './s3-settings.ts';

/** Largest file sent in one request (S3 takes up to 5 GiB so); a larger one goes in parts. */
const ONE_PUT_BYTES = 4 * 1024 * 1024 * 1024;
/** Bytes per part of a larger upload (S3 takes up to 10,000 parts: 160 GiB at this size). */
const PART_BYTES = 16 * 1024 * 1024;

/** What backups need of a bucket (S3Bucket; tests put a fake at this interface). */
export type ObjectStore = Pick<S3Bucket, 'put' | 'sha256' | 'get' | 'list' | 'remove' | 'url'>;

/** One bucket and folder at an endpoint. */
export class S3Bucket {
  readonly #client: S3Client;
  readonly #target: Readonly<S3Target>;
  readonly #sizes: { onePut: number; part: number };

  /** `sizes`: the largest file sent in one request and the part size above it (tests make both small). */
  constructor(target: Readonly<S3Target>, sizes = { onePut: ONE_PUT_BYTES, part: PART_BYTES }) {
    this.#target = target;
    this.#sizes = sizes;
    this.#client = new S3Client({
      endpoint: target.endpoint,
      region: target.region,
      forcePathStyle: true,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      ...(target.ca ? { requestHandler: { httpsAgent: new Agent({ ca: [...rootCertificates, target.ca], keepAlive: true }) } } : {}),
    });
    // The signer takes the payload's hash from this header when it is set.
    this.#client.middlewareStack.add((next) => async (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> };
      if (request.protocol === 'https:' && request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    }, { step: 'build', name: 'slipwayUnsignedPayload' });
  }

  /** The object's key for a file name (the folder of SLIPWAY_BACKUP_S3_URL, then the name). */
  key(name: string): string {
    return `${this.#target.prefix}${name}`;
  }

  /** Where `name` is, as a URL for people (path-style). */
  url(name: string): string {
    return `${this.#target.endpoint}/${this.#target.bucket}/${this.key(name)}`;
  }

  /** Uploads the file at `path` as `name` (in parts when large), replacing any object of that name. */
  async put(path: string, name: string, signal?: AbortSignal): Promise<void> {
    const size = statSync(path).size;
    if (size <= this.#sizes.onePut) {
      // Streamed from the file in one request, as `curl -T` does: no part is buffered.
      await this.#client.send(new PutObjectCommand({ Bucket: this.#target.bucket, Key: this.key(name), Body: createReadStream(path), ContentLength: size, ContentType: 'application/octet-stream' }), { abortSignal: signal });
      return;
    }
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#target.bucket, Key: this.key(name), Body: createReadStream(path), ContentType: 'application/octet-stream' },
      partSize: this.#sizes.part,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Reads `name` back whole: its SHA-256 (hex) and its size in bytes. */
  async sha256(name: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
    const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#target.bucket, Key: this.key(name) }), { abortSignal: signal });
    const hash = createHash('sha256');
    let bytes = 0;
    const body = out.Body as Readable;
    body.on('data', (c: Buffer) => { bytes += c.length; });
    await pipeline(body, hash, { signal });
    return { sha256: hash.digest('hex'), bytes };
  }

  /** Downloads `name` into the file `path` (created; the caller removes it on failure). */
  async get(name: string, path: string, signal?: AbortSignal): Promise<void> {
    const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#target.bucket, Key: this.key(name) }), { abortSignal: signal });
    await pipeline(out.Body as Readable, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal });
  }

  /** The names in the folder, or in its folder `sub` (`databases/APP/NAME/`), not in folders below it. */
  async list(signal?: AbortSignal, sub = ''): Promise<string[]> {
    const names: string[] = [];
    const prefix = this.#target.prefix + sub;
    let token: string | undefined;
    do {
      const page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#target.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }), { abortSignal: signal });
      for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  /** Deletes `name` (nothing when it is not there). */
  async remove(name: string, signal?: AbortSignal): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#target.bucket, Key: this.key(name) }), { abortSignal: signal });
  }
}
