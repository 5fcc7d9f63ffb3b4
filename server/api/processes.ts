// An app's processes: what runs, and changing it (scale, restart, stop, start), each as a job.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams, Accepted, Loose } from './schemas.ts';
import { actor, runChange } from './change.ts';
import { listProcesses, restart, scale, stopOrStart } from '../ops/ps.ts';

/** One process type of `ps --json`. */
const ProcessEntry = Type.Object({
  type: Type.String(),
  desired: Type.Integer(),
  ready: Type.Integer(),
  stopped: Type.Boolean({ description: 'Whether ps:stop stopped it.' }),
  instances: Type.Array(Loose('One pod: name, release, state, ready, restarts, startedAt.')),
}, { additionalProperties: false });

/** The optional body of restart, stop and start: one process type, or all. */
const OneType = Type.Object({
  process: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'One process type; default: all.' })),
}, { additionalProperties: false });

export const processRoutes = [
  route({
    method: 'GET', url: '/apps/:app/processes', tag: 'processes', need: 'read',
    summary: "An app's process types with their desired and ready instances (= ps APP --json)",
    params: AppParams,
    response: { 200: Type.Array(ProcessEntry) },
    handle: async (call) => ({ status: 200, json: await listProcesses(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/formation', tag: 'processes', need: 'deploy',
    summary: 'Scale process types ({"web": 2}), as a job',
    params: AppParams,
    body: Type.Record(Type.String(), Type.Integer(), { minProperties: 1, description: 'Process type to number of instances.' }),
    response: { 202: Accepted },
    handle: async (call) => runChange((a, p) => scale(a, call.params.app, call.body, p), call),
  }),
  ...(['restart', 'stop', 'start'] as const).map((verb) => route({
    method: 'POST', url: `/apps/:app/${verb}`, tag: 'processes', need: 'deploy',
    summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} one process type or all, as a job`,
    params: AppParams,
    body: OneType,
    response: { 202: Accepted },
    handle: async (call) => {
      const { app } = call.params;
      const type = call.body.process;
      return runChange<unknown>((a, p) => verb === 'restart' ? restart(a, app, type, p) : stopOrStart(a, app, type, verb === 'stop', p), call);
    },
  })),
];
