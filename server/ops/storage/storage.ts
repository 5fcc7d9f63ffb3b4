// Persistent storage (Dokku's storage:* verbs): an app's volumes, each a ReadWriteOnce
// PersistentVolumeClaim in its namespace, and where each is mounted. A mount is an app setting
// like a domain or a limit, not part of a release: it rolls out as a job (changeSetting), and a
// rollback keeps today's mounts, so the data stays where the app looks for it. A volume is
// mounted into one process type at most, which then runs one instance at most, rolled by
// replacing it (never two instances writing at once: deploy/volumes.ts).
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { RELEASE_TYPE, RUN_PROCESS } from '../../deploy/workload.ts';
import type { VolumeState } from '../../deploy/deployer.ts';
import type { Services } from '../../context.ts';
import type { VolumeRow } from '../../store/volumes.ts';
import type { Release } from '../../store/releases.ts';
import { lockApp } from '../lock.ts';
import { changeSetting } from '../rollout.ts';
import { DEFAULT_VOLUME_SIZE, mountPath, volumeName, volumeSize } from './volumes.ts';
import type { Actor, Progress } from '../actor.ts';
import type { MountResult, VolumeInfo } from '../../shapes/storage.ts';

/** The volume `name` of the app, or the sentence saying it has none of that name. */
function existing(services: Pick<Services, 'store'>, app: string, raw: string): VolumeRow {
  const name = volumeName(raw);
  const v = services.store.volumes.get(app, name);
  if (!v) throw new UserError(`${app} has no volume ${name}; storage:list ${app} shows its volumes.`);
  return v;
}

/** The app's claims now (storage:create's volumes and two per database) and what they hold together. */
export function claimsOf(services: Pick<Services, 'store'>, app: string): { claims: number; bytes: number } {
  const volumes = services.store.volumes.list(app);
  const data = services.store.data.list(app);
  // A database has a data and a backup claim; a preview's keeps its backups in scratch space.
  const per = services.store.previews.get(app) ? 1 : 2;
  return {
    claims: volumes.length + per * data.length,
    bytes: volumes.reduce((n, v) => n + quantityValue(v.size), 0) + data.reduce((n, d) => n + per * quantityValue(d.size), 0),
  };
}

/**
 * storage:list --json: the app's volumes, their claims' state, their mounts, and what each one's
 * file system uses where a running pod mounts it.
 */
export async function listVolumes(actor: Actor, app: string): Promise<VolumeInfo[]> {
  const { store, deployer } = actor.services;
  const rows = store.volumes.list(app);
  const states: VolumeState[] = deployer && rows.length ? await deployer.volumes.volumeStates(app) : [];
  return rows.map((v) => {
    const s = states.find((x) => x.name === v.name);
    return {
      name: v.name,
      size: v.size,
      status: s?.phase ?? 'absent',
      mounts: v.mount ? [v.mount] : [],
      ...(s?.usage ? { usedBytes: s.usage.usedBytes, capacityBytes: s.usage.capacityBytes } : {}),
      ...(s?.usageUnknown ? { usageUnknown: s.usageUnknown } : {}),
    };
  });
}

/**
 * storage:create: records a volume and makes its claim (on a server with a cluster), within the
 * per-volume size, the app's count and its total size. Under the app's lock: no deploy applies
 * the app's claims meanwhile.
 */
export async function createVolume(actor: Actor, app: string, rawName: string, rawSize: string | undefined): Promise<{ name: string; size: string }> {
  const { store, config, deployer } = actor.services;
  const name = volumeName(rawName);
  const size = volumeSize(rawSize ?? DEFAULT_VOLUME_SIZE, config.storageMaxSize);
  const rows = store.volumes.list(app);
  if (rows.some((v) => v.name === name)) throw new UserError(`${app} already has a volume ${name}.`);
  // A database's two claims count too: the namespace's quota holds all of them.
  const now = claimsOf(actor.services, app);
  const theirs = now.claims > rows.length ? ` (with its databases' ${now.claims - rows.length})` : '';
  if (now.claims >= config.appMaxVolumes) throw new UserError(`${app} has ${now.claims} volumes${theirs}, the most an app may have (SLIPWAY_APP_MAX_VOLUMES); storage:destroy one first.`);
  if (now.bytes + quantityValue(size) > quantityValue(config.appMaxStorage)) throw new UserError(`${app}'s volumes${theirs ? ' and databases' : ''} would hold more than ${config.appMaxStorage} together (SLIPWAY_APP_MAX_STORAGE) with ${size} more; make it smaller or storage:destroy one first.`);
  const unlock = lockApp(actor.services, app, `storage:create by ${actor.identity.name}`);
  try {
    const storageClass = config.storageClass ?? null;
    store.volumes.add(app, { name, size, storageClass });
    try {
      await deployer?.volumes.applyVolume(app, { name, size, ...(storageClass ? { storageClass } : {}) });
    } catch (err) {
      store.volumes.remove(app, name);
      throw err;
    }
  } finally {
    unlock();
  }
  return { name, size };
}

/** storage:destroy: deletes an unmounted volume's claim and with it its data, then its row. */
export async function destroyVolume(actor: Actor, app: string, rawName: string): Promise<{ name: string }> {
  const { store, deployer } = actor.services;
  const unmounted = () => {
    const v = existing(actor.services, app, rawName);
    if (v.mount) throw new UserError(`Volume ${v.name} is mounted into ${v.mount.process} at ${v.mount.path}; run storage:unmount ${app} ${v.name} first.`);
    return v;
  };
  unmounted();
  const unlock = lockApp(actor.services, app, `storage:destroy by ${actor.identity.name}`);
  try {
    // Again under the lock: a storage:mount may have finished in between.
    const v = unmounted();
    await deployer?.volumes.removeVolume(app, v.name);
    store.volumes.remove(app, v.name);
    return { name: v.name };
  } finally {
    unlock();
  }
}

/** The process types of the running release (none before the first deploy). */
function runningTypes(current: Release | undefined): string[] | undefined {
  return current?.processes.map((p) => p.type).filter((t) => t !== RELEASE_TYPE);
}

/**
 * storage:mount: mounts a volume into a process type's containers at `path`, and rolls it out.
 * A volume goes into one type at most, and that type runs one instance at most (ReadWriteOnce).
 */
export async function mountVolume(actor: Actor, app: string, rawName: string, rawPath: string, process: string, progress: Progress): Promise<MountResult> {
  const { store } = actor.services;
  const path = mountPath(rawPath);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(process)) throw new UserError(`${shown(process)} is not a process type name.`);
  if (process === RELEASE_TYPE || process === RUN_PROCESS) throw new UserError(`The ${process} pods mount the volumes of the app's main process type (web); mount the volume into that.`);
  const types = runningTypes(store.releases.current(app));
  if (types && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  const check = () => {
    const v = existing(actor.services, app, rawName);
    if (v.mount) throw new UserError(`Volume ${v.name} is mounted into ${v.mount.process} at ${v.mount.path} already; one process type writes a volume (ReadWriteOnce), so storage:unmount ${app} ${v.name} first.`);
    const taken = store.volumes.list(app).find((o) => o.mount?.process === process && o.mount.path === path);
    if (taken) throw new UserError(`${process} has volume ${taken.name} mounted at ${path} already.`);
    const count = store.formation.all(app)[process] ?? (process === 'web' ? 1 : 0);
    if (count > 1) throw new UserError(`${process} runs ${count} instances, and a volume is written by one at a time (ReadWriteOnce); ps:scale ${app} ${process}=1 first.`);
    return v;
  };
  const v = check();
  const rolledOut = await changeSetting(actor, app, {
    what: 'storage:mount',
    // Checked again under the app's lock: a ps:scale or another mount may have finished in between.
    write: () => store.volumes.setMount(app, check().name, { process, path }),
    undo: () => store.volumes.setMount(app, v.name, null),
  }, progress);
  return { name: v.name, process, path, rolledOut };
}

/** storage:unmount: takes a volume out of its process type's containers (its data stays), and rolls it out. */
export async function unmountVolume(actor: Actor, app: string, rawName: string, rawPath: string | undefined, process: string | undefined, progress: Progress): Promise<MountResult> {
  const { store } = actor.services;
  const v = existing(actor.services, app, rawName);
  const m = v.mount;
  if (!m) throw new UserError(`Volume ${v.name} is not mounted.`);
  if (rawPath !== undefined && mountPath(rawPath) !== m.path) throw new UserError(`Volume ${v.name} is mounted at ${m.path}, not ${rawPath}.`);
  if (process !== undefined && process !== m.process) throw new UserError(`Volume ${v.name} is mounted into ${m.process}, not ${shown(process)}.`);
  const rolledOut = await changeSetting(actor, app, {
    what: 'storage:unmount',
    write: () => store.volumes.setMount(app, v.name, null),
    undo: () => store.volumes.setMount(app, v.name, m),
  }, progress);
  return { name: v.name, process: m.process, path: m.path, rolledOut };
}
