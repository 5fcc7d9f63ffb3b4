// The build engine's side of garbage collection: pack's per-app cache volumes (labelled with the
// data dir of the server that made them, so a Docker engine shared by several servers never has
// one server remove another's caches) and dangling images, through the engine's API.
import { dockerJson } from './docker.ts';

/** The label naming the server (its data dir) a cache volume belongs to. */
export const OWNER_LABEL = 'io.slipway.owner';
/** The label naming the app a cache volume belongs to. */
export const APP_LABEL = 'io.slipway.app';

const filters = (f: Record<string, string[]>) => encodeURIComponent(JSON.stringify(f));

/** Creates the app's cache volume with our labels unless it exists (the engine keeps an existing one as it is). */
export async function ensureCacheVolume(host: string, volume: string, app: string, owner: string): Promise<void> {
  await dockerJson(host, 'POST', '/volumes/create', `creating the cache volume ${volume}`, { body: { Name: volume, Labels: { [OWNER_LABEL]: owner, [APP_LABEL]: app } } });
}

/** Removes a cache volume; one that is not there is fine. */
export async function removeVolume(host: string, volume: string): Promise<void> {
  await dockerJson(host, 'DELETE', `/volumes/${encodeURIComponent(volume)}?force=true`, `removing the cache volume ${volume}`, { ok: [204, 404] });
}

/** The apps whose cache volumes this server (owner) made. */
export async function ownedCacheApps(host: string, owner: string): Promise<string[]> {
  const r = await dockerJson<{ Volumes: { Labels?: Record<string, string> | null }[] | null }>(host, 'GET', `/volumes?filters=${filters({ label: [`${OWNER_LABEL}=${owner}`] })}`, 'listing the cache volumes');
  return (r?.Volumes ?? []).map((v) => v.Labels?.[APP_LABEL]).filter((a): a is string => Boolean(a));
}

/** The size of one volume as the engine's disk-usage report has it; undefined when it does not exist or is not measured. */
export async function volumeBytes(host: string, volume: string): Promise<number | undefined> {
  // `type=volume` (API 1.42+) spares the engine sizing images and containers; older ones ignore it.
  const r = await dockerJson<{ Volumes?: { Name: string; UsageData?: { Size?: number } }[] | null }>(host, 'GET', '/system/df?type=volume', 'reading the engine\'s disk use', { timeoutMs: 60_000 });
  const size = r?.Volumes?.find((x) => x.Name === volume)?.UsageData?.Size;
  return size !== undefined && size >= 0 ? size : undefined;
}

/** Removes dangling images older than an hour (younger ones may belong to a build under way); returns the bytes the engine reclaimed. */
export async function pruneDanglingImages(host: string): Promise<number> {
  const r = await dockerJson<{ SpaceReclaimed?: number }>(host, 'POST', `/images/prune?filters=${filters({ dangling: ['true'], until: ['1h'] })}`, 'pruning dangling images', { timeoutMs: 120_000 });
  return r?.SpaceReclaimed ?? 0;
}
