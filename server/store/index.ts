import { appsStore } from './apps.ts';
import { buildsStore } from './builds.ts';
import { configStore } from './config.ts';
import { openDb, type Db } from './db.ts';
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
import { drainsStore } from './drains.ts';

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
  /** Log drains, per app and global (drains:add). */
  drains: ReturnType<typeof drainsStore>;
  close(): void;
}

/** Opens the store at `file`. */
export function openStore(file: string): Store {
  const db = openDb(file);
  return {
    db,
    apps: appsStore(db),
    config: configStore(db),
    keys: keysStore(db),
    tokens: tokensStore(db),
    releases: releasesStore(db),
    builds: buildsStore(db),
    settings: settingsStore(db),
    formation: formationStore(db),
    domains: domainsStore(db),
    resources: resourcesStore(db),
    quotas: quotasStore(db),
    checks: checksStore(db),
    stopped: stoppedStore(db),
    certs: certsStore(db),
    egress: egressStore(db),
    jobs: jobsStore(db),
    cron: cronStore(db),
    volumes: volumesStore(db),
    sessions: sessionsStore(db),
    syncs: syncsStore(db),
    previews: previewsStore(db),
    data: dataStore(db),
    drains: drainsStore(db),
    close: () => db.close(),
  };
}
