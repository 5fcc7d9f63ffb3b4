// Apps: list, create, show, destroy; and the app-wide actions unlock and rebuild.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { AppInfoSchema, AppSummarySchema, CreatedAppSchema, DestroyedAppSchema, UnlockedSchema } from '../shapes/apps.ts';
import { actor, runChange } from './change.ts';
import { appInfo, createApp, destroyApp, listApps, unlockApp } from '../ops/apps/apps.ts';
import { rebuild } from '../ops/builds/builds.ts';

export const appRoutes = [
  route({
    method: 'GET', url: '/apps', tag: 'apps', need: 'read',
    summary: 'The apps the token may use, with state, release, URL, instances and last deploy (= apps:list --json)',
    response: { 200: Type.Array(AppSummarySchema) },
    handle: async (call) => ({ status: 200, json: await listApps(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/apps', tag: 'apps', need: 'admin',
    summary: 'Create an app and its git repository',
    body: Type.Object({ name: AppName }, { additionalProperties: false }),
    response: { 201: CreatedAppSchema },
    handle: async (call) => ({ status: 201, json: await createApp(actor(call), call.body.name) }),
  }),
  route({
    method: 'GET', url: '/apps/:app', tag: 'apps', need: 'read',
    summary: 'One app: remotes, URL, current release, lock, access (= apps:info APP --json)',
    params: AppParams,
    response: { 200: AppInfoSchema },
    handle: async (call) => ({ status: 200, json: await appInfo(actor(call), call.params.app) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app', tag: 'apps', need: 'admin',
    summary: 'Delete an app, its repository, config, releases and everything it runs (an app with volumes only with includeStorage=1, which deletes them too)',
    params: AppParams,
    query: Type.Object({ includeStorage: Type.Optional(Type.Enum(['1', '0', 'true', 'false'], { description: "1: delete the app's volumes and their data too; without it an app with volumes is refused." })) }, { additionalProperties: false }),
    response: { 200: DestroyedAppSchema },
    handle: async (call) => ({ status: 200, json: await destroyApp(actor(call), call.params.app, { includeStorage: call.query.includeStorage === '1' || call.query.includeStorage === 'true' }) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/unlock', tag: 'apps', need: 'deploy',
    summary: "Stop a stuck deploy of the app and clear its lock (= apps:unlock)",
    params: AppParams,
    response: { 200: UnlockedSchema },
    handle: (call) => ({ status: 200, json: unlockApp(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/rebuild', tag: 'apps', need: 'deploy',
    summary: 'Build the deployed commit again and roll it out, as a job',
    params: AppParams,
    response: { 202: AcceptedSchema },
    handle: async (call) => runChange((a, p) => rebuild(a, call.params.app, p), call),
  }),
];
