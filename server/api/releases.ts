// An app's releases, rolling back to one, and promoting what it runs to other apps (as jobs).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams, Accepted, Loose, Nullable, Time } from './schemas.ts';
import { actor, runChange } from './change.ts';
import { listReleases, releaseInfo, rollback } from '../ops/releases/releases.ts';
import { promote } from '../ops/promote/promote.ts';

const Status = Type.String({ description: 'pending, succeeded or failed' });

/** Who made a release, and which config keys it changed (names only, never values). */
const Provenance = {
  createdBy: Nullable(Type.String({ description: 'The key whose push or command made it (local: the local slipway command); null for releases made before this was recorded.' })),
  configChanges: Nullable(Type.Object({
    added: Type.Array(Type.String()),
    changed: Type.Array(Type.String()),
    removed: Type.Array(Type.String()),
  }, { additionalProperties: false, description: 'Config keys it added, changed and removed from the release it replaced (names only); null for the first release.' })),
  runsAs: Nullable(Type.Integer({ description: "The release whose instances it runs: a rollback's target (so a warm one only took the traffic back); null: its own." })),
};

/** One release of `releases --json`. */
const ReleaseSummary = Type.Object({
  app: Type.String(),
  version: Type.Integer(),
  description: Type.String(),
  commit: Nullable(Type.String()),
  image: Nullable(Type.String()),
  processes: Type.Array(Loose('A process type: type, command, args, default.')),
  checks: Loose('Health checks by process type.'),
  cron: Type.Array(Loose('A scheduled task of its app.json: id, command, schedule, concurrencyPolicy, maintenance.')),
  status: Status,
  createdAt: Time,
  finishedAt: Nullable(Time),
  imageCollectedAt: Nullable(Time),
  configPrunedAt: Nullable(Time),
  ...Provenance,
}, { additionalProperties: false });

/** `releases:info --json`. */
const ReleaseInfo = Type.Object({
  version: Type.Integer(),
  description: Type.String(),
  status: Status,
  commit: Nullable(Type.String()),
  image: Nullable(Type.String()),
  processes: Type.Array(Type.String()),
  configVars: Type.Array(Type.String(), { description: 'Names only, never values.' }),
  createdAt: Time,
  finishedAt: Nullable(Time),
  imageCollectedAt: Nullable(Time),
  configPrunedAt: Nullable(Time),
  ...Provenance,
}, { additionalProperties: false });

export const releaseRoutes = [
  route({
    method: 'GET', url: '/apps/:app/releases', tag: 'releases', need: 'read',
    summary: "An app's releases, newest first (= releases APP --json)",
    params: AppParams,
    response: { 200: Type.Array(ReleaseSummary) },
    handle: (call) => ({ status: 200, json: listReleases(actor(call), call.params.app) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/releases/:version', tag: 'releases', need: 'read',
    summary: 'One release (= releases:info APP vN --json)',
    params: Type.Object({ app: AppParams.properties.app, version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    response: { 200: ReleaseInfo },
    handle: (call) => ({ status: 200, json: releaseInfo(actor(call), call.params.app, call.params.version) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/rollback', tag: 'releases', need: 'deploy',
    summary: 'Roll back to a release (default: the one before the current), as a job',
    params: AppParams,
    body: Type.Object({
      version: Type.Optional(Type.Integer({ minimum: 1, description: 'The release to run again; default: the previous one.' })),
    }, { additionalProperties: false }),
    response: { 202: Accepted },
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
    response: { 202: Accepted },
    handle: async (call) => {
      const { app } = call.params;
      const { to, confirm } = call.body;
      return runChange((a, p) => promote(a, app, { to, confirm: confirm ?? [] }, p), call);
    },
  }),
];
