// An app's HTTP health checks as checks, checks:set and checks:unset show them. A check is the
// model's HealthCheck (model.ts imports nothing, so the noun stays there): the schema passes it
// through as the operations return it, and gives it that type.
import { Type, type Static } from 'typebox';
import type { HealthCheck } from '../model.ts';
import { Loose } from './common.ts';

/** One check: the model's HealthCheck. */
export const HealthCheckSchema = Type.Unsafe<HealthCheck>(Loose('A check: type, path, port, initialDelay, timeout, attempts, wait, and content (text the body must contain; from app.json).'));

/** `checks APP --json`: each process type's checks, app.json's with checks:set's replacing the same kind. */
export const CheckListSchema = Type.Record(Type.String(), Type.Array(HealthCheckSchema));
/** Each process type's checks. */
export type CheckList = Static<typeof CheckListSchema>;

/** What checks:set answers: the check as stored. */
export const StoredCheckSchema = Type.Object({ process: Type.String(), check: HealthCheckSchema }, { additionalProperties: false });
/** A check checks:set stored. */
export type StoredCheck = Static<typeof StoredCheckSchema>;

/** What checks:unset answers: the process type and the kind of check removed. */
export const RemovedCheckSchema = Type.Object({ process: Type.String(), type: Type.String() }, { additionalProperties: false });
/** A check checks:unset removed. */
export type RemovedCheck = Static<typeof RemovedCheckSchema>;
