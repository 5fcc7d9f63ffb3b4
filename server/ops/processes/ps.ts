// An app's processes: what runs (ps), how many of each type (ps:scale), stopping and starting
// types while keeping their formation (ps:stop, ps:start), fresh instances (ps:restart), and how
// long the previous release's web instances stay warm for an instant rollback (ps:warm).
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import { RELEASE_TYPE } from '../../deploy/workload.ts';
import { MAX_APP_PODS } from '../../deploy/quota.ts';
import type { ProcessStatus } from '../../deploy/deployer.ts';
import { MAX_WARM_SECONDS, parseWarmWindow } from '../../config.ts';
import { changeSetting, deployedRelease, rollOut } from '../rollout.ts';
import { scaleRefusal } from '../storage/volumes.ts';
import { warmDefault } from '../releases/release.ts';
import type { Actor, Progress } from '../actor.ts';
import type { ProcessEntry as ProcessEntryShape, WarmResult, WarmWindow } from '../../shapes/processes.ts';
import { autoscaleEntry, autoscaledRefusal } from './autoscale-view.ts';

/** An autoscaled type's autoscaler as ps shows it. */
type AutoscaleView = NonNullable<ProcessEntryShape['autoscale']>;

/**
 * Most instances one process type may be scaled to: a typo guard only, as high as any app's quota
 * may go, so that within it the app's quota is what answers (reapply checks it, naming the limit).
 */
export const MAX_SCALE = MAX_APP_PODS;

/** One process type as ps shows it: the deployer's status (its instances typed, where the wire's ProcessEntry passes them through loosely), whether ps:stop stopped it, for web since when the app sleeps, and its autoscaler. */
export type ProcessEntry = ProcessStatus & { stopped: boolean; asleep?: { since: string }; autoscale?: AutoscaleView };

/** ps --json: each process type's desired and ready instances; a warm set (`warm`) comes after those that serve. */
export async function listProcesses(actor: Actor, app: string): Promise<ProcessEntry[]> {
  const deployer = requireDeployer(actor.services);
  const rules = actor.services.store.autoscale.all(app);
  const [status, autoscalers] = await Promise.all([
    deployer.runtime.status(app),
    // Asked only of an app with autoscaled types; ps still answers when the cluster does not.
    rules.length ? deployer.autoscale.states(app).catch(() => []) : [],
  ]);
  const stopped = actor.services.store.stopped.all(app);
  const serving = status.filter((p) => !p.warm);
  // A sleeping app's web set is at zero until its next request (ps:sleep).
  const since = actor.services.store.sleep.asleepSince(app);
  const asleep = (type: string) => (since && type === 'web' ? { asleep: { since } } : {});
  const autoscale = (type: string) => {
    const rule = stopped.includes(type) ? undefined : rules.find((r) => r.process === type);
    return rule ? { autoscale: autoscaleEntry(rule, autoscalers.find((a) => a.type === type)) } : {};
  };
  // A warm set is an earlier release's, outside the traffic (and its autoscaler): ps:stop is about what serves.
  return [...serving.map((p) => ({ ...p, stopped: stopped.includes(p.type), ...asleep(p.type), ...autoscale(p.type) })), ...status.filter((p) => p.warm).map((p) => ({ ...p, stopped: false }))];
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
  const autoscaled = store.autoscale.all(app);
  for (const [type, count] of Object.entries(formation)) {
    checkScale(type, count, types);
    // ps:scale means exactly this many: on an autoscaled type it would be overruled within 15 s
    // (or silently mean a min), so it says how to change the bounds or end the autoscaling instead.
    const rule = autoscaled.find((r) => r.process === type);
    if (rule) throw new UserError(autoscaledRefusal(app, rule));
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
    await deployer.rollout.restart(app, { ...(type !== undefined ? { process: type } : {}), transcript: p.transcript, signal: p.signal });
  });
  return { process: type ?? null };
}

/** ps:warm APP: how long the previous release's web instances stay warm after a deploy of the app. */
export function warmWindow(actor: Actor, app: string): WarmWindow {
  return warmDefault(actor.services, app);
}

/** A window as given (ps:warm's word, or a number of seconds through the API): seconds, null for `default`; one sentence otherwise. */
export function warmSeconds(given: string | number): number | null {
  if (given === 'default') return null;
  const seconds = typeof given === 'number'
    ? (Number.isInteger(given) && given >= 0 && given <= MAX_WARM_SECONDS ? given : undefined)
    : parseWarmWindow(given);
  if (seconds === undefined) {
    throw new UserError(`${shown(String(given))} is not a warm window; give seconds (300) or a duration like 90s, 5m or 1h (at most 24h), 0 to turn it off, or default.`);
  }
  return seconds;
}

/**
 * ps:warm APP DURATION: stores the app's warm window (`default`: SLIPWAY_WARM_ROLLBACK's), used
 * from its next deploy on. A window of 0 also stops the warm set the app has now, under its lock
 * (a deploy or rollback may be using it), and is taken back if that fails.
 */
export async function setWarmWindow(actor: Actor, app: string, given: string | number, progress: Progress): Promise<WarmResult> {
  const { services } = actor;
  const { store } = services;
  const seconds = warmSeconds(given);
  const before = store.apps.get(app)?.warmSeconds ?? null;
  let dropped = 0;
  if ((seconds ?? warmDefault(services, app).seconds) > 0) {
    // Nothing that runs changes: the next deploy reads it (a warm set keeps the window it got).
    store.apps.setWarmSeconds(app, seconds);
  } else {
    await changeSetting(actor, app, {
      what: 'ps:warm',
      announce: `Turning warm rollback off for ${app}...`,
      write: () => store.apps.setWarmSeconds(app, seconds),
      undo: () => store.apps.setWarmSeconds(app, before),
      apply: async (_running, p, deployer) => {
        dropped = await deployer.warm.dropWarm(app, { now: Date.now(), all: true });
        if (dropped) p.transcript.detail(`Stopped ${dropped} warm set${dropped > 1 ? 's' : ''} of web instances`);
      },
    }, progress);
  }
  return { ...warmWindow(actor, app), dropped };
}
