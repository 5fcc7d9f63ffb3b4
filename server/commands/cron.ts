// cron, cron:run, cron:suspend, cron:resume: the scheduled tasks of app.json `cron` (Dokku's
// cron:list, cron:run, cron:suspend and cron:resume; Heroku Scheduler's jobs).
import { listCron, runCronNow, suspendCron } from '../ops/cron/cron.ts';
import type { CronEntry } from '../shapes/cron.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** How the last run went, in one cell: `succeeded 2026-01-01T00:00:00Z`, or `-` before the first. */
function lastRun(e: CronEntry): string {
  const r = e.lastRun;
  if (!r) return '-';
  return `${r.result}${r.reason ? ` (${r.reason})` : ''} ${r.startedAt ?? ''}`.trim();
}

export const cronCommands: Command[] = [
  {
    name: 'cron',
    usage: 'APP',
    summary: "List an app's scheduled tasks (app.json cron): schedule, command, last and next run, last result",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const tasks = await listCron(actorOf(ctx), app);
      return listing(tasks, (out) => {
        if (tasks.length === 0) return out.line(`${app} has no scheduled tasks; declare them in app.json "cron" and push.`);
        out.heading(`${app} scheduled tasks (UTC)`);
        out.table(tasks.map((t) => [t.id, t.schedule, t.command, t.suspended ? (t.maintenance ? 'maintenance' : 'suspended') : 'active', lastRun(t), t.nextRun ?? '-']),
          ['ID', 'SCHEDULE', 'COMMAND', 'STATE', 'LAST RUN', 'NEXT RUN']);
      });
    },
  },
  {
    name: 'cron:run',
    usage: 'APP ID',
    summary: 'Run a scheduled task now, in the background; its output goes to `logs APP -p cron`',
    access: 'app',
    args: { min: 2, max: 2 },
    json: true,
    run: async (ctx, app, [id]) => {
      const r = await runCronNow(actorOf(ctx), app, id!);
      return listing(r, (out) => {
        out.line(`Started ${r.job}`);
        out.line(`Follow its output with: ${r.logs}`);
      });
    },
  },
  ...([['cron:suspend', true], ['cron:resume', false]] as const).map(([name, suspend]): Command => ({
    name,
    usage: 'APP ID',
    summary: suspend ? 'Stop scheduling a task (kept for later releases until cron:resume)' : 'Schedule a suspended task again',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [id]) => {
      const r = await suspendCron(actorOf(ctx), app, id!, suspend, progressOf(ctx));
      ctx.out.line(suspend ? `Scheduled task ${r.id} of ${app} is suspended.`
        : r.maintenance ? `Scheduled task ${r.id} of ${app} is resumed, but app.json marks it "maintenance": it runs once a release's app.json no longer does.`
          : `Scheduled task ${r.id} of ${app} is active.`);
    },
  })),
];
