// An app's sleep at zero (issue 40) as `ps:sleep --json`, `ps:wake --json` and the API show it.
import { Type, type Static } from 'typebox';
import { Time } from './common.ts';

/** One wake of a sleeping app. */
export const WakeSchema = Type.Object({
  id: Type.Integer(),
  app: Type.String(),
  asleepSince: Time,
  startedAt: Time,
  trigger: Type.Enum(['request', 'ps:wake', 'deploy'], { description: 'What woke it: a request to its host (held by the waker), ps:wake, or a deploy or scale that started its instances.' }),
  readyMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Milliseconds from the start of the wake to a ready instance; null while waking or when it failed.' }),
  error: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false });

const SleepFields = {
  seconds: Type.Integer({ description: 'Seconds without a request before the app sleeps; 0: never.' }),
  source: Type.Enum(['app', 'preview', 'default'], { description: "app: set by ps:sleep; preview: a preview's default, SLIPWAY_PREVIEW_SLEEP_AFTER; default: an app's, never." }),
  asleepSince: Type.Union([Time, Type.Null()], { description: 'Since when it sleeps; null while awake.' }),
  wakes: Type.Array(WakeSchema, { description: 'Its newest wakes, newest first.' }),
};

/** `ps:sleep APP --json`. */
export const SleepStateSchema = Type.Object(SleepFields, { additionalProperties: false });
/** An app's idle time, whether it sleeps, and its wakes. */
export type SleepStateShape = Static<typeof SleepStateSchema>;

/** What `ps:sleep APP --after DURATION` answers: the state after, and whether turning sleep off woke it. */
export const SleepSetSchema = Type.Object({ ...SleepFields, woke: Type.Boolean() }, { additionalProperties: false });

/** What `ps:wake APP` answers. */
export const WakeResultSchema = Type.Object({
  woke: Type.Boolean({ description: 'Whether it slept (false: it was awake, nothing done).' }),
  wake: Type.Union([WakeSchema, Type.Null()]),
}, { additionalProperties: false });
