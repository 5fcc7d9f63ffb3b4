// The tar stream inside a backup archive: the one home of `tar-stream`. Written entry by entry
// (nothing is held whole: a layer streams from the registry into the archive), read back entry by
// entry into a directory, each entry's SHA-256 taken as its bytes pass.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { UserError } from '../../errors.ts';

/** A tar being written: add entries one after the other, then end it. */
export class TarWriter {
  // tar-stream's streams are streamx streams: Node's stream helpers meet them as async iterables.
  readonly #pack = tar.pack();
  readonly #out = Readable.from(this.#pack, { objectMode: false });
  /** The tar's bytes, to pipe onward (encryption, then the file). */
  get output(): Readable { return this.#out; }

  /** Adds a file entry from a buffer; resolves with its SHA-256. */
  async buffer(name: string, data: Uint8Array, mode = 0o600): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#pack.entry({ name, size: data.length, mode, mtime: new Date() }, Buffer.from(data), (err) => (err ? reject(err) : resolve()));
    });
    return sha256Hex(data);
  }

  /** Adds a directory entry. */
  async directory(name: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#pack.entry({ name, type: 'directory', mode: 0o700, mtime: new Date() }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Adds a file entry of `size` bytes from a stream; resolves with its SHA-256 (a stream of another size fails). */
  async fromStream(name: string, size: number, from: Readable, mode = 0o600): Promise<string> {
    const hash = createHash('sha256');
    let entry!: ReturnType<tar.Pack['entry']>;
    const ended = new Promise<void>((resolve, reject) => {
      entry = this.#pack.entry({ name, size, mode, mtime: new Date() }, (err) => (err ? reject(err) : resolve()));
    });
    try {
      for await (const chunk of from as AsyncIterable<Buffer>) {
        hash.update(chunk);
        if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', resolve));
      }
      entry.end(() => undefined);
    } catch (err) {
      entry.destroy(err as Error);
      throw err;
    }
    await ended;
    return hash.digest('hex');
  }

  /** Adds a file from disk (its first `size` bytes: a file still growing is cut where it was measured). */
  async file(name: string, path: string, size: number, mode = 0o600): Promise<string> {
    return this.fromStream(name, size, size > 0 ? createReadStream(path, { start: 0, end: size - 1 }) : createReadStream(path, { start: 0, end: -1 }), mode);
  }

  /** Stops the tar (the writer of the archive failed): an entry waiting to be read fails too. */
  abort(err: Error): void {
    this.#pack.destroy(err);
    this.#out.destroy(err);
  }

  /** Ends the tar. */
  end(): void {
    this.#pack.finalize();
  }
}

/** The SHA-256 of bytes, in hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An entry name as the archive may hold it: relative, no `..`, no empty or dot segments. */
function safeName(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  const parts = trimmed.split('/');
  if (!trimmed || trimmed.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) throw new UserError(`The archive holds an entry named ${JSON.stringify(name.slice(0, 100))}, which no Slipway backup has: it cannot be restored.`);
  return trimmed;
}

/** One entry read from the archive. */
export interface ReadEntry { name: string; size: number; sha256: string; directory: boolean }

/**
 * Writes every entry of the tar stream `from` under `dir` (files 0600, directories 0700; only
 * files and directories), calling `onEntry` after each; resolves with every entry read.
 */
export async function extractTar(from: Readable, dir: string, onEntry: (e: ReadEntry, path: string) => void | Promise<void>): Promise<ReadEntry[]> {
  const extract = tar.extract();
  const entries: ReadEntry[] = [];
  // A failure of the source (decryption) ends the extraction with it.
  from.on('error', (err) => extract.destroy(err));
  from.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const { header } = entry;
    const name = safeName(header.name);
    const path = join(dir, name);
    if (header.type === 'directory') {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      for await (const _ of entry) { /* a directory has no bytes */ }
      const e = { name, size: 0, sha256: '', directory: true };
      entries.push(e);
      await onEntry(e, path);
      continue;
    }
    if (header.type !== 'file') throw new UserError(`The archive holds ${name} of type ${header.type}, which no Slipway backup has: it cannot be restored.`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const hash = createHash('sha256');
    let size = 0;
    const file = createWriteStream(path, { flags: 'wx', mode: (header.mode ?? 0o600) & 0o700 });
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', resolve));
      }
    } finally {
      await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
    const e = { name, size, sha256: hash.digest('hex'), directory: false };
    entries.push(e);
    await onEntry(e, path);
  }
  return entries;
}
