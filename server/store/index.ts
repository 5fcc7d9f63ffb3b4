import { appsStore } from './apps.ts';
import { buildsStore } from './builds.ts';
import { configStore } from './config.ts';
import { defaultKeys, openDb, type Db } from './db.ts';
import { copyBeforeMigrating, pruneCopies } from './copies.ts';
import { Sealer, type StoreKeys } from './sealing.ts';
import { secretsStore } from './secrets.ts';
import type { Config } from '../config.ts';
import { keysStore } from './keys.ts';
import { releasesStore } from './releases.ts';
import { tokensStore } from './tokens.ts';
import { settingsStore } from './settings.ts';
import { formationStore } from './formation.ts';
import { domainsStore } from './domains.ts';
import { checksStore, quotasStore, resourcesStore, stoppedStore } from './resources.ts';
import { certsStore } from './certs.ts';
import { egressStore } from './egress.ts';
import { jobsStore } from './jobs.ts';
import { cronStore } from './cron.ts';
import { volumesStore } from './volumes.ts';
import { sessionsStore } from './sessions.ts';
import { syncsStore } from './syncs.ts';
import { previewsStore } from './previews.ts';
import { dataStore } from './data.ts';
import { auditStore } from './audit.ts';
import { drainsStore } from './drains.ts';
import { oidcStore } from './oidc.ts';
import { sleepStore } from './sleep.ts';
import { autoscaleStore } from './autoscale.ts';
import { canaryStore } from './canary.ts';

/** All persistent state, one SQLite file, one writer process (the server) plus the local CLI. */
export interface Store {
  db: Db;
  apps: ReturnType<typeof appsStore>;
  config: ReturnType<typeof configStore>;
  keys: ReturnType<typeof keysStore>;
  tokens: ReturnType<typeof tokensStore>;
  releases: ReturnType<typeof releasesStore>;
  builds: ReturnType<typeof buildsStore>;
  settings: ReturnType<typeof settingsStore>;
  formation: ReturnType<typeof formationStore>;
  domains: ReturnType<typeof domainsStore>;
  resources: ReturnType<typeof resourcesStore>;
  quotas: ReturnType<typeof quotasStore>;
  checks: ReturnType<typeof checksStore>;
  stopped: ReturnType<typeof stoppedStore>;
  certs: ReturnType<typeof certsStore>;
  egress: ReturnType<typeof egressStore>;
  jobs: ReturnType<typeof jobsStore>;
  cron: ReturnType<typeof cronStore>;
  volumes: ReturnType<typeof volumesStore>;
  /** Dashboard login codes and browser sessions. */
  sessions: ReturnType<typeof sessionsStore>;
  /** Apps connected to a repository elsewhere (sync:set) and their webhook deliveries. */
  syncs: ReturnType<typeof syncsStore>;
  /** Preview settings per app and the preview apps of branches. */
  previews: ReturnType<typeof previewsStore>;
  /** Each app's databases (addons:create) and the authority their certificates come from. */
  data: ReturnType<typeof dataStore>;
  /** The audit log: entries in a hash chain, only ever added (ops/audit/). */
  audit: ReturnType<typeof auditStore>;
  /** The keys the secret values are sealed with, and their rotation. */
  secrets: ReturnType<typeof secretsStore>;
  /** The key ring itself (a backup takes its keys). */
  sealer: Sealer;
  /** Log drains, per app and global (drains:add). */
  drains: ReturnType<typeof drainsStore>;
  /** OpenID Connect accounts bound to keys (keys:oidc). */
  oidc: ReturnType<typeof oidcStore>;
  /** Apps that sleep at zero (ps:sleep): the setting, whether one sleeps, its wakes. */
  sleep: ReturnType<typeof sleepStore>;
  /** Autoscaled process types and their rules (ps:autoscale). */
  autoscale: ReturnType<typeof autoscaleStore>;
  /** Each app's canary setting (canary:set). */
  canary: ReturnType<typeof canaryStore>;
  close(): void;
}

/** The store's keys as configured: the key folder, and SLIPWAY_STORE_KEY's keys when set. */
export function storeKeysOf(config: Pick<Config, 'storeKeyDir' | 'storeKeys'>): StoreKeys {
  return config.storeKeys ? { dir: config.storeKeyDir, given: config.storeKeys } : { dir: config.storeKeyDir };
}

/**
 * Opens the store at `file` the way the server and the local CLI do: a store at an older schema is
 * first copied into `copiesDir` (copyBeforeMigrating), and a migration that fails names the copy;
 * one that succeeds keeps only the newest KEPT_COPIES copies.
 */
export async function openStoreCopyingFirst(file: string, copiesDir: string, keys: StoreKeys = defaultKeys(file)): Promise<{ store: Store; copy: string | undefined }> {
  const copy = await copyBeforeMigrating(file, copiesDir);
  const store = openStore(file, keys, copy === undefined ? {} : { copy });
  // Migrated: copies beyond the newest few go (an old one holds the store as it was then).
  if (copy !== undefined) pruneCopies(copiesDir);
  return { store, copy };
}

/**
 * Opens the store at `file`, its secrets sealed with the keys of `keys` (by default the `keys`
 * folder beside the file); one sentence when the key the store names is missing. `copy` names
 * copyBeforeMigrating's copy in a failed migration's error.
 */
export function openStore(file: string, keys: StoreKeys = defaultKeys(file), opts: { copy?: string } = {}): Store {
  const sealer = new Sealer(keys);
  const db = openDb(file, sealer, opts);
  try {
    sealer.check();
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    db,
    apps: appsStore(db),
    config: configStore(db, sealer),
    keys: keysStore(db),
    tokens: tokensStore(db),
    releases: releasesStore(db, sealer),
    builds: buildsStore(db),
    settings: settingsStore(db),
    formation: formationStore(db),
    domains: domainsStore(db),
    resources: resourcesStore(db),
    quotas: quotasStore(db),
    checks: checksStore(db),
    stopped: stoppedStore(db),
    certs: certsStore(db, sealer),
    egress: egressStore(db),
    jobs: jobsStore(db),
    cron: cronStore(db),
    volumes: volumesStore(db),
    sessions: sessionsStore(db),
    syncs: syncsStore(db, sealer),
    previews: previewsStore(db),
    data: dataStore(db, sealer),
    audit: auditStore(db),
    secrets: secretsStore(db, sealer),
    sealer,
    drains: drainsStore(db, sealer),
    oidc: oidcStore(db),
    sleep: sleepStore(db),
    autoscale: autoscaleStore(db),
    canary: canaryStore(db),
    close: () => db.close(),
  };
}
