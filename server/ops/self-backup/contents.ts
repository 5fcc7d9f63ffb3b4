// What one backup of Slipway holds, and its manifest: the first entry of every archive, read before
// anything else so that a restore can refuse an archive from a newer Slipway before it writes more.
//
// Layout of the tar inside the age encryption:
//   manifest.json            this file's BackupManifest
//   store/slipway.db         the store, copied with SQLite's online backup
//   data/ssh_host_ed25519_key
//   data/audit_ed25519_key   the audit log's signing key (ops/audit/checkpoint.ts)
//   keys/store-KEYID.key     the keys the store's secrets are sealed with (taken with the store copy)
//   settings.json            the settings the server ran with (non-secret ones and the registry credential)
//   repos/…                  every app's bare git repository (refs before objects)
//   images/oci-layout, images/index.json, images/blobs/sha256/…   an OCI image layout, each blob once
//   checksums.json           the SHA-256 of every entry above but the blobs (named by theirs), last
import type { Store } from '../../store/index.ts';
import { parseImageRef } from '../../build/image.ts';
import { digestOf } from '../../gc/keep.ts';

/** The archive format this Slipway writes and reads. */
export const FORMAT = 1;

/** One app as the manifest lists it. */
export interface ManifestApp {
  name: string;
  /** The release running when the backup was taken (null: none deployed). */
  current: number | null;
  releases: { version: number; status: string; image: string | null; imageCollected: boolean }[];
}

/** One image (a manifest and what it references) kept in the archive's image layout. */
export interface ManifestImage { repository: string; digest: string; mediaType: string }

/** The manifest of one backup. */
export interface BackupManifest {
  format: number;
  slipway: string;
  /** The store's schema version (PRAGMA user_version of the copy). */
  schema: number;
  createdAt: string;
  /** The registry the images came from, as image references start with it. */
  registry: string;
  apps: ManifestApp[];
  images: ManifestImage[];
  /** Images releases name that the registry no longer had (not in the archive). */
  missingImages: string[];
  /** Each app's databases and their latest backup and restore drill (the databases' own backups are theirs). */
  databases: { app: string; name: string; kind: string; lastBackupAt: string | null; lastDrill: { at: string; ok: boolean } | null }[];
}

/** Entry names inside the archive. */
export const ENTRY = {
  manifest: 'manifest.json',
  store: 'store/slipway.db',
  hostKey: 'data/ssh_host_ed25519_key',
  auditKey: 'data/audit_ed25519_key',
  keys: 'keys',
  settings: 'settings.json',
  repos: 'repos',
  images: 'images',
  checksums: 'checksums.json',
} as const;

/** Every app with its releases, as the manifest lists them. */
export function manifestApps(store: Store): ManifestApp[] {
  return store.apps.list().map((a) => {
    const releases = store.releases.all(a.name);
    return {
      name: a.name,
      current: store.releases.current(a.name)?.version ?? null,
      releases: releases.map((r) => ({ version: r.version, status: r.status, image: r.image, imageCollected: r.imageCollectedAt !== null })),
    };
  });
}

/**
 * The images a backup keeps: every release's whose image garbage collection has not deleted,
 * which covers the releases GC keeps, the one a bare rollback picks, a warm set's (a release too)
 * and a promotion's (a release of the target app, by digest in its own repository). Each
 * `repository@digest` once.
 */
export function imagesToKeep(apps: readonly ManifestApp[]): { repository: string; digest: string; image: string }[] {
  const seen = new Map<string, { repository: string; digest: string; image: string }>();
  for (const a of apps) {
    for (const r of a.releases) {
      const digest = digestOf(r.image);
      if (!r.image || !digest || r.imageCollected) continue;
      const { repository } = parseImageRef(r.image);
      seen.set(`${repository}@${digest}`, { repository, digest, image: r.image });
    }
  }
  return [...seen.values()];
}

/** Each app's databases with their latest backup and drill. */
export function manifestDatabases(store: Store): BackupManifest['databases'] {
  const out: BackupManifest['databases'] = [];
  for (const a of store.apps.list()) {
    for (const d of store.data.list(a.name)) {
      const drill = store.data.drills(a.name, d.name).last;
      out.push({ app: a.name, name: d.name, kind: d.kind, lastBackupAt: store.data.lastBackupAt(a.name, d.name), lastDrill: drill ? { at: drill.at, ok: drill.ok } : null });
    }
  }
  return out;
}
