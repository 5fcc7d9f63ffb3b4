// An app's scheduled tasks (app.json `cron`) as cron, cron:run, cron:suspend and cron:resume show them.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** How the newest run of a scheduled task went, from the Jobs its CronJob made. */
export const CronRunSchema = Type.Object({
  job: Type.String({ description: 'The Job of the run (its output: logs APP -p cron).' }),
  startedAt: Nullable(Time),
  finishedAt: Nullable(Time),
  result: Type.Enum(['succeeded', 'failed', 'running']),
  reason: Type.Optional(Type.String({ description: "Why it failed, in Kubernetes' words (DeadlineExceeded, BackoffLimitExceeded)." })),
}, { additionalProperties: false });
/** How a task's newest run went (the deployer reads it from the cluster). */
export type CronRun = Static<typeof CronRunSchema>;

/** One task of `cron APP --json`. */
export const CronEntrySchema = Type.Object({
  id: Type.String(),
  schedule: Type.String({ description: 'Five cron fields or a macro (@daily), in UTC.' }),
  command: Type.String(),
  concurrencyPolicy: Type.Enum(['allow', 'forbid', 'replace']),
  suspended: Type.Boolean({ description: 'Not scheduled: cron:suspend, or app.json maintenance.' }),
  maintenance: Type.Boolean({ description: 'app.json marks it maintenance: true (cron:resume does not lift it; the next app.json does).' }),
  lastRun: Nullable(CronRunSchema, { description: 'Its newest run (from the Jobs its CronJob keeps); null when it has not run.' }),
  nextRun: Nullable(Time, { description: 'When it runs next; null while suspended.' }),
}, { additionalProperties: false });
/** A scheduled task with its suspension, last run and next run. */
export type CronEntry = Static<typeof CronEntrySchema>;

/** What cron:run answers: the task, the Job started from its CronJob, and how to follow it. */
export const StartedCronRunSchema = Type.Object({ id: Type.String(), job: Type.String(), logs: Type.String({ description: 'The command that follows its output.' }) }, { additionalProperties: false });
/** A run started now. */
export type StartedCronRun = Static<typeof StartedCronRunSchema>;

/** What cron:suspend and cron:resume answer: whether the task is scheduled now. */
export const CronSuspensionSchema = Type.Object({ id: Type.String(), suspended: Type.Boolean(), maintenance: Type.Boolean() }, { additionalProperties: false });
/** A task's suspension after cron:suspend or cron:resume. */
export type CronSuspension = Static<typeof CronSuspensionSchema>;
