// TypeBox schemas the API's routes share: the error body, path parameters, and the job.
import { Type, type TSchema } from 'typebox';

/** Every error the API answers with: one sentence, a code, and for internal errors the id in the log. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    message: Type.String({ description: 'One sentence saying what went wrong.' }),
    code: Type.Enum(['not_found', 'unauthorized', 'forbidden', 'bad_request', 'invalid', 'conflict', 'too_large', 'too_many', 'unavailable', 'internal'], { description: 'What kind of error: 400 bad_request, 401 unauthorized, 403 forbidden, 404 not_found, 409 conflict, 413 too_large, 422 invalid, 429 too_many, 500 internal, 503 unavailable (the cluster lacks what the request needs, such as its metrics API).' }),
    id: Type.Optional(Type.String({ description: 'For internal errors: the id under which the server log has the details.' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false, description: 'The error: one sentence, its code, and for a 500 the id under which the server log has the details.' });

/** An app's name in a path: a DNS-1123 label (the transport answers 404 for anything else). */
export const AppName = Type.String({ minLength: 1, maxLength: 63, description: 'The app name.' });

/** `/apps/:app` routes' parameters. */
export const AppParams = Type.Object({ app: AppName }, { additionalProperties: false });

/** A schema that may be null. */
export function Nullable<T extends TSchema>(t: T) {
  return Type.Union([t, Type.Null()]);
}

/** An ISO 8601 time as the store keeps it. */
export const Time = Type.String({ description: 'ISO 8601 time (UTC).' });

/** An object whose fields are passed through as the operation returns them (nested data the document does not spell out). */
export function Loose(description: string) {
  return Type.Object({}, { additionalProperties: true, description });
}

/** A config var's name (the operation checks it further: letters, digits, underscores). */
export const ConfigKey = Type.String({ minLength: 1, maxLength: 256 });

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
}, { additionalProperties: false });

/** What a change that rolls out answers: 202 and the job that runs it. */
export const Accepted = Type.Object({ job: JobSchema }, { additionalProperties: false, description: 'The change rolls out as this job; follow it at /api/v1/jobs/{id}/events.' });
