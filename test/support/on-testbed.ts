// A test Slipway on the testbed's real pieces: pack with the testbed's offline builder, its
// registry, and the Kubernetes deployer exactly as server/backends.ts makes it from the server's
// config. Used by the end-to-end tests; `env` adds or overrides server settings.
import assert from 'node:assert/strict';
import { PackBuilder } from '../../server/build/pack.ts';
import { loadConfig } from '../../server/config.ts';
import { kubeDeployer, registryApi } from '../../server/backends.ts';
import { remoteLines, startTestServer, type TestServer } from './harness.ts';
import { clusterEnv, registryAuthEnv, testbedEnv, testbedPack } from './testbed.ts';
import type { KubeClient } from '../../server/kube/client.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { execOutput } from '../../server/kube/exec-io.ts';

/** How a suite's server is made: its builds' deadline, and whether it gets the registry client (tags, copies, GC after deploys). */
export interface TestbedOptions {
  buildTimeoutMs: number;
  /** Give the server the registry client server/backends.ts gives it (default: none, so no GC runs after deploys). */
  registry?: boolean;
}

/** A test server on the testbed's pack, registry and Kubernetes, with `env` over its settings. */
export async function startOnTestbed(tb: Record<string, string>, env: Record<string, string>, opts: TestbedOptions): Promise<{ server: TestServer; builder: PackBuilder }> {
  const all = { SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, KUBECONFIG: tb.KUBECONFIG!, ...registryAuthEnv(), ...clusterEnv(), ...env };
  const config = loadConfig({ ...all, SLIPWAY_DATA_DIR: '/nonexistent' });
  const deployer = kubeDeployer(config);
  const builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, opts.buildTimeoutMs));
  const registry = opts.registry ? registryApi(config) : undefined;
  return { server: await startTestServer(all, { builder, deployer, registry }), builder };
}

/**
 * A server on the testbed with `apps` created, for a suite's `before`; undefined (nothing started)
 * when a piece in `needs` is missing, so each test skips or fails saying why (needTestbed).
 */
export async function startWithApps(needs: readonly string[], apps: Readonly<Record<string, string>>, env: Record<string, string>, opts: TestbedOptions): Promise<{ tb: Record<string, string>; server: TestServer; builder: PackBuilder } | undefined> {
  const tb = testbedEnv(needs);
  if (!tb) return undefined;
  const { server, builder } = await startOnTestbed(tb, env, opts);
  for (const app of Object.values(apps)) assert.equal((await server.ssh(server.admin, `apps:create ${app}`)).exitCode, 0);
  return { tb, server, builder };
}

/** A suite's `after`: destroys `apps` with their build caches and closes the server. */
export async function destroyApps(server: TestServer | undefined, builder: PackBuilder | undefined, apps: Readonly<Record<string, string>>): Promise<void> {
  if (!server) return;
  // At once: each destroy waits for its namespace to go, which waits out its pods' grace period.
  await Promise.all(Object.values(apps).map(async (app) => {
    // With its volumes, if a test made any: an app left behind keeps running on the shared testbed.
    const gone = await server.ssh(server.admin, `apps:destroy ${app} --confirm ${app} --include-storage`);
    if (gone.exitCode !== 0 && !/does not exist/.test(gone.stderr)) process.stderr.write(`test cleanup: ${app} was not destroyed: ${gone.stderr}\n`);
    await builder?.purgeCache(app);
  }));
  await server.close();
}

/** Pushes `dir` to `app` over SSH; returns the exit code and the `remote:` lines. */
export async function pushApp(server: TestServer, app: string, dir: string): Promise<{ code: number; lines: string[] }> {
  const r = await server.git(['push', server.sshRemote(app), 'main'], { cwd: dir });
  return { code: r.exitCode, lines: remoteLines(r.stderr) };
}

/** Pushes `dir` to `app`, asserts it deployed, and returns the `remote:` lines. */
export async function deployApp(server: TestServer, app: string, dir: string): Promise<string[]> {
  const { code, lines } = await pushApp(server, app, dir);
  assert.equal(code, 0, lines.join('\n'));
  assert.ok(lines.includes('=====> Application deployed:'), lines.join('\n'));
  return lines;
}

/**
 * Flips four bytes in the middle of a database's backup file, in its pod (label `slipway/data=KIND`
 * in `namespace`): the file `pick` names, a shell expression. Returns the file's path.
 */
export async function damageBackup(kube: KubeClient, namespace: string, kind: 'postgres' | 'valkey', pick: string): Promise<string> {
  const [pod] = await kube.list<V1Pod>('v1', 'Pod', namespace, { labelSelector: `slipway/data=${kind}` });
  assert.ok(pod, `a pod of ${kind} in ${namespace}`);
  const flip = await execOutput(kube, { namespace, pod: pod.metadata!.name!, container: kind }, ['sh', '-c',
    `f=${pick} && printf "\\377\\000\\377\\000" | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc 2>/dev/null && echo "$f"`], AbortSignal.timeout(30_000));
  assert.equal(flip.code, 0, flip.stderr);
  return flip.stdout.trim();
}

/** The newest snapshot of a Valkey, for damageBackup. */
export const NEWEST_VALKEY_SNAPSHOT = '$(ls /var/lib/slipway/backup/valkey/dump-*.rdb | sort -r | head -1)';
