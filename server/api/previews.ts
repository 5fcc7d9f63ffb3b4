// An app's preview apps and their settings, read-only (changing them is previews:* over SSH).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { Nullable, Time } from '../shapes/common.ts';
import { actor } from './change.ts';
import { listPreviews, previewSettings } from '../ops/previews/previews.ts';

/** One preview of `previews APP --json`. */
const Preview = Type.Object({
  app: Type.String({ description: 'The preview app: PARENT--BRANCHSLUG-HASH.' }),
  branch: Type.String(),
  commit: Nullable(Type.String({ description: 'The commit its last push deployed; null before its first deploy finished.' })),
  url: Type.String(),
  pushedAt: Nullable(Time),
  ageSeconds: Type.Integer({ description: 'Seconds since its last push (since it was made, before its first deploy).' }),
}, { additionalProperties: false });

/** `previews:config APP --json`. */
const Settings = Type.Object({
  app: Type.String(),
  enabled: Type.Boolean(),
  limit: Type.Integer(),
  ttl: Type.String({ description: 'How long a preview lives without a push, e.g. 7d.' }),
  sharedKeys: Type.Array(Type.String(), { description: 'Config keys a new preview copies from the app; no others.' }),
  forkDb: Type.Boolean({ description: "Whether a new preview's Postgres databases are restored from the app's latest backups (previews:config --fork-db) instead of starting empty." }),
}, { additionalProperties: false });

export const previewRoutes = [
  route({
    method: 'GET', url: '/apps/:app/previews', tag: 'previews', need: 'read',
    summary: "An app's preview apps (= previews APP --json)",
    params: AppParams,
    response: { 200: Type.Array(Preview) },
    handle: (call) => ({ status: 200, json: listPreviews(actor(call), call.params.app) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/previews/settings', tag: 'previews', need: 'read',
    summary: "An app's preview settings (= previews:config APP --json)",
    params: AppParams,
    response: { 200: Settings },
    handle: (call) => ({ status: 200, json: previewSettings(actor(call), call.params.app) }),
  }),
];
