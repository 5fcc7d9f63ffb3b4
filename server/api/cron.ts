// An app's scheduled tasks (app.json `cron`): the list (= cron APP --json), a run now, and
// suspending or resuming one, which rolls out as a job (202) when the app runs.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppName, AppParams } from './schemas.ts';
import { AcceptedSchema } from '../shapes/jobs.ts';
import { CronEntrySchema, CronSuspensionSchema, StartedCronRunSchema } from '../shapes/cron.ts';
import { actor, runChange } from './change.ts';
import { listCron, runCronNow, suspendCron } from '../ops/cron/cron.ts';

const TaskParams = Type.Object({ app: AppName, id: Type.String({ minLength: 1, maxLength: 63, description: 'The task id `cron APP` lists.' }) }, { additionalProperties: false });

export const cronRoutes = [
  route({
    method: 'GET', url: '/apps/:app/cron', tag: 'cron', need: 'read',
    summary: "An app's scheduled tasks with their last and next run (= cron APP --json)",
    params: AppParams,
    response: { 200: Type.Array(CronEntrySchema) },
    handle: async (call) => ({ status: 200, json: await listCron(actor(call), call.params.app) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/cron/:id/run', tag: 'cron', need: 'deploy',
    summary: 'Run a scheduled task now, as a Job from its CronJob (= cron:run APP ID --json)',
    params: TaskParams,
    response: { 201: StartedCronRunSchema },
    handle: async (call) => ({ status: 201, json: await runCronNow(actor(call), call.params.app, call.params.id) }),
  }),
  ...(['suspend', 'resume'] as const).map((verb) => route({
    method: 'POST', url: `/apps/:app/cron/:id/${verb}`, tag: 'cron', need: 'deploy',
    summary: verb === 'suspend' ? 'Stop scheduling a task (kept for later releases), as a job when the app runs' : 'Schedule a suspended task again, as a job when the app runs',
    params: TaskParams,
    response: { 200: CronSuspensionSchema, 202: AcceptedSchema },
    handle: (call) => runChange((a, p) => suspendCron(a, call.params.app, call.params.id, verb === 'suspend', p), call, { status: 200 }),
  })),
];
