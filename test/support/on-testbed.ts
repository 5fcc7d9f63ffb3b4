// A test Slipway on the testbed's real pieces: pack with the testbed's offline builder, its
// registry, and the Kubernetes deployer exactly as server/backends.ts makes it from the server's
// config. Used by the end-to-end tests; `env` adds or overrides server settings.
import { PackBuilder } from '../../server/build/pack.ts';
import { loadConfig } from '../../server/config.ts';
import { KubeDeployer } from '../../server/deploy/kube.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { registryAuthEnv, testbedEnv, testbedPack } from './testbed.ts';

export async function startOnTestbed(tb: Record<string, string>, env: Record<string, string>, opts: { buildTimeoutMs: number }): Promise<{ server: TestServer; builder: PackBuilder }> {
  // Where the testbed's ingress runs (62-netpol.sh says: on the node), for the apps' NetworkPolicies.
  const ingressFrom = testbedEnv(['SLIPWAY_INGRESS_FROM']) ?? {};
  const all = { SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, KUBECONFIG: tb.KUBECONFIG!, ...registryAuthEnv(), ...ingressFrom, ...env };
  const deployer = KubeDeployer.fromConfig(loadConfig({ ...all, SLIPWAY_DATA_DIR: '/nonexistent' }));
  const builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, opts.buildTimeoutMs));
  return { server: await startTestServer(all, { builder, deployer }), builder };
}
