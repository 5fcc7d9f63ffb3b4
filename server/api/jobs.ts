// Jobs: the changes that rolled out or roll out now, read back, followed and cancelled with the
// same rules as jobs:* over SSH (jobs/access.ts).
import { Type } from 'typebox';
import { ApiError, route, type ApiCall } from './route.ts';
import { AppParams } from './schemas.ts';
import { JobSchema } from '../shapes/jobs.ts';
import { hasEnded, jobJson } from '../jobs/job.ts';
import { followJob, JOBS_LISTED, listJobs, visibleJob } from '../jobs/access.ts';
import type { JobRow } from '../store/jobs.ts';

const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The job id.' }) }, { additionalProperties: false });

/** The job with this id if the caller may see it, else 404 (as for an id that does not exist). */
function visible(call: ApiCall, id: string): JobRow {
  return visibleJob(call.services, call.identity, id);
}

export const jobRoutes = [
  route({
    method: 'GET', url: '/apps/:app/jobs', tag: 'jobs', need: 'read',
    summary: `An app's jobs, newest first, at most ${JOBS_LISTED} (= jobs APP --json)`,
    params: AppParams,
    response: { 200: Type.Array(JobSchema) },
    handle: (call) => ({ status: 200, json: listJobs(call.services, call.params.app) }),
  }),
  route({
    method: 'GET', url: '/jobs/:id', tag: 'jobs', need: 'read',
    summary: 'One job (= jobs:info ID --json)',
    params: JobParams,
    response: { 200: JobSchema },
    handle: (call) => ({ status: 200, json: jobJson(visible(call, call.params.id)) }),
  }),
  route({
    method: 'GET', url: '/jobs/:id/output', tag: 'jobs', need: 'read', produces: 'text',
    summary: "A job's transcript so far, as plain text (= jobs:output ID)",
    params: JobParams,
    response: { 200: Type.String() },
    handle: async (call) => {
      const job = visible(call, call.params.id);
      const lines: string[] = [];
      // An aborted signal: what there is now, and done (a snapshot).
      await call.services.jobs.follow(job, (l) => { lines.push(...l); }, AbortSignal.abort());
      return { status: 200, text: lines.length ? lines.join('\n') + '\n' : '' };
    },
  }),
  route({
    method: 'GET', url: '/jobs/:id/events', tag: 'jobs', need: 'read', produces: 'sse',
    summary: "A job's transcript as Server-Sent Events: `line` per line, then `end` with the job (a finished job replays and ends)",
    params: JobParams,
    response: { 200: Type.String({ description: 'text/event-stream: event: line (data: one transcript line), then event: end (data: the job as JSON).' }) },
    handle: (call) => {
      const job = visible(call, call.params.id);
      return {
        events: async (send, signal) => {
          const ended = await followJob(call.services, call.identity, job, async (lines) => {
            for (const l of lines) await send('line', l);
          }, signal);
          if (!signal.aborted) await send('end', JSON.stringify(jobJson(ended)));
        },
      };
    },
  }),
  route({
    method: 'POST', url: '/jobs/:id/cancel', tag: 'jobs', need: 'deploy',
    summary: 'Stop a running job (what it changed is put back, as for a failed deploy); answers once it stopped',
    params: JobParams,
    response: { 200: JobSchema },
    handle: async (call) => {
      const job = visible(call, call.params.id);
      if (hasEnded(job.status)) throw new ApiError(409, 'conflict', `Job ${job.id} has already ended (${job.status}).`);
      const ended = await call.services.jobs.cancel(job, call.identity.name);
      return { status: 200, json: jobJson(ended) };
    },
  }),
];
