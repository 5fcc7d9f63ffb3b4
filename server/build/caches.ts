// The build engine's side of garbage collection: pack's per-app cache volumes (labelled with the
// data dir of the server that made them, so a Docker engine shared by several servers never has
// one server remove another's caches) and dangling images.
import { runChecked } from '../exec.ts';

/** The label naming the server (its data dir) a cache volume belongs to. */
export const OWNER_LABEL = 'io.slipway.owner';
/** The label naming the app a cache volume belongs to. */
export const APP_LABEL = 'io.slipway.app';

/** Creates the app's cache volume with our labels unless it exists (docker keeps an existing one as it is). */
export async function ensureCacheVolume(volume: string, app: string, owner: string): Promise<void> {
  await runChecked('docker', ['volume', 'create', '--label', `${OWNER_LABEL}=${owner}`, '--label', `${APP_LABEL}=${app}`, volume]);
}

/** The apps whose cache volumes this server (owner) made. */
export async function ownedCacheApps(owner: string): Promise<string[]> {
  const r = await runChecked('docker', ['volume', 'ls', '--quiet', '--filter', `label=${OWNER_LABEL}=${owner}`, '--format', `{{.Label "${APP_LABEL}"}}`]);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Docker's human sizes (`56.61kB`, `1.2GB`: powers of 1000) as bytes; undefined when unreadable. */
export function parseDockerSize(raw: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kMGTP]?)B$/.exec(raw.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * 1000 ** ' kMGTP'.indexOf(m[2] || ' '));
}

/** The size of one volume as `docker system df` measures it; undefined when it does not exist. */
export async function volumeBytes(volume: string): Promise<number | undefined> {
  const r = await runChecked('docker', ['system', 'df', '--verbose', '--format', '{{json .Volumes}}']);
  const list = JSON.parse(r.stdout || '[]') as { Name: string; Size: string }[];
  const v = list.find((x) => x.Name === volume);
  return v ? parseDockerSize(v.Size) : undefined;
}

/** Removes dangling images older than an hour (younger ones may belong to a build under way); returns the bytes Docker reclaimed. */
export async function pruneDanglingImages(): Promise<number> {
  const r = await runChecked('docker', ['image', 'prune', '--force', '--filter', 'until=1h']);
  const m = /Total reclaimed space:\s*(\S+)/.exec(r.stdout);
  return (m && parseDockerSize(m[1]!)) ?? 0;
}
