// Every route of the HTTP API, in the order the OpenAPI document lists them.
import type { ApiRoute } from './route.ts';
import { whoamiRoutes } from './whoami.ts';
import { sessionRoutes } from './session.ts';
import { appRoutes } from './apps.ts';
import { configRoutes } from './config.ts';
import { releaseRoutes } from './releases.ts';
import { previewRoutes } from './previews.ts';
import { processRoutes } from './processes.ts';
import { jobRoutes } from './jobs.ts';
import { logRoutes } from './logs.ts';
import { metricsRoutes } from './metrics.ts';
import { cronRoutes } from './cron.ts';
import { certRoutes, checkRoutes, domainRoutes, egressRoutes, resourceRoutes } from './settings.ts';
import { buildRoutes, keyRoutes, tokenRoutes } from './admin.ts';
import { storageRoutes } from './storage.ts';
import { addonRoutes } from './addons.ts';
import { dumpRoutes } from './dumps.ts';
import { eventRoutes } from './events.ts';
import { reportRoutes } from './reports.ts';
import { nodeRoutes } from './nodes.ts';
import { selfBackupRoutes } from './self-backups.ts';
import { auditRoutes } from './audit.ts';
import { secretRoutes } from './secrets.ts';
import { drainRoutes } from './drains.ts';
import { sleepRoutes } from './sleep.ts';
import { canaryRoutes } from './canary.ts';

/** The API's routes (the transport adds only the OpenAPI document itself). */
export const apiRoutes: readonly ApiRoute[] = [
  ...whoamiRoutes,
  ...sessionRoutes,
  ...appRoutes,
  ...configRoutes,
  ...releaseRoutes,
  ...previewRoutes,
  ...processRoutes,
  ...logRoutes,
  ...metricsRoutes,
  ...cronRoutes,
  ...jobRoutes,
  ...eventRoutes,
  ...domainRoutes,
  ...certRoutes,
  ...checkRoutes,
  ...resourceRoutes,
  ...egressRoutes,
  ...storageRoutes,
  ...addonRoutes,
  ...dumpRoutes,
  ...buildRoutes,
  ...keyRoutes,
  ...tokenRoutes,
  ...reportRoutes,
  ...nodeRoutes,
  ...selfBackupRoutes,
  ...auditRoutes,
  ...secretRoutes,
  ...drainRoutes,
  ...sleepRoutes,
  ...canaryRoutes,
];
