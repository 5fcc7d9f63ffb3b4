// A scheduled task as `cron APP` shows it, read from its CronJob and the Jobs it made (pure).
import type { CronState, ScheduledRun } from './deployer.ts';
import type { CronRun } from '../shapes/cron.ts';
import type { V1CronJob, V1Job } from '../kube/types.ts';
import { LABEL } from '../kube/labels.ts';

function iso(t: Date | string | undefined | null): string | null {
  if (!t) return null;
  return t instanceof Date ? t.toISOString() : String(t);
}

/** How one Job went: its Complete or Failed condition, else running (which includes waiting for its pod). */
export function jobRun(j: V1Job): CronRun {
  const conditions = j.status?.conditions ?? [];
  const done = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const failed = done('Failed');
  const complete = done('Complete');
  const base = { job: j.metadata?.name ?? '', startedAt: iso(j.status?.startTime ?? j.metadata?.creationTimestamp), finishedAt: iso(j.status?.completionTime ?? failed?.lastTransitionTime) };
  if (complete) return { ...base, result: 'succeeded' };
  if (failed) return { ...base, result: 'failed', ...(failed.reason ? { reason: failed.reason } : {}) };
  return { ...base, finishedAt: null, result: 'running' };
}

/** A CronJob's task id, suspension and last schedule, with its newest Job's run (by start, then creation). */
export function cronState(c: V1CronJob, jobs: readonly V1Job[]): CronState {
  const id = c.metadata?.labels?.[LABEL.cron] ?? '';
  const mine = jobs.filter((j) => j.metadata?.labels?.[LABEL.cron] === id).map(jobRun);
  const newest = mine.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))[0];
  return { id, suspended: c.spec?.suspend === true, lastScheduled: iso(c.status?.lastScheduleTime), lastRun: newest ?? null };
}

/** The Jobs' runs that their CronJobs started by schedule (cron:run marks its own `manual`), of Slipway's apps. */
export function scheduledRuns(jobs: readonly V1Job[]): ScheduledRun[] {
  return jobs.filter((j) => j.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'] !== 'manual' && j.metadata?.labels?.[LABEL.instance] && j.metadata?.labels?.[LABEL.cron])
    .map((j) => ({ ...jobRun(j), app: j.metadata!.labels![LABEL.instance]!, id: j.metadata!.labels![LABEL.cron]! }));
}
