// The HTTP health checks each process type runs with. A release brings the ones its app.json
// declares; setCheck replaces one kind of check of a type for every later release too, and is
// rolled out at once (same release, new probes) through changeSetting.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { checkType, healthCheck } from '../apps/app-json.ts';
import { mergeChecks } from '../releases/release.ts';
import { changeSetting } from '../rollout.ts';
import type { Actor, Progress } from '../actor.ts';
import type { CheckList, RemovedCheck, StoredCheck } from '../../shapes/checks.ts';

/** checks --json: each process type's checks, app.json's with checks:set's replacing the same kind. */
export function listChecks(actor: Actor, app: string): CheckList {
  const { store } = actor.services;
  return mergeChecks(store.releases.current(app)?.checks ?? {}, store.checks.all(app));
}

/** A check to set on a process type: its kind, path and timings, as app.json's healthchecks spell them. */
export interface CheckInput {
  process: string;
  type: unknown;
  path: unknown;
  port?: number;
  initialDelay?: number;
  timeout?: number;
  attempts?: number;
  wait?: number;
}

/** checks:set: validates the check, stores it and rolls it out when the app runs; returns it as stored. */
export async function setCheck(actor: Actor, app: string, input: CheckInput, progress: Progress): Promise<StoredCheck> {
  const { store } = actor.services;
  const { process, ...raw } = input;
  const current = store.releases.current(app);
  const types = current?.processes.map((p) => p.type) ?? [];
  if (current && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  const check = healthCheck(raw, 'checks:set');
  if (process !== 'web' && check.port === undefined) throw new UserError('checks:set: a check of a process other than web needs --port.');
  const before = store.checks.all(app)[process]?.find((c) => c.type === check.type);
  await changeSetting(actor, app, {
    what: 'checks:set',
    announce: `Setting the ${check.type} check of ${process} to GET ${check.path}...`,
    write: () => store.checks.set(app, process, check),
    undo: () => (before ? store.checks.set(app, process, before) : store.checks.remove(app, process, check.type)),
  }, progress);
  return { process, check };
}

/** checks:unset: removes a check checks:set made (the release's app.json check, if any, applies again). */
export async function unsetCheck(actor: Actor, app: string, process: string, kind: unknown, progress: Progress): Promise<RemovedCheck> {
  const { store } = actor.services;
  const type = checkType(kind, 'checks:unset');
  const before = store.checks.all(app)[process]?.find((c) => c.type === type);
  if (!before) throw new UserError(`${app} has no ${type} check of ${shown(process)} set with checks:set.`);
  await changeSetting(actor, app, {
    what: 'checks:unset',
    announce: `Removing the ${type} check of ${process}...`,
    write: () => store.checks.remove(app, process, type),
    undo: () => store.checks.set(app, process, before),
  }, progress);
  return { process, type };
}
