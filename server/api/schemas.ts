// TypeBox schemas the API's routes share: the error body, path parameters, and the job.
import { Type, type TSchema } from 'typebox';

/** Every error the API answers with: one sentence, a code, and for internal errors the id in the log. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    message: Type.String({ description: 'One sentence saying what went wrong.' }),
    code: Type.Union(['not_found', 'unauthorized', 'forbidden', 'bad_request', 'invalid', 'conflict', 'too_large', 'too_many', 'internal'].map((c) => Type.Literal(c))),
    id: Type.Optional(Type.String({ description: 'For internal errors: the id under which the server log has the details.' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false, $id: 'Error' });

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
