// jobs, jobs:info, jobs:output, jobs:cancel: the changes that rolled out (or roll out now), read
// back from any connection, by whoever may use the job's app (jobs/access.ts).
import { jobJson } from '../jobs/job.ts';
import { followJob, JOBS_LISTED, listJobs, visibleJob } from '../jobs/access.ts';
import type { JobRow } from '../store/jobs.ts';
import { defineCommand, listing, type Command, type CommandContext } from './types.ts';

/** The job with this id if the caller may see it; else the one "not found" sentence. */
function visible(ctx: CommandContext, id: string): JobRow {
  return visibleJob(ctx.services, ctx.identity, id);
}

const JOB_ARG = { min: 1, max: 1 };

export const jobCommands: Command[] = [
  {
    name: 'jobs',
    usage: 'APP',
    summary: `List an app's jobs (the changes that rolled out), newest first (at most ${JOBS_LISTED})`,
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const jobs = listJobs(ctx.services, app);
      return listing(jobs, (out) => {
        if (jobs.length === 0) return out.line(`${app} has no jobs yet.`);
        out.heading(`${app} Jobs`);
        out.table(jobs.map((j) => [j.id, j.kind, j.status, j.release === null ? '' : `v${j.release}`, j.by, j.createdAt]), ['ID', 'KIND', 'STATUS', 'RELEASE', 'BY', 'CREATED']);
      });
    },
  },
  {
    name: 'jobs:info',
    usage: 'ID',
    summary: 'Show one job: what it did, who started it, how it ended',
    access: 'any',
    args: JOB_ARG,
    json: true,
    run: (ctx, [id]) => {
      const job = jobJson(visible(ctx, id!));
      return listing(job, (out) => {
        out.heading(`Job ${job.id}`);
        out.pairs([
          ['Kind', job.kind], ['App', job.app], ['By', job.by], ['Status', job.status],
          ['Created', job.createdAt], ['Started', job.startedAt ?? ''], ['Finished', job.finishedAt ?? ''],
          ['Release', job.release === null ? '' : `v${job.release}`], ['Error', job.error ?? ''],
        ]);
      });
    },
  },
  defineCommand({
    name: 'jobs:output',
    usage: 'ID [-t]',
    summary: "Print a job's transcript; -t follows a running one to its end (exit 0 only if it succeeded)",
    access: 'any',
    args: JOB_ARG,
    flags: { tail: { type: 'boolean', short: 't', help: 'follow the job until it ends; the exit code says whether it succeeded' } },
    run: async (ctx, [id], flags) => {
      const job = visible(ctx, id!);
      const write = async (lines: string[]) => {
        for (const l of lines) ctx.out.line(l);
        await ctx.drained();
      };
      if (flags.tail !== true) {
        // What there is now, and done: a snapshot, like builds:output; it succeeds whatever the job's state.
        await ctx.services.jobs.follow(job, write, AbortSignal.abort());
        return;
      }
      // Followed like `logs -t`: a key that loses the job's app stops following at once.
      const ended = await followJob(ctx.services, ctx.identity, job, write, ctx.signal);
      // As `git push` does for a deploy: the exit code says whether the change went through.
      return { exitCode: ended.status === 'succeeded' ? 0 : 1 };
    },
  }),
  {
    name: 'jobs:cancel',
    usage: 'ID',
    summary: 'Stop a running job (what it changed is put back, as for a failed deploy)',
    access: 'any',
    args: JOB_ARG,
    run: async (ctx, [id]) => {
      const job = visible(ctx, id!);
      const ended = ctx.services.jobs.cancel(job, ctx.identity.name);
      // Waits for the job to stop, so that once this returns the app's lock is free again.
      const now = await Promise.race([ended, new Promise<undefined>((resolve) => ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true }))]);
      if (!now) return;
      ctx.out.line(now.status === 'cancelled' ? `Cancelled job ${now.id} (${now.kind} of ${now.app}).` : `Job ${now.id} ended ${now.status} before it could be stopped.`);
    },
  },
];
