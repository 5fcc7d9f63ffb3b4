// TypeBox schemas the API's routes share: the error body and path parameters (the shapes of
// what they answer live in server/shapes/, beside the operations that return them).
import { Type } from 'typebox';

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

/** A config var's name (the operation checks it further: letters, digits, underscores). */
export const ConfigKey = Type.String({ minLength: 1, maxLength: 256 });
