// Canary releases (issue 40): an app's canary setting, and ending its running canary by hand.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { CanaryInfoSchema, CanarySettingSchema, CanaryStateSchema } from '../shapes/canary.ts';
import { canaryInfo, decideCanary, setCanary, unsetCanary } from '../ops/releases/canary.ts';

export const canaryRoutes = [
  route({
    method: 'GET', url: '/apps/:app/canary', tag: 'releases', need: 'read',
    summary: "An app's canary setting and the canary running now, with its weight and the last window's figures (= canary APP --json)",
    params: AppParams,
    response: { 200: CanaryInfoSchema },
    handle: (call) => ({ status: 200, json: canaryInfo(actor(call), call.params.app) }),
  }),
  route({
    method: 'PATCH', url: '/apps/:app/canary', tag: 'releases', need: 'deploy',
    summary: 'Make every later deploy of the app a canary (= canary:set APP STEPS --step … --margin …)',
    params: AppParams,
    body: Type.Object({
      steps: Type.String({ minLength: 1, maxLength: 64, description: 'Rising percentages of the requests, like 10,50,100.' }),
      step: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'Each window: 30s, 5m, 1h (default 5m).' })),
      margin: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: '5xx=POINTS and/or p95=MS (default 5xx=1,p95=100ms).' })),
    }, { additionalProperties: false }),
    response: { 200: CanarySettingSchema },
    handle: (call) => ({ status: 200, json: setCanary(actor(call), call.params.app, call.body) }),
  }),
  route({
    method: 'DELETE', url: '/apps/:app/canary', tag: 'releases', need: 'deploy',
    summary: 'Deploy the app without a canary again (= canary:unset APP)',
    params: AppParams,
    response: { 200: Type.Object({ removed: Type.Boolean({ description: 'Whether the app had a canary setting.' }) }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: { removed: unsetCanary(actor(call), call.params.app) } }),
  }),
  ...(['promote', 'abort'] as const).map((action) => route({
    method: 'POST', url: `/apps/:app/canary/${action}`, tag: 'releases', need: 'deploy',
    summary: action === 'promote' ? "End the app's running canary now: its release takes all the requests (= canary:promote APP)" : "End the app's running canary now: every request back on the serving release (= canary:abort APP)",
    params: AppParams,
    response: { 200: CanaryStateSchema },
    handle: (call) => ({ status: 200, json: decideCanary(actor(call), call.params.app, action) }),
  })),
];
