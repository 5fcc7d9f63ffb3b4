// What the cluster build backend takes from the server's config, and who owns its build pods.
import { createHash } from 'node:crypto';
import type { BuildEgress, ClusterNetwork, Config, RegistryAuth } from '../config.ts';

/** What the cluster builder needs from the server's config. */
export interface ClusterBuildSettings {
  /** The registry as the server reaches it (results and cache GC use this address). */
  registry: string;
  /** The registry as the cluster's nodes reach it (they pull the builder image from here). */
  registryPull: string;
  /** The same registry as build pods reach it over the pod network: they export here, and may reach no other address but DNS and `egress`. */
  buildRegistry: string;
  /** Registry addresses that speak plain HTTP besides loopback ones (SLIPWAY_REGISTRY_HTTP). */
  registryHttp: readonly string[];
  /** Where build pods may also connect (SLIPWAY_BUILD_EGRESS). */
  egress: readonly Readonly<BuildEgress>[];
  registryAuth?: Readonly<RegistryAuth> | undefined;
  buildTimeoutMs: number;
  cpu: string;
  memory: string;
  /** Each scratch volume's size limit (SLIPWAY_BUILD_DISK). */
  disk: string;
  concurrency: number;
  /** Builds one key may run at once (SLIPWAY_BUILD_CONCURRENCY_PER_KEY). */
  concurrencyPerKey: number;
  /** Start the next build's pod before its push comes, while a slot is free (SLIPWAY_BUILD_SPARE). */
  spare: boolean;
  /** Who owns the build pods (ownerId of the data dir): a server starting removes its own leftovers. */
  owner: string;
  network: ClusterNetwork;
}

/** The cluster builder's settings from the server's config. */
export function clusterBuildSettings(config: Readonly<Config>): ClusterBuildSettings {
  return {
    registry: config.registry, registryPull: config.registryPull, buildRegistry: config.buildRegistry, registryHttp: config.registryHttp, egress: config.buildEgress,
    registryAuth: config.registryAuth, buildTimeoutMs: config.buildTimeoutMs,
    cpu: config.buildCpu, memory: config.buildMemory, disk: config.buildDisk, concurrency: config.buildConcurrency, concurrencyPerKey: config.buildConcurrencyPerKey, spare: config.buildSpare, owner: ownerId(config.dataDir), network: config.network,
  };
}

/** A label-safe id of the server that owns build pods: a hash of its data dir. */
export function ownerId(dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
}
