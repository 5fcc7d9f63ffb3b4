// For tests and the benchmark of Slipway's own backup: a registry in memory at the ImageBlobs
// interface, and a store filled with apps, releases (their images in that registry), config, keys,
// tokens, domains, an uploaded certificate and a bare git repository per app.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { execFileSync } from 'node:child_process';
import type { ImageBlobs, StoredManifest } from '../../server/build/registry-blobs.ts';
import type { Store } from '../../server/store/index.ts';
import type { Config } from '../../server/config.ts';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A registry in memory: manifests and blobs per repository. */
export class MemoryImages implements ImageBlobs {
  readonly registry: string;
  readonly manifests = new Map<string, StoredManifest>();
  readonly blobs = new Map<string, Buffer>();
  /** Calls that changed something, for tests asserting nothing was written. */
  writes = 0;
  constructor(registry = 'registry.test') {
    this.registry = registry;
  }

  async manifest(repository: string, digest: string): Promise<StoredManifest | undefined> {
    return this.manifests.get(`${repository}@${digest}`);
  }
  async blob(repository: string, digest: string): Promise<Readable> {
    const b = this.blobs.get(`${repository}@${digest}`);
    if (!b) throw new Error(`the registry answered 404 for the blob ${repository}@${digest}`);
    return Readable.from([b]);
  }
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    return this.blobs.has(`${repository}@${digest}`);
  }
  async putBlob(repository: string, digest: string, size: number, open: () => Readable): Promise<void> {
    const b = await buffer(open());
    if (b.length !== size || sha(b) !== digest) throw new Error(`the registry refused ${repository}@${digest}: its bytes do not match`);
    this.blobs.set(`${repository}@${digest}`, b);
    this.writes++;
  }
  async putManifest(repository: string, digest: string, m: StoredManifest): Promise<void> {
    if (sha(m.bytes) !== digest) throw new Error(`the registry refused the manifest ${repository}@${digest}`);
    this.manifests.set(`${repository}@${digest}`, { bytes: Buffer.from(m.bytes), mediaType: m.mediaType });
    this.writes++;
  }

  /** Pushes an image of a config blob and `layers` (the shared base first), returns its manifest digest. */
  image(repository: string, layers: readonly Buffer[]): string {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha) }, n: randomBytes(4).toString('hex') }));
    const put = (b: Buffer) => { this.blobs.set(`${repository}@${sha(b)}`, b); return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(b), size: b.length }; };
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { ...put(config), mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: layers.map(put),
    }));
    this.manifests.set(`${repository}@${sha(manifest)}`, { bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    return sha(manifest);
  }
}

/**
 * Fills the store: `apps` apps of `releases` releases each, every release a new image of its own
 * layer (`releaseBytes`) over a base layer (`baseBytes`), one base shared by every app unless `basePerApp`.
 */
export function seedStore(store: Store, config: Pick<Config, 'reposDir'>, images: MemoryImages, opts: { apps: number; releases: number; baseBytes?: number; releaseBytes?: number; basePerApp?: boolean }): void {
  const shared = randomBytes(opts.baseBytes ?? 200_000);
  store.keys.add({ name: 'alice', fingerprint: 'SHA256:alice', type: 'ssh-ed25519', publicKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIAlice', admin: true });
  store.keys.add({ name: 'dev', fingerprint: 'SHA256:dev', type: 'ssh-ed25519', publicKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIDev', admin: false });
  store.tokens.add('ci', 'dev', 'slw_secret_token_value');
  store.settings.set('builder', 'heroku/builder:24');
  for (let a = 0; a < opts.apps; a++) {
    const app = `app${a}`;
    store.apps.create(app);
    store.config.change(app, { DATABASE_URL: `postgres://u:p@db/${app}`, SECRET_KEY: randomBytes(8).toString('hex') });
    store.domains.add(app, `${app}.example.com`);
    store.keys.grant(app, 'dev');
    const base = opts.basePerApp ? randomBytes(opts.baseBytes ?? 200_000) : shared;
    for (let v = 1; v <= opts.releases; v++) {
      const digest = images.image(`slipway/${app}`, [base, randomBytes(opts.releaseBytes ?? 20_000)]);
      const r = store.releases.create({ app, description: `Deploy ${v}`, commit: randomBytes(20).toString('hex'), image: `${images.registry}/slipway/${app}@${digest}`, processes: [{ type: 'web', command: ['web'], args: [], default: true }], config: store.config.all(app) });
      store.releases.finish(app, r.version, 'succeeded');
    }
    const repo = join(config.reposDir, `${app}.git`);
    mkdirSync(repo, { recursive: true });
    execFileSync('git', ['init', '--bare', '--quiet', repo]);
    writeFileSync(join(repo, 'description'), `${app}\n`);
  }
  store.certs.upload('app0', ['app0.example.com'], '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
}

/** Every row of every table of a store, for comparing two stores. */
export function dumpStore(store: Store): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const tables = store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
  for (const { name } of tables) out[name] = store.db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
  return out;
}
