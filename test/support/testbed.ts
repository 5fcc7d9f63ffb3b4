// End-to-end tests need the real testbed (Docker engine, registry, pack, the offline builder,
// Kubernetes); scripts/test.sh brings it up. A missing piece fails the test, unless a person opted
// out with SLIPWAY_TESTBED=0: then the test is skipped and says why.
import type { TestContext } from 'node:test';
import { cpSync, mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packSettings, type PackSettings } from '../../server/build/pack.ts';
import { loadConfig } from '../../server/config.ts';

/** The testbed's exports, if all of `names` are set (no side effects: for before-hooks). */
export function testbedEnv(names: readonly string[]): Record<string, string> | undefined {
  return names.every((n) => process.env[n]) ? Object.fromEntries(names.map((n) => [n, process.env[n]!])) : undefined;
}

/** The testbed's exports a test needs, or undefined after skipping the test (only when opted out). */
export function needTestbed(t: TestContext, names: readonly string[]): Record<string, string> | undefined {
  const env = testbedEnv(names);
  if (env) return env;
  const missing = names.filter((n) => !process.env[n]);
  if (process.env.SLIPWAY_TESTBED !== '0') {
    throw new Error(`the testbed is not up (missing ${missing.join(', ')}): run the tests with scripts/test.sh, which brings it up, or eval "$(npm run -s testbed)" first; SLIPWAY_TESTBED=0 skips end-to-end tests`);
  }
  const why = `SLIPWAY_TESTBED=0: end-to-end tests opted out (missing ${missing.join(', ')})`;
  process.stderr.write(`skipping "${t.name}": ${why}\n`);
  t.skip(why);
  return undefined;
}

/**
 * The testbed's exports a two-node test needs (SLIPWAY_NODE2_NAME with them), or undefined after
 * skipping the test: when end-to-end tests are opted out, or when the testbed was brought up with
 * one node (SLIPWAY_TESTBED_NODES=1, for a small machine).
 */
export function needTwoNodes(t: TestContext, names: readonly string[]): Record<string, string> | undefined {
  if (process.env.SLIPWAY_TESTBED_NODES === '1') {
    const why = 'SLIPWAY_TESTBED_NODES=1: the testbed has one node, so two-node tests are opted out';
    process.stderr.write(`skipping "${t.name}": ${why}\n`);
    t.skip(why);
    return undefined;
  }
  return needTestbed(t, [...names, 'SLIPWAY_NODE2_NAME']);
}

/** A private copy of a fixture app under test/fixtures, to commit and push. */
export function fixtureCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-fixture-${name}-`));
  cpSync(join(import.meta.dirname, '..', 'fixtures', name), dir, { recursive: true });
  return dir;
}

/**
 * The cluster's settings a test server on the testbed needs besides the registry and builder:
 * where the ingress's requests come from (SLIPWAY_INGRESS_FROM) and Traefik's API, every node's
 * address (SLIPWAY_NODE_ADDRESSES, two nodes), and the build registry's pod-network address.
 * Without the first two, an app pod on the second node refuses the ingress (its policy would admit
 * only Traefik pods, and the testbed's Traefik runs on the first node).
 * The database images (45-data-images.sh) come along, so addons:create works on the testbed.
 */
export function clusterEnv(): Record<string, string> {
  // The build registry's three settings are set on the two-node testbed only (61-node2.sh): on one
  // node build pods share the node's network and reach the registry on loopback.
  const keys = ['SLIPWAY_INGRESS_FROM', 'SLIPWAY_INGRESS_API', 'SLIPWAY_NODE_ADDRESSES', 'SLIPWAY_BUILD_REGISTRY', 'SLIPWAY_REGISTRY_HTTP', 'SLIPWAY_BUILD_EGRESS', 'SLIPWAY_POSTGRES_IMAGE', 'SLIPWAY_POSTGRES18_IMAGE', 'SLIPWAY_VALKEY_IMAGE'];
  return Object.fromEntries(keys.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
}

/** The testbed registry's credential setting (its registry refuses requests without it), for a test server's env. */
export function registryAuthEnv(): Record<string, string> {
  const file = process.env.SLIPWAY_REGISTRY_AUTH_FILE;
  return file ? { SLIPWAY_REGISTRY_AUTH_FILE: file } : {};
}

/** pack's settings as the server makes them from the testbed's exports (registry, engine, credential, pack's allowed variables). */
export function testbedPack(packBinary: string, buildTimeoutMs: number, owner?: string): PackSettings {
  return { ...packSettings(loadConfig(process.env), packBinary, owner), buildTimeoutMs };
}

/** An address of this machine that the testbed's Traefik (on the host) reaches, for a server's waker: the first non-loopback IPv4. */
export function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this machine has no non-loopback IPv4 address for the waker');
}
