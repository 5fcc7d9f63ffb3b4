// An app's builds as `builds APP --json` lists them.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** One build of `builds APP --json`: everything but where its log file is. */
export const BuildSummarySchema = Type.Object({
  id: Type.Integer(),
  app: Type.String(),
  commit: Type.String(),
  status: Type.String({ description: 'running, succeeded or failed' }),
  image: Nullable(Type.String({ description: 'The image it made (when it succeeded).' })),
  startedAt: Time,
  finishedAt: Nullable(Time),
}, { additionalProperties: false });
/** A build as listed. */
export type BuildSummary = Static<typeof BuildSummarySchema>;
