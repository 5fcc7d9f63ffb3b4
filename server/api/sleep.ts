// Apps that sleep at zero (issue 40): the idle time (= ps:sleep), and waking one now (= ps:wake).
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { SleepSetSchema, SleepStateSchema, WakeResultSchema } from '../shapes/sleep.ts';
import { setSleepAfter, sleepState, wakeNow } from '../ops/processes/sleep.ts';

export const sleepRoutes = [
  route({
    method: 'GET', url: '/apps/:app/sleep', tag: 'processes', need: 'read',
    summary: 'How long the app goes without a request before it sleeps at zero, since when it sleeps, its newest wakes (= ps:sleep APP --json)',
    params: AppParams,
    response: { 200: SleepStateSchema },
    handle: (call) => ({ status: 200, json: sleepState(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/sleep', tag: 'processes', need: 'deploy',
    summary: "Set the app's idle time before it sleeps (= ps:sleep APP --after DURATION); 0 also wakes it",
    params: AppParams,
    body: Type.Object({
      after: Type.Union([Type.String({ minLength: 1, maxLength: 16 }), Type.Integer()], { description: 'Seconds (1800), or a duration like 90s, 30m, 2h or 1d (at most 30d); 0: never; "default": a preview\'s default, or never.' }),
    }, { additionalProperties: false }),
    response: { 200: SleepSetSchema },
    handle: async (call) => ({ status: 200, json: await setSleepAfter(actor(call), call.params.app, call.body.after) }),
  }),
  route({
    method: 'POST', url: '/apps/:app/wake', tag: 'processes', need: 'deploy',
    summary: 'Wake the app now if it sleeps (= ps:wake APP); answers once an instance is ready',
    params: AppParams,
    response: { 200: WakeResultSchema },
    handle: async (call) => {
      const wake = await wakeNow(actor(call), call.params.app);
      return { status: 200, json: { woke: wake !== null, wake } };
    },
  }),
];
