// The cluster build backend's pure parts: how an image is named by the server, the nodes and the
// build pods; what a builder image says of its user and run image; which of an app's config can
// be the lifecycle's env files; and the sentences for a build that failed in its pod.
import { explainFailure } from '../build/pack.ts';
import type { ClusterBuildSettings } from './settings.ts';

/** Loopback registries speak plain HTTP (as Docker and Slipway's own registry client treat them). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

/** What a build reads of its builder image: the CNB user its phases run as, and its run image. */
export interface BuilderInfo {
  uid: number;
  gid: number;
  runImage: string | undefined;
}

/** Whether the lifecycle talks plain HTTP to a registry (-insecure-registry): loopback ones, and those SLIPWAY_REGISTRY_HTTP names. */
export function isPlainHttpRegistry(registry: string, plainHttp: readonly string[]): boolean {
  return isLoopbackRegistry(registry) || plainHttp.includes(registry.toLowerCase());
}

/**
 * An image the build pod published, named as the server names it (the form releases record and
 * the deployer maps to the nodes' address): the build registry's prefix swapped for the server's.
 * Same registry, same digest.
 */
export function serverRef(image: string, s: Pick<ClusterBuildSettings, 'registry' | 'buildRegistry'>): string {
  return renamed(image, s.buildRegistry, s.registry) ?? image;
}

/** `image` of registry address `from` named by address `to` (same registry); undefined when it is not `from`'s. */
function renamed(image: string, from: string, to: string): string | undefined {
  return image.startsWith(`${from}/`) ? `${to}/${image.slice(from.length + 1)}` : undefined;
}

/**
 * An image of the server's registry (named by its server or its nodes' address) as build pods reach
 * it (SLIPWAY_BUILD_REGISTRY); undefined when that is the name it already has or another registry's.
 */
export function buildRef(image: string, s: Pick<ClusterBuildSettings, 'registry' | 'registryPull' | 'buildRegistry'>): string | undefined {
  const from = [s.registry, s.registryPull].find((r) => r !== s.buildRegistry && image.startsWith(`${r}/`));
  return from === undefined ? undefined : renamed(image, from, s.buildRegistry);
}

/** The run image a builder names in its metadata label (run.toml's first image; a stack's before platform 0.12). */
export function builderRunImage(labels: Readonly<Record<string, string>>): string | undefined {
  try {
    const meta = JSON.parse(labels['io.buildpacks.builder.metadata'] ?? '{}') as { images?: { image?: string }[]; stack?: { runImage?: { image?: string } } };
    return meta.images?.[0]?.image || meta.stack?.runImage?.image || undefined;
  } catch {
    return undefined;
  }
}

/** The builder image as the nodes pull it: the server's registry address swapped for the nodes' one. */
export function pullRef(image: string, s: Pick<ClusterBuildSettings, 'registry' | 'registryPull'>): string {
  return renamed(image, s.registry, s.registryPull) ?? image;
}

/** The builder's CNB user and group, from its image's CNB_USER_ID / CNB_GROUP_ID. */
export function cnbUser(env: readonly string[]): { uid: number; gid: number } | undefined {
  const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
  const uid = Number(get('CNB_USER_ID'));
  const gid = Number(get('CNB_GROUP_ID'));
  // runAsNonRoot: a builder whose build user is root cannot be run here.
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0 || gid < 0) return undefined;
  return { uid, gid };
}

/** The keys of an app's config that can be platform env files (`/platform/env/KEY`), and those that cannot. */
export function platformEnv(env: Readonly<Record<string, string>>): { files: [string, string][]; left: string[] } {
  const files: [string, string][] = [];
  const left: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) files.push([k, v]);
    else left.push(k);
  }
  return { files, left };
}

/** The sentence for a container that ended without success. */
export function explainContainer(phase: string, state: { exitCode: number; reason?: string | undefined }, tail: readonly string[], ctx: { memory: string; registry: string; minutes: number; timeoutMs: number }): string {
  if (state.reason === 'OOMKilled') return `The build ran out of memory (OOMKilled) in its ${phase} phase: it needed more than its ${ctx.memory} limit (SLIPWAY_BUILD_MEMORY).`;
  if (state.reason === 'DeadlineExceeded') return tookTooLong(ctx.timeoutMs);
  const said = explainFailure(tail, state.exitCode, { registry: ctx.registry, minutes: ctx.minutes });
  if (said.startsWith('The build failed (pack exited')) return `The build failed in its ${phase} phase (exit code ${state.exitCode}); the output above says why.`;
  return said;
}

/** The sentence for a build pod its node evicted: past a scratch volume's size (SLIPWAY_BUILD_DISK), or the node's own pressure. */
export function evicted(message: string | undefined, disk: string): string {
  if (/EmptyDir volume/i.test(message ?? '')) return `The build wrote more than the ${disk} a build's /workspace or /layers may hold (SLIPWAY_BUILD_DISK) and was stopped.`;
  return `The build pod was evicted by its node${message ? ` (${message.replace(/\.$/, '')})` : ''}; push again.`;
}

/** The sentence for a build stopped at its deadline (SLIPWAY_BUILD_TIMEOUT_S). */
export function tookTooLong(timeoutMs: number): string {
  const limit = timeoutMs >= 120_000 ? `${Math.round(timeoutMs / 60_000)} minutes` : `${Math.round(timeoutMs / 1000)} seconds`;
  return `The build took longer than ${limit} and was stopped (SLIPWAY_BUILD_TIMEOUT_S).`;
}
