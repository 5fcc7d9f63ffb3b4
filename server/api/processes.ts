// An app's processes: what runs, and changing it (scale, restart, stop, start), each as a job;
// and how long the previous release's web instances stay warm (ps:warm).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { AutoscaleRulesSchema, ProcessEntrySchema, WarmResultSchema, WarmWindowSchema } from '../shapes/processes.ts';
import { AppName } from './schemas.ts';
import { autoscaleOff, autoscaleRules, setAutoscale } from '../ops/processes/autoscale.ts';
import { actor, runChange } from './change.ts';
import { listProcesses, restart, scale, setWarmWindow, stopOrStart, warmWindow } from '../ops/processes/ps.ts';

/** The optional body of restart, stop and start: one process type, or all. */
const OneType = Type.Object({
  process: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'One process type; default: all.' })),
}, { additionalProperties: false });

/** An autoscaled type's route: the app and the process type. */
const TypeParams = Type.Object({ app: AppName, process: Type.String({ minLength: 1, maxLength: 63, description: 'The process type.' }) }, { additionalProperties: false });

/** A whole number option of ps:autoscale (the operation checks its bounds and says which it broke). */
const Count = (description: string) => Type.Integer({ description });

export const processRoutes = [
  route({
    method: 'GET', url: '/apps/:app/processes', tag: 'processes', need: 'read',
    summary: "An app's process types with their desired and ready instances (= ps APP --json)",
    params: AppParams,
    response: { 200: Type.Array(ProcessEntrySchema) },
    handle: async (call) => ({ status: 200, json: await listProcesses(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/formation', tag: 'processes', need: 'deploy',
    summary: 'Scale process types ({"web": 2}), as a job',
    params: AppParams,
    body: Type.Record(Type.String(), Type.Integer(), { minProperties: 1, description: 'Process type to number of instances.' }),
    response: { 202: AcceptedSchema },
    handle: async (call) => runChange((a, p) => scale(a, call.params.app, call.body, p), call),
  }),
  ...(['restart', 'stop', 'start'] as const).map((verb) => route({
    method: 'POST', url: `/apps/:app/${verb}`, tag: 'processes', need: 'deploy',
    summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} one process type or all, as a job`,
    params: AppParams,
    body: OneType,
    response: { 202: AcceptedSchema },
    handle: async (call) => {
      const { app } = call.params;
      const type = call.body.process;
      return runChange<unknown>((a, p) => verb === 'restart' ? restart(a, app, type, p) : stopOrStart(a, app, type, verb === 'stop', p), call);
    },
  })),
  route({
    method: 'GET', url: '/apps/:app/warm', tag: 'processes', need: 'read',
    summary: "How long the previous release's web instances stay warm after a deploy (= ps:warm APP --json)",
    params: AppParams,
    response: { 200: WarmWindowSchema },
    handle: (call) => ({ status: 200, json: warmWindow(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/warm', tag: 'processes', need: 'deploy',
    summary: "Set the app's warm window (= ps:warm APP DURATION); 0 also stops its warm instances now, as a job",
    params: AppParams,
    body: Type.Object({
      duration: Type.Union([Type.String({ minLength: 1, maxLength: 16 }), Type.Integer()], { description: 'Seconds (300), or a duration like 90s, 5m or 1h (at most 24h); 0 turns it off; "default": SLIPWAY_WARM_ROLLBACK.' }),
    }, { additionalProperties: false }),
    response: { 200: WarmResultSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => setWarmWindow(a, call.params.app, call.body.duration, p), call, { status: 200 }),
  }),
  route({
    method: 'GET', url: '/apps/:app/autoscale', tag: 'processes', need: 'read',
    summary: "An app's autoscaled process types and their rules (= ps:autoscale APP --json)",
    params: AppParams,
    response: { 200: AutoscaleRulesSchema },
    handle: (call) => ({ status: 200, json: autoscaleRules(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/autoscale/:process', tag: 'processes', need: 'deploy',
    summary: 'Autoscale a process type between min and max instances on its average CPU and/or memory use (= ps:autoscale APP TYPE …), as a job',
    params: TypeParams,
    body: Type.Object({
      min: Type.Optional(Count('Fewest instances (default 1).')),
      max: Count('Most instances; the app\'s quota must hold them (with the room a rollout takes).'),
      cpu: Type.Optional(Count('Average CPU use to aim at, in percent (1-100) of each instance\'s CPU limit.')),
      memory: Type.Optional(Count('Average memory use to aim at, in percent (1-100) of each instance\'s memory limit.')),
    }, { additionalProperties: false }),
    response: { 202: AcceptedSchema },
    handle: async (call) => runChange((a, p) => setAutoscale(a, call.params.app, call.params.process, call.body, p), call),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/autoscale/:process', tag: 'processes', need: 'deploy',
    summary: 'Stop autoscaling a process type: it keeps the instances it runs (= ps:autoscale:off APP TYPE), as a job',
    params: TypeParams,
    response: { 202: AcceptedSchema },
    handle: async (call) => runChange((a, p) => autoscaleOff(a, call.params.app, call.params.process, p), call),
  }),
];
