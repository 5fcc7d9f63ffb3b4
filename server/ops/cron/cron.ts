// Scheduled tasks (app.json `cron`, Dokku's cron): the current release's tasks with how their runs
// went (`cron`), a run now (`cron:run`), and suspending or resuming one (`cron:suspend`,
// `cron:resume`), which is stored by task id and rolled out like any setting.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import type { CronTask } from '../../model.ts';
import { CRON_PROCESS } from '../../deploy/workload.ts';
import { nextRun } from './cron-spec.ts';
import { changeSetting, deployedRelease } from '../rollout.ts';
import type { Actor, Progress } from '../actor.ts';
import type { CronEntry, CronSuspension, StartedCronRun } from '../../shapes/cron.ts';

/** The current release's tasks; none when the app never deployed. */
function tasksOf(actor: Actor, app: string): CronTask[] {
  return actor.services.store.releases.current(app)?.cron ?? [];
}

/** The task `id` names, or one sentence saying there is none. */
function taskOf(actor: Actor, app: string, id: string): CronTask {
  const task = tasksOf(actor, app).find((t) => t.id === id);
  if (!task) throw new UserError(`${app} has no scheduled task ${shown(id)}; \`cron ${app}\` lists them.`);
  return task;
}

/** cron: the app's scheduled tasks with their suspension, last run and next run. */
export async function listCron(actor: Actor, app: string): Promise<CronEntry[]> {
  const { store, deployer } = actor.services;
  const tasks = tasksOf(actor, app);
  if (tasks.length === 0) return [];
  const suspended = new Set(store.cron.suspended(app));
  const states = deployer && store.releases.current(app)?.image ? await deployer.cron.cronStatus(app) : [];
  const now = new Date();
  return tasks.map((t) => {
    const off = t.maintenance === true || suspended.has(t.id);
    return {
      id: t.id, schedule: t.schedule, command: t.command, concurrencyPolicy: t.concurrencyPolicy,
      suspended: off, maintenance: t.maintenance === true,
      lastRun: states.find((s) => s.id === t.id)?.lastRun ?? null,
      nextRun: off ? null : nextRun(t.schedule, now),
    };
  });
}

/** cron:run: starts a task now, as a Job from its CronJob; its output goes to `logs APP -p cron`. */
export async function runCronNow(actor: Actor, app: string, id: string): Promise<StartedCronRun> {
  const deployer = requireDeployer(actor.services);
  deployedRelease(actor.services, app);
  taskOf(actor, app, id);
  const job = await deployer.cron.runCron(app, id);
  return { id, job, logs: `logs ${app} -p ${CRON_PROCESS} -t` };
}

/**
 * cron:suspend and cron:resume: stores the choice by task id (it holds for later releases while
 * the task keeps its command and schedule) and rolls it out to the task's CronJob when the app runs.
 */
export async function suspendCron(actor: Actor, app: string, id: string, suspend: boolean, progress: Progress): Promise<CronSuspension> {
  const { store } = actor.services;
  const task = taskOf(actor, app, id);
  const was = store.cron.suspended(app).includes(id);
  const verb = suspend ? 'cron:suspend' : 'cron:resume';
  if (was !== suspend) {
    await changeSetting(actor, app, {
      what: verb,
      announce: `${suspend ? 'Suspending' : 'Resuming'} scheduled task ${id} of ${app}...`,
      write: () => { store.cron.setSuspended(app, id, suspend); },
      undo: () => { store.cron.setSuspended(app, id, was); },
    }, progress);
  }
  const maintenance = task.maintenance === true;
  return { id, suspended: suspend || maintenance, maintenance };
}
