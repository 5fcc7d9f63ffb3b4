// Building blocks of the API's shapes: a nullable value, a time, and nested data passed through.
// Each shape file of server/shapes/ exports a TypeBox schema (the route's response schema, and so
// the OpenAPI document) and its static type, which the operations return and the dashboard reads
// (type-only): one description per shape.
import { Type, type TSchema, type TSchemaOptions } from 'typebox';

/** A schema that may be null (`options`: the description of the whole). */
export function Nullable<T extends TSchema>(t: T, options?: TSchemaOptions) {
  return Type.Union([t, Type.Null()], options);
}

/** An ISO 8601 time as the store keeps it. */
export const Time = Type.String({ description: 'ISO 8601 time (UTC).' });

/** An object whose fields are passed through as the operation returns them (nested data the document does not spell out). */
export function Loose(description: string) {
  return Type.Object({}, { additionalProperties: true, description });
}
