// Releases as `releases --json` and `releases:info --json` show them.
import { Type, type Static } from 'typebox';
import { Loose, Nullable, Time } from './common.ts';

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

/** When a release was made and ended, when its image and config copy went, and who made it. */
const Lifetime = {
  createdAt: Time,
  finishedAt: Nullable(Time),
  imageCollectedAt: Nullable(Time),
  configPrunedAt: Nullable(Time),
  ...Provenance,
};

/** One release of `releases --json`. */
export const ReleaseSummarySchema = Type.Object({
  app: Type.String(),
  version: Type.Integer(),
  description: Type.String(),
  commit: Nullable(Type.String()),
  image: Nullable(Type.String()),
  processes: Type.Array(Loose('A process type: type, command, args, default.')),
  checks: Loose('Health checks by process type.'),
  cron: Type.Array(Loose('A scheduled task of its app.json: id, command, schedule, concurrencyPolicy, maintenance.')),
  status: Status,
  ...Lifetime,
}, { additionalProperties: false });
/** A release as listed: everything but its config, whose values are secrets. */
export type ReleaseSummary = Static<typeof ReleaseSummarySchema>;

/** `releases:info --json`. */
export const ReleaseInfoSchema = Type.Object({
  version: Type.Integer(),
  description: Type.String(),
  status: Status,
  commit: Nullable(Type.String()),
  image: Nullable(Type.String()),
  processes: Type.Array(Type.String()),
  configVars: Type.Array(Type.String(), { description: 'Names only, never values.' }),
  ...Lifetime,
}, { additionalProperties: false });
/** One release as releases:info shows it: config var names only, never values. */
export type ReleaseInfo = Static<typeof ReleaseInfoSchema>;
