// A bucket that is a folder, at Slipway's ObjectStore interface (server/s3.ts): for integration
// tests of what copies files off the machine (Slipway's own backups, databases' copies). A name
// with slashes is a file in folders below it; `list` lists one folder, as S3's delimiter does.
import { copyFileSync, createReadStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '../../server/s3.ts';

/** A bucket that is a folder; `failPut` makes uploads fail as a refusing service would. */
export class FolderBucket implements ObjectStore {
  failPut: string | undefined;
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }
  url(name: string) { return `https://s3.test/bucket/${name}`; }
  async put(path: string, name: string) {
    if (this.failPut) throw Object.assign(new Error(this.failPut), { name: 'AccessDenied' });
    mkdirSync(dirname(join(this.dir, name)), { recursive: true });
    copyFileSync(path, join(this.dir, name));
  }
  async sha256(name: string) {
    const hash = createHash('sha256');
    await pipeline(createReadStream(join(this.dir, name)), hash);
    return { sha256: hash.digest('hex'), bytes: readFileSync(join(this.dir, name)).length };
  }
  async get(name: string, path: string) { copyFileSync(join(this.dir, name), path); }
  async list(_signal?: AbortSignal, sub = '') {
    try {
      return readdirSync(join(this.dir, sub), { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    } catch {
      return [];
    }
  }
  async remove(name: string) { rmSync(join(this.dir, name), { force: true }); }
}
