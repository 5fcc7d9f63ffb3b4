// Every route of the HTTP API, in the order the OpenAPI document lists them.
import type { ApiRoute } from './route.ts';
import { whoamiRoutes } from './whoami.ts';

/** The API's routes (the transport adds only the OpenAPI document itself). */
export const apiRoutes: readonly ApiRoute[] = [
  ...whoamiRoutes,
];
