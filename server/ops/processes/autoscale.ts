// Autoscaled process types (ps:autoscale, ps:autoscale:off): a type's instances counted by an
// autoscaler between a min and a max, after its average CPU and/or memory use (percent of its
// limits). A rule is an app setting like the formation: stored, then the current release applied
// again (its autoscaler is one of its objects), taken back if that fails; every later deploy,
// rollback and restart applies it again.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import { quotaRefusal } from '../../deploy/quota.ts';
import type { AutoscaleRow } from '../../store/autoscale.ts';
import { changeSetting, deployedRelease } from '../rollout.ts';
import { deployable } from '../releases/release.ts';
import { scaleRefusal } from '../storage/volumes.ts';
import { MAX_SCALE, scalableTypes } from './ps.ts';
import type { Actor, Progress } from '../actor.ts';
import type { AutoscaleOff, AutoscaleRule } from '../../shapes/processes.ts';
import { sleepAfter } from './sleep.ts';

/** What ps:autoscale asks for; `min` defaults to 1. */
export interface AutoscaleInput {
  min?: number | undefined;
  max: number;
  cpu?: number | undefined;
  memory?: number | undefined;
}

/** ps:autoscale APP --json: the app's autoscaled types and their rules. */
export function autoscaleRules(actor: Actor, app: string): AutoscaleRule[] {
  return actor.services.store.autoscale.all(app);
}

/** A whole number from `lo` to `hi`, or one sentence naming the option. */
function whole(option: string, value: unknown, lo: number, hi: number, unit = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    throw new UserError(`${option} takes a whole number from ${lo} to ${hi}${unit}, not ${shown(String(value))}.`);
  }
  return value;
}

/** Checks ps:autoscale's input (before anything is written): the type, the bounds, at least one metric. */
export function checkAutoscale(app: string, type: string, input: AutoscaleInput, types: readonly string[]): AutoscaleRow {
  if (!types.includes(type)) throw new UserError(`There is no ${shown(type)} process type; this app has ${types.join(', ') || 'none'}.`);
  const min = whole('--min', input.min ?? 1, 1, MAX_SCALE);
  const max = whole('--max', input.max, 1, MAX_SCALE);
  if (max < min) throw new UserError(`--max (${max}) is below --min (${min}); the autoscaler keeps ${type} between them.`);
  const cpu = input.cpu === undefined ? null : whole('--cpu', input.cpu, 1, 100, ' (percent of the CPU limit)');
  const memory = input.memory === undefined ? null : whole('--memory', input.memory, 1, 100, ' (percent of the memory limit)');
  if (cpu === null && memory === null) throw new UserError(`Give --cpu, --memory or both: the average use to aim at, in percent of each instance's limits (for example ps:autoscale ${app} ${type} --max 5 --cpu 70).`);
  return { process: type, min, max, cpu, memory };
}

/**
 * ps:autoscale APP TYPE: stores the type's rule and applies it (its autoscaler, and its Deployment's
 * replicas left to it). Refused with one sentence when the app's quota cannot hold the type at its
 * max (with the room a rollout takes), or a volume allows it one instance.
 */
export async function setAutoscale(actor: Actor, app: string, type: string, input: AutoscaleInput, progress: Progress): Promise<AutoscaleRule> {
  const { services } = actor;
  const { store } = services;
  requireDeployer(services);
  deployedRelease(services, app);
  const row = checkAutoscale(app, type, input, scalableTypes(actor, app));
  if (type === 'web' && sleepAfter(services, app).seconds > 0) throw new UserError(`${app} sleeps when idle (ps:sleep), which an autoscaler of web would undo; ps:sleep ${app} --after 0 first.`);
  const oneWriter = scaleRefusal(store.volumes.list(app), app, type, row.max);
  if (oneWriter) throw new UserError(oneWriter);
  const before = store.autoscale.all(app);
  const metrics = [row.cpu !== null && `CPU at ${row.cpu} %`, row.memory !== null && `memory at ${row.memory} %`].filter(Boolean).join(' and ');
  await changeSetting(actor, app, {
    what: 'ps:autoscale',
    requireRunning: true,
    announce: `Autoscaling ${type} of ${app} from ${row.min} to ${row.max} instances, aiming at ${metrics} of their limits...`,
    write: () => {
      store.autoscale.set(app, row);
      // The quota must hold the max, whatever runs now (reapply would let a change pass that
      // needs no more than what runs): checked here, under the lock, and nothing stays written.
      const next = deployable(services, deployedRelease(services, app));
      const refused = next.quota && quotaRefusal(next, next.quota);
      if (refused) {
        store.autoscale.replace(app, before);
        throw new UserError(refused);
      }
    },
    undo: () => store.autoscale.replace(app, before),
  }, progress);
  services.events.publish({ type: 'app', app, change: 'scaled' });
  return row;
}

/**
 * ps:autoscale:off APP TYPE: the type's count is ps:scale's again, starting at what its
 * autoscaler runs now (an app under load keeps its instances), and its autoscaler goes.
 */
export async function autoscaleOff(actor: Actor, app: string, type: string, progress: Progress): Promise<AutoscaleOff> {
  const { services } = actor;
  const { store } = services;
  const deployer = requireDeployer(services);
  deployedRelease(services, app);
  const before = store.autoscale.all(app);
  const rule = before.find((r) => r.process === type);
  if (!rule) throw new UserError(`${shown(type)} of ${app} is not autoscaled (ps:autoscale ${app} lists those that are).`);
  // What its Deployment asks for now (the autoscaler's own status may be a look behind).
  const running = (await deployer.runtime.status(app)).find((p) => p.type === type && !p.warm)?.desired;
  const instances = Math.min(rule.max, Math.max(rule.min, running || rule.min));
  const formation = store.formation.all(app);
  await changeSetting(actor, app, {
    what: 'ps:autoscale:off',
    requireRunning: true,
    announce: `Turning autoscaling of ${type} of ${app} off, at ${instances} instance${instances === 1 ? '' : 's'}...`,
    write: () => {
      store.autoscale.remove(app, type);
      store.formation.set(app, { [type]: instances });
    },
    undo: () => {
      store.autoscale.replace(app, before);
      store.formation.replace(app, formation);
    },
  }, progress);
  services.events.publish({ type: 'app', app, change: 'scaled' });
  return { process: type, instances };
}
