// Apps as apps:list, apps:info, apps:create, apps:destroy and apps:unlock answer them.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** An app's last deploy: when, how it went, the release it made, and its job (null for a release older than jobs). */
export const LastDeploySchema = Type.Object({
  at: Time,
  result: Type.Enum(['succeeded', 'failed', 'running'], { description: 'failed includes a cancelled or interrupted deploy.' }),
  release: Nullable(Type.String({ description: 'The release it made, as vN (when it succeeded).' })),
  jobId: Nullable(Type.String({ description: 'Its job; null for a release made before jobs were kept.' })),
}, { additionalProperties: false, description: 'The newest push, rebuild, rollback or config change.' });
/** An app's last deploy. */
export type LastDeploy = Static<typeof LastDeploySchema>;

/** What an app is doing, as apps:list and the dashboard show it. */
export const AppStateSchema = Type.Enum(['running', 'deploying', 'failed', 'stopped', 'new'], { description: 'deploying: a push, rebuild, rollback or config change runs; failed: the last one did not succeed; stopped: every process type is stopped (ps:stop); new: no release yet.' });
/** What an app is doing. */
export type AppState = Static<typeof AppStateSchema>;

/** One app of `apps:list --json`. */
export const AppSummarySchema = Type.Object({
  name: Type.String(),
  createdAt: Time,
  state: AppStateSchema,
  release: Nullable(Type.String({ description: 'The running release, as vN.' })),
  url: Type.String({ description: "The app's URL: https:// once its certificate is issued." }),
  https: Type.Boolean({ description: 'Whether the URL is served over HTTPS (its certificate is issued).' }),
  processes: Type.Object({
    running: Type.Integer({ description: 'Ready instances, over all process types.' }),
    desired: Type.Integer({ description: 'Instances asked for.' }),
  }, { additionalProperties: false }),
  lastDeploy: Nullable(LastDeploySchema),
}, { additionalProperties: false });
/** An app as apps:list shows it. */
export type AppSummary = Static<typeof AppSummarySchema>;

/** `apps:info --json`. */
export const AppInfoSchema = Type.Object({
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
/** apps:info --json. */
export type AppInfo = Static<typeof AppInfoSchema>;

/** A new app's name and git remotes. */
export const CreatedAppSchema = Type.Object({ name: Type.String(), gitSsh: Type.String(), gitHttp: Type.String() }, { additionalProperties: false });
/** A new app's name and git remotes. */
export type CreatedApp = Static<typeof CreatedAppSchema>;

/** What apps:destroy removed, and what it could not remove now. */
export const DestroyedAppSchema = Type.Object({ name: Type.String(), notes: Type.Array(Type.String(), { description: 'What could not be removed now (garbage collection retries it).' }) }, { additionalProperties: false });
/** What apps:destroy answers. */
export type DestroyedApp = Static<typeof DestroyedAppSchema>;

/** What apps:unlock answers. */
export const UnlockedSchema = Type.Object({ unlocked: Type.Boolean({ description: 'Whether there was a deploy or lock to clear.' }) }, { additionalProperties: false });
/** What apps:unlock answers. */
export type Unlocked = Static<typeof UnlockedSchema>;
