// An app's config vars: read them (values included: any token that may read the app), and change
// them. A change rolls out as a job when the app runs a release; otherwise it is only stored.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams, ConfigKey } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { ConfigVarsSchema, StoredConfigSchema } from '../shapes/config.ts';
import { actor, runChange } from './change.ts';
import { getConfig, setConfig } from '../ops/config/config.ts';

export const configRoutes = [
  route({
    method: 'GET', url: '/apps/:app/config', tag: 'config', need: 'read',
    summary: "An app's config vars with their values (= config APP --json)",
    params: AppParams,
    response: { 200: ConfigVarsSchema },
    handle: (call) => ({ status: 200, json: getConfig(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/config', tag: 'config', need: 'deploy',
    summary: 'Set and unset config vars; rolls out as a job (202) when the app runs, else only stored (200)',
    params: AppParams,
    body: Type.Object({
      set: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Names and values to set.' })),
      unset: Type.Optional(Type.Array(ConfigKey, { maxItems: 1000, description: 'Names to remove.' })),
      restart: Type.Optional(Type.Boolean({ description: 'false: only store the change; the next deploy uses it. Default true.' })),
    }, { additionalProperties: false }),
    response: { 200: StoredConfigSchema, 202: AcceptedSchema },
    handle: async (call) => {
      const { app } = call.params;
      const change = { ...(call.body.set ? { set: call.body.set } : {}), ...(call.body.unset ? { unset: call.body.unset } : {}), ...(call.body.restart !== undefined ? { restart: call.body.restart } : {}) };
      return runChange((a, p) => setConfig(a, app, change, p), call, { status: 200, json: () => ({ config: getConfig(actor(call), app) }) });
    },
  }),
];
