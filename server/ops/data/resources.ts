// The container limits of an app's databases: the settings' (SLIPWAY_DATABASE_MEMORY,
// SLIPWAY_DATABASE_CPU), and half of them for a preview's, whose quota is a share of its parent's
// (an idle Postgres takes about 30 MiB, Valkey under 5: bench/results/data.md). The pods get them,
// and the quota counts them, from here alone.
import type { Services } from '../../context.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { cpuQuantityOf, storageQuantity } from '../../deploy/quota.ts';

/** The memory and CPU limits of each database of `app`. */
export function databaseLimits(services: Pick<Services, 'config' | 'store'>, app: string): { memory: string; cpu: string } {
  const { databaseMemory: memory, databaseCpu: cpu } = services.config;
  if (!services.store.previews.get(app)) return { memory, cpu };
  return { memory: storageQuantity(quantityValue(memory) / 2), cpu: cpuQuantityOf(quantityValue(cpu) / 2) };
}
