// Canary releases (issue 40): an app's canary setting and the canary running now.
import { Type, type Static } from 'typebox';

const Figures = Type.Object({
  requests: Type.Integer({ description: 'Requests the set answered in the window.' }),
  errorRate: Type.Number({ description: 'Share of them answered with a 5xx, in percent.' }),
  p95Ms: Type.Union([Type.Integer(), Type.Null()], { description: '95th percentile latency in ms (null: no request).' }),
}, { additionalProperties: false });

/** An app's canary setting (canary:set). */
export const CanarySettingSchema = Type.Object({
  steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { description: "The canary's share of requests at each step, in percent, rising, 100 last." }),
  stepSeconds: Type.Integer({ description: 'How long each window lasts before its verdict.' }),
  margin: Type.Object({
    errorPoints: Type.Number({ description: 'Percentage points of 5xx the canary may have over the stable set.' }),
    p95Ms: Type.Integer({ description: 'Milliseconds of p95 latency the canary may have over the stable set.' }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** A canary as it runs now. */
export const CanaryStateSchema = Type.Object({
  app: Type.String(),
  release: Type.Integer({ description: "The canary's release." }),
  stable: Type.Integer({ description: 'The serving release it runs beside.' }),
  weight: Type.Integer({ description: 'Its share of the requests now, in percent.' }),
  state: Type.Enum(['running', 'promoting', 'aborting']),
  step: Type.Integer({ description: 'The step it is at (1-based).' }),
  steps: Type.Integer({ description: 'How many steps in all.' }),
  windowEndsAt: Type.String({ description: 'When the current window ends (ISO time).' }),
  figures: Type.Optional(Type.Object({ stable: Figures, canary: Figures }, { additionalProperties: false, description: "The last window's figures of each set." })),
}, { additionalProperties: false });

/** `canary APP --json`: the setting (null: none) and the canary running now (null: none). */
export const CanaryInfoSchema = Type.Object({
  app: Type.String(),
  setting: Type.Union([CanarySettingSchema, Type.Null()]),
  running: Type.Union([CanaryStateSchema, Type.Null()]),
}, { additionalProperties: false });
export type CanaryInfo = Static<typeof CanaryInfoSchema>;
export type CanaryStateShape = Static<typeof CanaryStateSchema>;
