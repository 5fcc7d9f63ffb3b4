// An app's persistent volumes (= storage:* commands): list, create, destroy, and mount or unmount
// one, which rolls out as a job (202) when the app runs and is only stored (200) before its first deploy.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { actor, runChange } from './change.ts';
import { MountResultSchema, VolumeInfoSchema } from '../shapes/storage.ts';
import { createVolume, destroyVolume, listVolumes, mountVolume, unmountVolume } from '../ops/storage/storage.ts';

const VolumeName = Type.String({ minLength: 1, maxLength: 45, description: 'The volume name (a DNS label of at most 45 characters).' });
const VolumeParams = Type.Object({ app: AppName, name: VolumeName }, { additionalProperties: false });
const Process = Type.String({ minLength: 1, maxLength: 63, description: 'The process type (default web).' });
const Path = Type.String({ minLength: 1, maxLength: 200, description: 'An absolute path, like /data.' });
export const storageRoutes = [
  route({
    method: 'GET', url: '/apps/:app/storage', tag: 'storage', need: 'read',
    summary: "An app's volumes: size, what its file system uses, claim status, mounts (= storage:list APP --json)",
    params: AppParams,
    response: { 200: Type.Array(VolumeInfoSchema) },
    handle: async (call) => ({ status: 200, json: await listVolumes(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/storage', tag: 'storage', need: 'deploy',
    summary: 'Create a volume (= storage:create APP NAME --size SIZE)',
    params: AppParams,
    body: Type.Object({ name: VolumeName, size: Type.Optional(Type.String({ maxLength: 16, description: 'How much it holds: 512Mi, 1Gi (default 1Gi).' })) }, { additionalProperties: false }),
    response: { 201: Type.Object({ name: Type.String(), size: Type.String() }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 201, json: await createVolume(actor(call), call.params.app, call.body.name, call.body.size) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/storage/:name', tag: 'storage', need: 'deploy',
    summary: 'Delete an unmounted volume and its data (= storage:destroy)',
    params: VolumeParams,
    response: { 200: Type.Object({ name: Type.String() }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await destroyVolume(actor(call), call.params.app, call.params.name) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/storage/:name/mount', tag: 'storage', need: 'deploy',
    summary: "Mount a volume into a process type's containers and roll it out (= storage:mount)",
    params: VolumeParams,
    body: Type.Object({ path: Path, process: Type.Optional(Process) }, { additionalProperties: false }),
    response: { 200: MountResultSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => mountVolume(a, call.params.app, call.params.name, call.body.path, call.body.process ?? 'web', p), call, { status: 200 }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/storage/:name/mount', tag: 'storage', need: 'deploy',
    summary: 'Unmount a volume (its data stays) and roll it out (= storage:unmount)',
    params: VolumeParams,
    query: Type.Object({ path: Type.Optional(Path), process: Type.Optional(Process) }, { additionalProperties: false }),
    response: { 200: MountResultSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => unmountVolume(a, call.params.app, call.params.name, call.query.path, call.query.process, p), call, { status: 200 }),
  }),
];
