// Apps: list, create, show, destroy; and the app-wide actions unlock and rebuild.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams, Accepted, Nullable, Time } from './schemas.ts';
import { actor, runChange } from './change.ts';
import { appInfo, createApp, destroyApp, listApps, unlockApp } from '../ops/apps/apps.ts';
import { rebuild } from '../ops/builds/builds.ts';

/** One app of `apps:list --json`. */
const AppSummary = Type.Object({
  name: Type.String(),
  createdAt: Time,
  state: Type.Enum(['running', 'deploying', 'failed', 'stopped', 'new'], { description: 'deploying: a push, rebuild, rollback or config change runs; failed: the last one did not succeed; stopped: every process type is stopped (ps:stop); new: no release yet.' }),
  release: Nullable(Type.String({ description: 'The running release, as vN.' })),
  url: Type.String({ description: "The app's URL: https:// once its certificate is issued." }),
  https: Type.Boolean({ description: 'Whether the URL is served over HTTPS (its certificate is issued).' }),
  processes: Type.Object({
    running: Type.Integer({ description: 'Ready instances, over all process types.' }),
    desired: Type.Integer({ description: 'Instances asked for.' }),
  }, { additionalProperties: false }),
  lastDeploy: Nullable(Type.Object({
    at: Time,
    result: Type.Enum(['succeeded', 'failed', 'running'], { description: 'failed includes a cancelled or interrupted deploy.' }),
    release: Nullable(Type.String({ description: 'The release it made, as vN (when it succeeded).' })),
    jobId: Nullable(Type.String({ description: 'Its job; null for a release made before jobs were kept.' })),
  }, { additionalProperties: false, description: 'The newest push, rebuild, rollback or config change.' })),
}, { additionalProperties: false });

/** `apps:info --json`. */
const AppInfo = Type.Object({
  name: Type.String(),
  createdAt: Time,
  deployBranch: Type.String(),
  builder: Type.String({ description: 'The builder image pack uses for this app.' }),
  gitSsh: Type.String(),
  gitHttp: Type.String(),
  url: Type.String({ description: "The app's URL: https:// once its certificate is issued." }),
  release: Nullable(Type.String({ description: 'The running release, as vN.' })),
  image: Nullable(Type.String()),
  lockedBy: Nullable(Type.String({ description: 'Who holds the deploy lock now.' })),
  access: Type.Array(Type.String(), { description: 'Keys granted the app (admins always have it).' }),
  configVars: Type.Integer({ description: 'How many config vars are set.' }),
}, { additionalProperties: false });

export const appRoutes = [
  route({
    method: 'GET', url: '/apps', tag: 'apps', need: 'read',
    summary: 'The apps the token may use, with state, release, URL, instances and last deploy (= apps:list --json)',
    response: { 200: Type.Array(AppSummary) },
    handle: async (call) => ({ status: 200, json: await listApps(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/apps', tag: 'apps', need: 'admin',
    summary: 'Create an app and its git repository',
    body: Type.Object({ name: AppName }, { additionalProperties: false }),
    response: { 201: Type.Object({ name: Type.String(), gitSsh: Type.String(), gitHttp: Type.String() }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 201, json: await createApp(actor(call), call.body.name) }),
  }),
  route({
    method: 'GET', url: '/apps/:app', tag: 'apps', need: 'read',
    summary: 'One app: remotes, URL, current release, lock, access (= apps:info APP --json)',
    params: AppParams,
    response: { 200: AppInfo },
    handle: async (call) => ({ status: 200, json: await appInfo(actor(call), call.params.app) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app', tag: 'apps', need: 'admin',
    summary: 'Delete an app, its repository, config, releases and everything it runs (an app with volumes only with includeStorage=1, which deletes them too)',
    params: AppParams,
    query: Type.Object({ includeStorage: Type.Optional(Type.Enum(['1', '0', 'true', 'false'], { description: "1: delete the app's volumes and their data too; without it an app with volumes is refused." })) }, { additionalProperties: false }),
    response: { 200: Type.Object({ name: Type.String(), notes: Type.Array(Type.String(), { description: 'What could not be removed now (garbage collection retries it).' }) }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await destroyApp(actor(call), call.params.app, { includeStorage: call.query.includeStorage === '1' || call.query.includeStorage === 'true' }) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/unlock', tag: 'apps', need: 'deploy',
    summary: "Stop a stuck deploy of the app and clear its lock (= apps:unlock)",
    params: AppParams,
    response: { 200: Type.Object({ unlocked: Type.Boolean({ description: 'Whether there was a deploy or lock to clear.' }) }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: unlockApp(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/rebuild', tag: 'apps', need: 'deploy',
    summary: 'Build the deployed commit again and roll it out, as a job',
    params: AppParams,
    response: { 202: Accepted },
    handle: async (call) => runChange((a, p) => rebuild(a, call.params.app, p), call),
  }),
];
