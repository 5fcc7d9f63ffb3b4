// The background rounds as `rounds --json` shows them (ops/rounds.ts runs them).
import { Type, type Static } from 'typebox';
import { Nullable } from './common.ts';

/** One background round: what it does, how often, and how its last run went. */
export const RoundSchema = Type.Object({
  name: Type.String(),
  what: Type.String({ description: 'What the round does.' }),
  intervalMs: Type.Integer({ description: 'How often it runs; 0: only on demand.' }),
  runs: Type.Integer({ description: 'Rounds finished since the server started.' }),
  running: Type.Boolean(),
  lastStarted: Nullable(Type.String({ description: 'ISO time.' })),
  lastFinished: Nullable(Type.String({ description: 'ISO time.' })),
  lastError: Nullable(Type.String({ description: "The last round's error; null when it succeeded." })),
}, { additionalProperties: false });
/** A background round as rounds --json shows it. */
export type Round = Static<typeof RoundSchema>;
