// storage:create, storage:list, storage:mount, storage:unmount, storage:destroy: the commands over
// ops/storage/storage.ts, in Dokku's words (its k3s scheduler's named entries, per app here).
import { UsageError } from '../errors.ts';
import { createVolume, destroyVolume, listVolumes, mountVolume, unmountVolume } from '../ops/storage/storage.ts';
import type { MountResult } from '../shapes/storage.ts';
import { usageCell, usageNotes, volumeName } from '../ops/storage/volumes.ts';
import { defineCommand, listing, type Command, type FlagSpecs } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** The process type of a mount: `--process`, or Dokku's `--process-type`; default web. */
function processFlag(flags: { readonly process?: string; readonly 'process-type'?: string }): string | undefined {
  return flags.process ?? flags['process-type'];
}

/** The mount path: the positional argument, or Dokku's `--container-dir` (not both). */
function pathArg(positional: string | undefined, flags: { readonly 'container-dir'?: string }): string | undefined {
  const dir = flags['container-dir'];
  if (positional !== undefined && dir !== undefined) throw new UsageError('Give the mount path once: as an argument or as --container-dir, not both.');
  return positional ?? dir;
}

/** The line a mount or unmount ends with. */
function doneLine(r: MountResult, app: string): string {
  return r.rolledOut ? 'done' : `stored (${app} runs nothing yet; its next deploy applies it)`;
}

const processFlags = {
  process: { type: 'string', help: 'the process type (default web)' },
  'process-type': { type: 'string', help: "the same, in Dokku's spelling" },
} as const satisfies FlagSpecs;

export const storageCommands: Command[] = [
  defineCommand({
    name: 'storage:create',
    usage: 'APP NAME [--size 1Gi]',
    summary: 'Create a persistent volume for an app (a ReadWriteOnce claim of that size, from SLIPWAY_STORAGE_CLASS or the cluster\'s default storage class)',
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { size: { type: 'string', help: 'how much it holds: 512Mi, 1Gi (default 1Gi)' } },
    run: async (ctx, app, [name], flags) => {
      const v = await createVolume(actorOf(ctx), app, name!, flags.size);
      ctx.out.line(`Creating volume ${v.name} (${v.size}) for ${app}... done`);
      ctx.out.line(`Mount it with: storage:mount ${app} ${v.name} /data`);
    },
  }),
  {
    name: 'storage:list',
    usage: 'APP',
    summary: "List an app's volumes: size, how much of it is used, claim status and where each is mounted",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const volumes = await listVolumes(actorOf(ctx), app);
      return listing(volumes, (out) => {
        if (volumes.length === 0) return out.line(`${app} has no volumes; storage:create ${app} NAME --size 1Gi makes one.`);
        out.heading(`${app} Volumes`);
        out.table(volumes.map((v) => [v.name, v.size, usageCell(v), v.status, v.mounts.map((m) => `${m.process}:${m.path}`).join(', ') || 'not mounted']), ['Name', 'Size', 'Used', 'Status', 'Mounted']);
        if (volumes.some((v) => v.status === 'Pending')) out.line('A Pending volume is bound when a process that mounts it first starts.');
        for (const note of volumes.flatMap(usageNotes)) out.line(note);
        if (volumes.some((v) => v.mounts.length && v.usedBytes === undefined && !v.usageUnknown)) {
          out.line("Used shows once the node has measured a mounted volume (every minute or so), where its storage class reports use.");
        }
      });
    },
  },
  defineCommand({
    name: 'storage:mount',
    usage: 'APP NAME /PATH [--process TYPE]',
    summary: "Mount a volume into a process type's containers (default web) and roll it out; that type then runs one instance, replaced (not rolled) on deploys",
    access: 'app',
    args: { min: 2, max: 3 },
    flags: { ...processFlags, 'container-dir': { type: 'string', help: "the path, in Dokku's spelling" } },
    run: async (ctx, app, [name, positional], flags) => {
      const path = pathArg(positional, flags);
      if (path === undefined) throw new UsageError('usage: storage:mount APP NAME /PATH [--process TYPE]');
      const r = await mountVolume(actorOf(ctx), app, volumeName(name!), path, processFlag(flags) ?? 'web', progressOf(ctx));
      ctx.out.line(`Mounting volume ${r.name} into ${r.process} of ${app} at ${r.path}... ${doneLine(r, app)}`);
    },
  }),
  defineCommand({
    name: 'storage:unmount',
    usage: 'APP NAME [/PATH] [--process TYPE]',
    summary: 'Unmount a volume (its data stays) and roll it out',
    access: 'app',
    args: { min: 2, max: 3 },
    flags: { ...processFlags, 'container-dir': { type: 'string', help: "the path, in Dokku's spelling" } },
    run: async (ctx, app, [name, positional], flags) => {
      const r = await unmountVolume(actorOf(ctx), app, name!, pathArg(positional, flags), processFlag(flags), progressOf(ctx));
      ctx.out.line(`Unmounting volume ${r.name} from ${r.process} of ${app} (${r.path})... ${doneLine(r, app)}`);
    },
  }),
  defineCommand({
    name: 'storage:destroy',
    usage: 'APP NAME --confirm NAME',
    summary: 'Delete an unmounted volume and the data on it',
    access: 'app',
    args: { min: 2, max: 2 },
    flags: { confirm: { type: 'string', help: 'the volume name again' } },
    run: async (ctx, app, [raw], flags) => {
      const name = volumeName(raw!);
      if (flags.confirm !== name) throw new UsageError(`This deletes volume ${name} of ${app} and its data for good; to go ahead, run: storage:destroy ${app} ${name} --confirm ${name}`);
      await destroyVolume(actorOf(ctx), app, name);
      ctx.out.line(`Destroying volume ${name} of ${app} and its data... done`);
    },
  }),
];
