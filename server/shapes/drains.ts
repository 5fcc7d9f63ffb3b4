// Log drains as drains, drains:add and drains:info show them (issue 39).
import { Type, type Static } from 'typebox';

/** One drain of `drains --json`: never a header's value. */
export const DrainViewSchema = Type.Object({
  token: Type.String({ description: "The drain's Heroku-style token (`d.` + a UUID), the host field of every syslog line it receives." }),
  app: Type.Union([Type.String(), Type.Null()], { description: 'The app whose lines it receives; null for a global drain (every app).' }),
  url: Type.String(),
  headers: Type.Array(Type.String(), { description: 'The names of the headers an OTLP drain sends (their values are never shown).' }),
  createdBy: Type.String(),
  createdAt: Type.String(),
}, { additionalProperties: false });
/** A drain as drains lists it. */
export type DrainView = Static<typeof DrainViewSchema>;

/** One drain of `drains:info --json`: how its delivery goes, from the collector's metrics and log now. */
export const DrainStatusSchema = Type.Object({
  ...DrainViewSchema.properties,
  lastSuccessAt: Type.Union([Type.String(), Type.Null()], { description: 'When drains:info last saw the count of lines sent grow.' }),
  lastError: Type.Union([Type.Object({ at: Type.String(), message: Type.String() }, { additionalProperties: false }), Type.Null()], { description: "The last failed attempt the collector's log still holds." }),
  sent: Type.Number({ description: 'Lines the endpoint took, since each collector pod started.' }),
  failed: Type.Number({ description: 'Lines given up on after retries.' }),
  queued: Type.Number({ description: "Batches waiting in the drain's queue." }),
  dropped: Type.Number({ description: "Lines dropped because the drain's queue was full." }),
}, { additionalProperties: false });
/** A drain with how its delivery goes. */
export type DrainStatus = Static<typeof DrainStatusSchema>;

/** `drains:info --json`. */
export const DrainsInfoSchema = Type.Object({
  drains: Type.Array(DrainStatusSchema),
  collector: Type.Object({
    pods: Type.Integer({ minimum: 0, description: 'Collector pods running (one per node).' }),
    ready: Type.Integer({ minimum: 0 }),
    unread: Type.Array(Type.String(), { description: 'Pods whose metrics or log could not be read, and why.' }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
/** drains:info's answer. */
export type DrainsInfo = Static<typeof DrainsInfoSchema>;
