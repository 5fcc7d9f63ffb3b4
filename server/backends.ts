import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Config } from './config.ts';
import type { Backends } from './context.ts';
import { PackBuilder, packSettings } from './build/pack.ts';
import { KubeDeployer } from './deploy/kube.ts';
import { RegistryApi } from './build/registry.ts';
import { ClusterBuilder, clusterBuildSettings } from './cluster-build/builder.ts';
import { KubeClient } from './kube/client.ts';
import type { Builder } from './build/builder.ts';

/** The absolute path of an executable, given as a path or looked up on PATH; undefined if none. */
export function findProgram(name: string, searchPath: string): string | undefined {
  const candidates = isAbsolute(name) || name.includes('/') ? [name] : searchPath.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not here (or not executable): try the next directory on PATH.
    }
  }
  return undefined;
}

/**
 * Picks the real builder and deployer this machine supports. None is ever a fake: a missing one
 * stays undefined and pushes are rejected with a sentence that names what to set up.
 */
export async function chooseBackends(config: Readonly<Config>): Promise<Backends> {
  // One client for the whole server: the deployer, build pods and doctor share it.
  const kube = config.kubeconfig ? new KubeClient(config.kubeconfig) : undefined;
  return {
    builder: chooseBuilder(config, kube),
    ...(kube ? { deployer: kubeDeployer(config, kube), kube } : {}),
    registry: registryApi(config),
  };
}

/** The registry client for a server's config (tags, copies, deletes, storage GC). */
export function registryApi(config: Pick<Config, 'registry' | 'registryGcConfig' | 'registryBinary' | 'registryAuth'>): RegistryApi {
  return new RegistryApi({ registry: config.registry, gcConfig: config.registryGcConfig, binary: config.registryBinary, auth: config.registryAuth });
}

/** What kubeDeployer reads of the config. */
export type KubeDeployerConfig = Pick<Config, 'kubeconfig' | 'ingressClass' | 'rolloutTimeoutMs' | 'network'> & Partial<Pick<Config, 'registry' | 'registryPull' | 'releaseTimeoutMs' | 'cronTimeoutMs' | 'ingressApi'>>;

/**
 * The Kubernetes deployer for a server's config, on `kube` (by default a client of its own, for
 * tests and benchmarks that need no other; KUBECONFIG must be set).
 */
export function kubeDeployer(config: KubeDeployerConfig, kube?: KubeClient): KubeDeployer {
  if (!config.kubeconfig) throw new Error('the Kubernetes deployer needs KUBECONFIG');
  const pullFrom = config.registry && config.registryPull && config.registryPull !== config.registry ? { from: config.registry, to: config.registryPull } : undefined;
  return new KubeDeployer(kube ?? new KubeClient(config.kubeconfig), { ingressClass: config.ingressClass, rolloutTimeoutMs: config.rolloutTimeoutMs, releaseTimeoutMs: config.releaseTimeoutMs, cronTimeoutMs: config.cronTimeoutMs, pullFrom, network: config.network, ingressApi: config.ingressApi });
}


/**
 * The builder SLIPWAY_BUILD_BACKEND asks for: `pack` (the pack CLI on the server's Docker engine)
 * or `cluster` (build pods; needs only KUBECONFIG, no Docker engine and no pack here).
 */
function chooseBuilder(config: Readonly<Config>, kube: KubeClient | undefined): Builder | undefined {
  if (config.buildBackend === 'cluster') {
    return kube ? new ClusterBuilder(kube, clusterBuildSettings(config)) : undefined;
  }
  const pack = findProgram(config.packBinary, config.searchPath);
  return pack ? new PackBuilder(packSettings(config, pack, config.dataDir)) : undefined;
}
