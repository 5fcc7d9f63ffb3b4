// An app's processes: what runs (ps), how many of each type (ps:scale), stopping and starting
// types while keeping their formation (ps:stop, ps:start), and fresh instances (ps:restart).
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { requireDeployer } from '../context.ts';
import { RELEASE_TYPE } from '../deploy/workload.ts';
import { MAX_APP_PODS } from '../deploy/quota.ts';
import type { ProcessStatus } from '../deploy/deployer.ts';
import { changeSetting, deployedRelease, rollOut } from './rollout.ts';
import { scaleRefusal } from './volumes.ts';
import type { Actor, Progress } from './actor.ts';

/**
 * Most instances one process type may be scaled to: a typo guard only, as high as any app's quota
 * may go, so that within it the app's quota is what answers (reapply checks it, naming the limit).
 */
export const MAX_SCALE = MAX_APP_PODS;

/** One process type as ps shows it: the deployer's status, and whether ps:stop stopped it. */
export type ProcessEntry = ProcessStatus & { stopped: boolean };

/** ps --json: each process type's desired and ready instances. */
export async function listProcesses(actor: Actor, app: string): Promise<ProcessEntry[]> {
  const status = await requireDeployer(actor.services).status(app);
  const stopped = actor.services.store.stopped.all(app);
  return status.map((p) => ({ ...p, stopped: stopped.includes(p.type) }));
}

/** The sentence for a process type the app does not have. */
function noSuchType(type: string, types: readonly string[]): UserError {
  return new UserError(`There is no ${shown(type)} process type; this app has ${types.join(', ') || 'none'}.`);
}

/** Checks one type's count against the app's process types and MAX_SCALE. */
export function checkScale(type: string, count: number, types: readonly string[]): void {
  if (!types.includes(type)) throw noSuchType(type, types);
  checkCount(type, count);
}

/** Checks a count alone: a whole number from 0 to MAX_SCALE (ps:scale, app.json formation). */
export function checkCount(type: string, count: unknown): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw new UserError(`${type} takes a whole number of instances, not ${shown(typeof count === 'object' ? JSON.stringify(count) : String(count))}.`);
  if (count > MAX_SCALE) throw new UserError(`${type} cannot be scaled above ${MAX_SCALE}.`);
  return count;
}

/** The process types a release runs (not its release command). */
function runningTypes(processes: readonly { type: string }[]): string[] {
  return processes.map((p) => p.type).filter((t) => t !== RELEASE_TYPE);
}

/** The process types ps:scale may set: those of the release that runs (none before the first deploy). */
export function scalableTypes(actor: Actor, app: string): string[] {
  return runningTypes(actor.services.store.releases.current(app)?.processes ?? []);
}

/** What ps:scale did: the counts set, and which of those types are stopped (they run at that count after ps:start). */
export interface ScaleResult {
  formation: Record<string, number>;
  stopped: string[];
}

/** ps:scale: sets how many instances of each type run, and applies it to what runs. */
export async function scale(actor: Actor, app: string, formation: Readonly<Record<string, number>>, progress: Progress): Promise<ScaleResult> {
  const { services } = actor;
  const { store } = services;
  requireDeployer(services);
  const types = runningTypes(deployedRelease(services, app).processes);
  const wanted = new Map<string, number>();
  // A type with a volume runs one instance at most; checked again under the lock, in `write`.
  const oneWriter = (counts: Readonly<Record<string, number>>) => {
    for (const [type, count] of Object.entries(counts)) {
      const refused = scaleRefusal(store.volumes.list(app), app, type, count);
      if (refused) throw new UserError(refused);
    }
  };
  for (const [type, count] of Object.entries(formation)) {
    checkScale(type, count, types);
    wanted.set(type, count);
  }
  oneWriter(formation);
  if (wanted.size === 0) throw new UserError('Nothing to scale: give TYPE=COUNT (for example web=2).');
  const set = Object.fromEntries(wanted);
  const summary = Object.entries(set).map(([k, v]) => `${k} at ${v}`).join(', ');
  let before: Record<string, number> = {};
  await changeSetting(actor, app, {
    what: 'ps:scale',
    requireRunning: true,
    announce: `Scaling ${app}: ${summary}...`,
    write: () => {
      oneWriter(set);
      before = store.formation.all(app);
      store.formation.set(app, set);
    },
    undo: () => store.formation.replace(app, before),
  }, progress);
  services.events.publish({ type: 'app', app, change: 'scaled' });
  return { formation: set, stopped: Object.keys(set).filter((t) => store.stopped.all(app).includes(t)) };
}

/** What ps:stop and ps:start did: the types stopped afterwards. */
export interface StopStartResult {
  stopped: string[];
}

/** ps:stop and ps:start: mark types stopped (0 instances) or started, keeping the formation, and apply. */
export async function stopOrStart(actor: Actor, app: string, type: string | undefined, stop: boolean, progress: Progress): Promise<StopStartResult> {
  const { services } = actor;
  const { store } = services;
  requireDeployer(services);
  const types = runningTypes(deployedRelease(services, app).processes);
  if (type !== undefined && !types.includes(type)) throw noSuchType(type, types);
  const before = store.stopped.all(app);
  const targets = type !== undefined ? [type] : stop ? types : before;
  const what = type ?? (stop ? 'all processes' : 'stopped processes');
  await changeSetting(actor, app, {
    what: stop ? 'ps:stop' : 'ps:start',
    requireRunning: true,
    announce: `${stop ? 'Stopping' : 'Starting'} ${what} of ${app}...`,
    write: () => (stop ? store.stopped.stop(app, targets) : store.stopped.start(app, targets)),
    undo: () => {
      store.stopped.start(app);
      store.stopped.stop(app, before);
    },
  }, progress);
  services.events.publish({ type: 'app', app, change: stop ? 'stopped' : 'started' });
  return { stopped: store.stopped.all(app) };
}

/** ps:restart: fresh instances of one type (or all), without a new release. */
export async function restart(actor: Actor, app: string, type: string | undefined, progress: Progress): Promise<{ process: string | null }> {
  const deployer = requireDeployer(actor.services);
  const types = deployedRelease(actor.services, app).processes.map((p) => p.type);
  if (type !== undefined && !types.includes(type)) throw noSuchType(type, types);
  await rollOut(actor, app, 'ps:restart', progress, async (p) => {
    p.transcript.raw(`Restarting ${type ?? 'all processes'} of ${app}...`);
    await deployer.restart(app, { ...(type !== undefined ? { process: type } : {}), transcript: p.transcript, signal: p.signal });
  });
  return { process: type ?? null };
}
