// The cluster builds' caches: one cache image per app in the registry (`REGISTRY/slipway-cache/APP`,
// a repository apart from the apps' own `slipway/APP`, so no app name can reach another's cache),
// written by each build's export phase and read by the next one's analyze and restore phases.
import type { RegistryAuth } from '../config.ts';
import { MANIFEST_TYPES, registryAuthHeaders, registryBase } from '../build/image.ts';

/** The repository path of an app's cache image (after the registry host). */
export function cacheRepository(app: string): string {
  return `slipway-cache/${app}`;
}

/** The app's cache image as `host/slipway-cache/APP` for a registry address. */
export function cacheImage(registry: string, app: string): string {
  return `${registry}/${cacheRepository(app)}`;
}

/** What the cache functions need: the registry as the server reaches it, and its credential. */
export interface CacheRegistry { registry: string; auth?: Readonly<RegistryAuth> | undefined }

async function call(r: CacheRegistry, path: string, init: { method?: string; accept?: string } = {}): Promise<Response> {
  const url = `${registryBase(r.registry)}/v2/${path}`;
  try {
    return await fetch(url, { method: init.method ?? 'GET', headers: { ...(init.accept ? { accept: init.accept } : {}), ...registryAuthHeaders(r.auth) }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new Error(`the registry at ${r.registry} is not reachable`, { cause: err });
  }
}

/** Deletes every manifest of the app's cache image (the next build starts cold); none there is fine. */
export async function purgeCacheImage(r: CacheRegistry, app: string): Promise<void> {
  const repo = cacheRepository(app);
  const list = await call(r, `${repo}/tags/list`);
  if (list.status === 404) return;
  if (!list.ok) throw new Error(`the registry answered ${list.status} listing the tags of ${repo}`);
  const tags = ((await list.json()) as { tags?: string[] | null }).tags ?? [];
  for (const tag of tags) {
    const head = await call(r, `${repo}/manifests/${tag}`, { method: 'HEAD', accept: MANIFEST_TYPES });
    const digest = head.headers.get('docker-content-digest');
    if (head.status === 404 || !digest) continue;
    const del = await call(r, `${repo}/manifests/${digest}`, { method: 'DELETE' });
    if (del.status !== 202 && del.status !== 404) throw new Error(`the registry answered ${del.status} deleting ${repo}@${digest}`);
  }
}

/** The apps that have a cache image in the registry (from its catalog, page by page). */
export async function cacheImageApps(r: CacheRegistry): Promise<string[]> {
  const prefix = cacheRepository('');
  const apps: string[] = [];
  // The distribution registry answers 400 to a page larger than it allows (1000 by default) and
  // names the next page in a Link header; `last` is where that page starts.
  let last: string | undefined;
  for (;;) {
    const res = await call(r, `_catalog?n=1000${last ? `&last=${encodeURIComponent(last)}` : ''}`);
    if (!res.ok) throw new Error(`the registry answered ${res.status} listing its repositories`);
    const repos = ((await res.json()) as { repositories?: string[] | null }).repositories ?? [];
    for (const x of repos) if (x.startsWith(prefix) && !x.slice(prefix.length).includes('/')) apps.push(x.slice(prefix.length));
    if (!res.headers.get('link') || repos.length === 0) break;
    last = repos.at(-1);
  }
  // The catalog keeps a repository whose manifests were all deleted (until the storage is
  // collected): only a cache with a tag is one.
  const tagged: string[] = [];
  for (const app of apps) {
    const res = await call(r, `${cacheRepository(app)}/tags/list`);
    if (res.status === 404) continue;
    if (!res.ok) throw new Error(`the registry answered ${res.status} listing the tags of ${cacheRepository(app)}`);
    if ((((await res.json()) as { tags?: string[] | null }).tags ?? []).length > 0) tagged.push(app);
  }
  return tagged;
}

/** Bytes of the app's cache image (config and layers as its manifest lists them); undefined when there is none. */
export async function cacheImageBytes(r: CacheRegistry, app: string): Promise<number | undefined> {
  const res = await call(r, `${cacheRepository(app)}/manifests/latest`, { accept: MANIFEST_TYPES });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`the registry answered ${res.status} for the cache image of ${app}`);
  const m = (await res.json()) as { config?: { size: number }; layers?: { size: number }[] };
  return [m.config, ...(m.layers ?? [])].reduce((sum, b) => sum + (b?.size ?? 0), 0);
}
