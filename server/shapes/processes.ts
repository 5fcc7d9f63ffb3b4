// An app's processes as `ps --json`, `ps:warm --json` and `ps:metrics --json` show them.
import { Type, type Static } from 'typebox';
import { Loose, Time } from './common.ts';

/** One process type of `ps --json`. */
export const ProcessEntrySchema = Type.Object({
  type: Type.String(),
  desired: Type.Integer(),
  ready: Type.Integer(),
  stopped: Type.Boolean({ description: 'Whether ps:stop stopped it.' }),
  instances: Type.Array(Loose('One pod: name, release, state, ready, restarts, startedAt.')),
  warm: Type.Optional(Type.Object({
    release: Type.Integer({ description: 'The release these instances run.' }),
    until: Time,
  }, { additionalProperties: false, description: "Present on an earlier release's web instances kept warm outside the traffic: a rollback to it only moves the traffic." })),
  asleep: Type.Optional(Type.Object({
    since: Time,
  }, { additionalProperties: false, description: 'Present on web while the app sleeps at zero (ps:sleep): its next request wakes it.' })),
  autoscale: Type.Optional(Type.Object({
    min: Type.Integer(),
    max: Type.Integer(),
    cpu: Type.Optional(Type.Integer({ description: 'Average CPU use aimed at, in percent of each instance\'s CPU limit.' })),
    memory: Type.Optional(Type.Integer({ description: 'Average memory use aimed at, in percent of each instance\'s memory limit.' })),
    current: Type.Integer({ description: 'Instances the autoscaler last found.' }),
    desired: Type.Integer({ description: 'Instances it wants.' }),
    cpuNow: Type.Optional(Type.Integer({ description: 'Average CPU use now, in percent of the limit (absent until measured).' })),
    memoryNow: Type.Optional(Type.Integer({ description: 'Average memory use now, in percent of the limit (absent until measured).' })),
    why: Type.Optional(Type.String({ description: 'Why it cannot scale now, when it says so.' })),
  }, { additionalProperties: false, description: 'Present on an autoscaled type (ps:autoscale) that serves: its autoscaler.' })),
}, { additionalProperties: false });
/** One process type as ps shows it. */
export type ProcessEntry = Static<typeof ProcessEntrySchema>;

/** ps:warm APP: an app's warm window and where it comes from. */
const WarmFields = {
  seconds: Type.Integer({ description: 'How long, after a deploy, the web instances it took the traffic from stay warm; 0: off.' }),
  source: Type.Enum(['app', 'default', 'preview'], { description: "app: set by ps:warm; default: SLIPWAY_WARM_ROLLBACK; preview: a preview's default, 0 (its share of its parent's quota holds no warm set)." }),
};

/** `ps:warm APP --json`. */
export const WarmWindowSchema = Type.Object(WarmFields, { additionalProperties: false });
/** An app's warm window (ps:warm): seconds, and whether the app's own setting or SLIPWAY_WARM_ROLLBACK gives it. */
export type WarmWindow = Static<typeof WarmWindowSchema>;

/** What ps:warm APP DURATION answers when only stored. */
export const WarmResultSchema = Type.Object({ ...WarmFields, dropped: Type.Integer({ description: 'Warm sets stopped (with 0).' }) }, { additionalProperties: false });
/** What ps:warm APP DURATION did: the window in force now, and how many warm sets it stopped (a window of 0 stops them). */
export type WarmResult = Static<typeof WarmResultSchema>;

/** The metrics object (= ps:metrics APP --json). */
export const AppMetricsSchema = Type.Object({
  at: Time,
  processes: Type.Array(Type.Object({
    type: Type.String({ description: 'The process type.' }),
    pods: Type.Array(Type.Object({
      name: Type.String({ description: 'The pod.' }),
      cpuMillicores: Type.Integer({ description: 'CPU over the metrics window, in thousandths of a core.' }),
      memoryBytes: Type.Integer({ description: 'Working set, in bytes.' }),
    }, { additionalProperties: false }), { description: 'Its pods the metrics API has measured (a new pod shows up after 15-60 s).' }),
  }, { additionalProperties: false }), { description: 'Each process type, web first.' }),
}, { additionalProperties: false });
/** ps:metrics --json and GET /apps/APP/metrics: when it was read, and each process type's pods (web first). */
export type AppMetrics = Static<typeof AppMetricsSchema>;
/** One pod's use as the metrics API last measured it. */
export type PodMetrics = AppMetrics['processes'][number]['pods'][number];

/** One autoscaled process type's rule (ps:autoscale APP --json, GET /apps/APP/autoscale). */
export const AutoscaleRuleSchema = Type.Object({
  process: Type.String({ description: 'The process type.' }),
  min: Type.Integer({ description: 'Fewest instances.' }),
  max: Type.Integer({ description: 'Most instances (the app\'s quota holds them).' }),
  cpu: Type.Union([Type.Integer(), Type.Null()], { description: 'Average CPU use aimed at, in percent of each instance\'s CPU limit; null: not a metric.' }),
  memory: Type.Union([Type.Integer(), Type.Null()], { description: 'Average memory use aimed at, in percent of each instance\'s memory limit; null: not a metric.' }),
}, { additionalProperties: false });
/** An autoscaled type's rule. */
export type AutoscaleRule = Static<typeof AutoscaleRuleSchema>;

/** ps:autoscale APP --json: the app's autoscaled types. */
export const AutoscaleRulesSchema = Type.Array(AutoscaleRuleSchema);

/** What ps:autoscale:off did: the type, and the count it runs at now (ps:scale's again). */
export const AutoscaleOffSchema = Type.Object({
  process: Type.String(),
  instances: Type.Integer({ description: 'The count it keeps: what its autoscaler last ran, within what ps:scale allows.' }),
}, { additionalProperties: false });
/** What ps:autoscale:off did. */
export type AutoscaleOff = Static<typeof AutoscaleOffSchema>;
