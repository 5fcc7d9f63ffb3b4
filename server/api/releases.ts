// An app's releases, rolling back to one, and promoting what it runs to other apps (as jobs).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { ReleaseInfoSchema, ReleaseSummarySchema } from '../shapes/releases.ts';
import { actor, runChange } from './change.ts';
import { listReleases, releaseInfo, rollback } from '../ops/releases/releases.ts';
import { promote } from '../ops/promote/promote.ts';

export const releaseRoutes = [
  route({
    method: 'GET', url: '/apps/:app/releases', tag: 'releases', need: 'read',
    summary: "An app's releases, newest first (= releases APP --json)",
    params: AppParams,
    response: { 200: Type.Array(ReleaseSummarySchema) },
    handle: (call) => ({ status: 200, json: listReleases(actor(call), call.params.app) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/releases/:version', tag: 'releases', need: 'read',
    summary: 'One release (= releases:info APP vN --json)',
    params: Type.Object({ app: AppParams.properties.app, version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    response: { 200: ReleaseInfoSchema },
    handle: (call) => ({ status: 200, json: releaseInfo(actor(call), call.params.app, call.params.version) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/rollback', tag: 'releases', need: 'deploy',
    summary: 'Roll back to a release (default: the one before the current), as a job',
    params: AppParams,
    body: Type.Object({
      version: Type.Optional(Type.Integer({ minimum: 1, description: 'The release to run again; default: the previous one.' })),
    }, { additionalProperties: false }),
    response: { 202: AcceptedSchema },
    handle: async (call) => {
      const { app } = call.params;
      const version = call.body.version;
      return runChange((a, p) => rollback(a, app, version === undefined ? {} : { version }, p), call);
    },
  }),
  route({
    method: 'POST', url: '/apps/:app/promote', tag: 'releases', need: 'deploy',
    summary: "Release the image the app runs (same digest, no build) in other apps with their own config (= apps:promote APP --to …), as jobs: the answer is the first target's; the others follow in order, each its own job",
    params: AppParams,
    body: Type.Object({
      to: Type.Array(Type.String(), { minItems: 1, maxItems: 20, description: 'The apps to promote to; the token must be able to deploy each.' }),
      confirm: Type.Optional(Type.Array(Type.String(), { maxItems: 20, description: 'Targets whose process types the promotion may remove (= --confirm); without, such a promotion is refused.' })),
    }, { additionalProperties: false }),
    response: { 202: AcceptedSchema },
    handle: async (call) => {
      const { app } = call.params;
      const { to, confirm } = call.body;
      return runChange((a, p) => promote(a, app, { to, confirm: confirm ?? [] }, p), call);
    },
  }),
];
