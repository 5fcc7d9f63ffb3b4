// Scheduled runs in the audit log (issue 39): a Job that a CronJob started by its schedule is the
// platform's own work, done for the app (cron:run's runs are recorded by the command that started
// them). The round lists the cluster's Jobs of scheduled tasks (one list) and records each run
// that ended since the last one it recorded: a setting keeps how far it got (the time and the
// Jobs that ended then), so a restart neither repeats nor skips them; the first round starts from then. A run whose Job the cluster
// removed before a round saw it (a CronJob keeps its last few) is not recorded: keep the round's
// interval (SLIPWAY_CRON_AUDIT_S) below the shortest schedule's.
import type { Services } from '../../context.ts';
import type { ScheduledRun } from '../../deploy/deployer.ts';

/** The setting holding how far the round got: the end time of the newest run recorded (ISO, whole seconds) and the Jobs that ended then. */
const RECORDED = 'audit.cron-recorded';

interface Recorded { until: string; jobs: string[] }

/** The round's task: records the scheduled runs that ended since the last round. */
export function cronAuditRound(services: Pick<Services, 'store' | 'deployer' | 'audit'>): () => Promise<void> {
  return async () => {
    const cron = services.deployer?.cron;
    if (!cron) return;
    const { store } = services;
    const raw = store.settings.get(RECORDED);
    if (raw === undefined) {
      store.settings.set(RECORDED, JSON.stringify({ until: new Date().toISOString(), jobs: [] } satisfies Recorded));
      return;
    }
    const { until, jobs } = JSON.parse(raw) as Recorded;
    const key = (r: ScheduledRun) => `${r.app}/${r.job}`;
    const done = new Set(jobs);
    const ended = (await cron.scheduledRuns())
      .filter((r): r is ScheduledRun & { finishedAt: string } => r.finishedAt !== null && (r.finishedAt > until || (r.finishedAt === until && !done.has(key(r)))))
      .filter((r) => store.apps.get(r.app) !== undefined)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
    if (ended.length === 0) return;
    for (const r of ended) {
      services.audit.record({
        actor: 'slipway', interface: 'cron', action: 'cron:run', app: r.app, object: r.id,
        outcome: r.result === 'succeeded' ? 'ok' : 'failed',
        meta: { job: r.job, startedAt: r.startedAt, finishedAt: r.finishedAt, ...(r.reason ? { reason: r.reason } : {}) },
      });
    }
    const newest = ended.at(-1)!.finishedAt;
    const atNewest = [...(newest === until ? jobs : []), ...ended.filter((r) => r.finishedAt === newest).map(key)];
    store.settings.set(RECORDED, JSON.stringify({ until: newest, jobs: atNewest } satisfies Recorded));
  };
}
