// Every route of the HTTP API, in the order the OpenAPI document lists them.
import type { ApiRoute } from './route.ts';
import { whoamiRoutes } from './whoami.ts';
import { appRoutes } from './apps.ts';
import { configRoutes } from './config.ts';
import { releaseRoutes } from './releases.ts';
import { processRoutes } from './processes.ts';
import { jobRoutes } from './jobs.ts';
import { logRoutes } from './logs.ts';
import { metricsRoutes } from './metrics.ts';
import { cronRoutes } from './cron.ts';
import { certRoutes, checkRoutes, domainRoutes, egressRoutes, resourceRoutes } from './settings.ts';
import { buildRoutes, keyRoutes, tokenRoutes } from './admin.ts';
import { storageRoutes } from './storage.ts';

/** The API's routes (the transport adds only the OpenAPI document itself). */
export const apiRoutes: readonly ApiRoute[] = [
  ...whoamiRoutes,
  ...appRoutes,
  ...configRoutes,
  ...releaseRoutes,
  ...processRoutes,
  ...logRoutes,
  ...metricsRoutes,
  ...cronRoutes,
  ...jobRoutes,
  ...domainRoutes,
  ...certRoutes,
  ...checkRoutes,
  ...resourceRoutes,
  ...egressRoutes,
  ...storageRoutes,
  ...buildRoutes,
  ...keyRoutes,
  ...tokenRoutes,
];
