// A job as every interface shows it: `jobs:info --json`, the API's answers and events, the dashboard.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** The JOB object of `jobs:info --json`. */
export const JobSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'What it does, as the command is called: config:set, rollback, ps:scale, push…' }),
  app: Type.String(),
  by: Type.String({ description: 'The key that started it.' }),
  status: Type.Enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  createdAt: Time,
  startedAt: Nullable(Time),
  finishedAt: Nullable(Time),
  release: Nullable(Type.Integer({ description: 'The release the app runs after the job (when it succeeded).' })),
  error: Nullable(Type.String({ description: 'Why it failed or stopped, in one sentence.' })),
  credential: Nullable(Type.String({ description: 'How its starter proved who it is: `key` (SSH), `local` (the CLI on the server), `token NAME` (an access token: the API, the client CLI, an assistant through `slipway mcp`), `session …` (the dashboard); null for jobs from before schema 31.' })),
}, { additionalProperties: false });
/** The public shape of a job (the API contract's JOB): a stored one without its file and origin. */
export type Job = Static<typeof JobSchema>;

/** What a change that rolls out answers: 202 and the job that runs it. */
export const AcceptedSchema = Type.Object({ job: JobSchema }, { additionalProperties: false, description: 'The change rolls out as this job; follow it at /api/v1/jobs/{id}/events.' });
/** A change's 202 answer: the job to follow. */
export type Accepted = Static<typeof AcceptedSchema>;
