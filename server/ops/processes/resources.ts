// Per process type (or for every type at once) the containers' limits and requests, and the app's
// quota. A change to a deployed app is rolled out at once (same release, new pod template) and
// taken back if the rollout fails, through changeSetting.
import { ForbiddenError, UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { cpuQuantity, memoryQuantity, quantityValue } from '../../kube/quantity.ts';
import { deployable, quotaPlan, resolveResources } from '../releases/release.ts';
import { MAX_APP_PODS, quotaRefusal } from '../../deploy/quota.ts';
import type { ProcessResources, QuotaPlan } from '../../model.ts';
import { ALL_PROCESSES, type ResourceKind, type ResourceRow } from '../../store/resources.ts';
import { changeSetting } from '../rollout.ts';
import { listProcesses } from './ps.ts';
import { boundPreviews } from '../previews/preview-quota.ts';
import type { Actor, Progress } from '../actor.ts';

export { ALL_PROCESSES, MAX_APP_PODS, type ResourceKind };

/**
 * The rows after setting `q` for (process, kind), as the store would hold them. A limit an admin
 * sets is also its ceiling (`memoryMax`/`cpuMax`, with who set it); a deployer's keeps the ceiling.
 */
function withSetting(rows: readonly ResourceRow[], process: string, kind: ResourceKind, q: { memory?: string; cpu?: string }, admin: string | undefined): ResourceRow[] {
  const old = rows.find((r) => r.process === process && r.kind === kind);
  const ceiling = admin !== undefined && kind === 'limit';
  const row: ResourceRow = {
    process, kind, memory: q.memory ?? old?.memory ?? null, cpu: q.cpu ?? old?.cpu ?? null,
    memoryMax: (ceiling ? q.memory : undefined) ?? old?.memoryMax ?? null,
    cpuMax: (ceiling ? q.cpu : undefined) ?? old?.cpuMax ?? null,
    maxSetBy: ceiling ? admin : old?.maxSetBy ?? null,
  };
  return [...rows.filter((r) => r !== old), row];
}

/**
 * The rule for limits an admin set: a deployer may set a limit at or below the lowest ceiling an
 * admin put on it (on the type itself or on every type, '*'), never above, and may not clear a
 * limit that carries a ceiling, since no limit is the highest of all. An admin's own setting
 * moves the ceiling. (Reservations need no such rule: they are held under the limits.)
 */
function checkCeilings(rows: readonly ResourceRow[], process: string, q: { memory?: string; cpu?: string }): void {
  const scopes = process === ALL_PROCESSES ? [ALL_PROCESSES] : [process, ALL_PROCESSES];
  for (const field of ['memory', 'cpu'] as const) {
    const value = q[field];
    if (value === undefined) continue;
    for (const scope of scopes) {
      const row = rows.find((r) => r.process === scope && r.kind === 'limit');
      const max = field === 'memory' ? row?.memoryMax : row?.cpuMax;
      if (max && quantityValue(value) > quantityValue(max)) {
        throw new UserError(`An admin limited the ${field} of ${scope === ALL_PROCESSES ? 'every process type' : scope} to ${max}; you may lower that limit but not raise it.`);
      }
    }
  }
}

/** The process type a setting is for (default every type), checked against the app's types once it has any. */
function scopeOf(actor: Actor, app: string, process: string | undefined): { process: string; types: string[]; scope: string } {
  const current = actor.services.store.releases.current(app);
  const types = current?.processes.map((p) => p.type) ?? [];
  const p = process ?? ALL_PROCESSES;
  if (p !== ALL_PROCESSES && current && !types.includes(p)) throw new UserError(`There is no ${shown(p)} process type; this app has ${types.join(', ') || 'none'}.`);
  return { process: p, types, scope: p === ALL_PROCESSES ? 'every process type' : p };
}

/** What resource:limit or resource:reserve sets: memory, CPU or both, for one type (default every type). */
export interface ResourceInput {
  process?: string;
  memory?: string;
  cpu?: string;
}

/** What a resource setting did, in the words the command says: the scope and the quantities. */
export interface ResourceResult {
  kind: ResourceKind;
  scope: string;
  memory: string | null;
  cpu: string | null;
}

/** resource:limit and resource:reserve: validates, checks an admin's ceilings and each request under its limit, then stores and rolls out. */
export async function setResources(actor: Actor, app: string, kind: ResourceKind, input: ResourceInput, progress: Progress): Promise<ResourceResult> {
  const { store, config } = actor.services;
  const { identity } = actor;
  const memory = input.memory !== undefined ? memoryQuantity(input.memory) : undefined;
  const cpu = input.cpu !== undefined ? cpuQuantity(input.cpu) : undefined;
  if (!memory && !cpu) throw new UserError(`Give --memory, --cpu or both (for example resource:${kind} ${app} --memory 512Mi --cpu 1).`);
  const { process, types, scope } = scopeOf(actor, app, input.process);
  const before = store.resources.all(app);
  const q = { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) };
  if (kind === 'limit' && !identity.admin) checkCeilings(before, process, q);
  const after = withSetting(before, process, kind, q, identity.admin ? identity.name : undefined);
  // Kubernetes refuses pods whose request is above their limit (their own, else the namespace's
  // default for containers that set none): say so now, not mid-rollout.
  for (const [type, res] of Object.entries(resolveResources(after, process === ALL_PROCESSES ? [...types, ALL_PROCESSES] : [process], undefined, { capRequests: false }))) {
    for (const field of ['memory', 'cpu'] as const) {
      const own = res.limits?.[field];
      const limit = own ?? config.containerDefaults.limits[field];
      const request = res.requests?.[field];
      if (request && quantityValue(request) > quantityValue(limit)) {
        throw new UserError(`${type === ALL_PROCESSES ? 'The' : `${type}'s`} ${field} reservation (${request}) would be above its ${own ? '' : 'default '}limit (${limit}); lower the reservation or raise the limit.`);
      }
    }
  }
  const what = [memory && `memory ${memory}`, cpu && `cpu ${cpu}`].filter(Boolean).join(', ');
  await changeSetting(actor, app, {
    what: `resource:${kind}`,
    announce: `${kind === 'limit' ? 'Limiting' : 'Reserving'} ${what} for ${scope} of ${app}...`,
    write: () => store.resources.replace(app, after),
    undo: () => store.resources.replace(app, before),
  }, progress);
  return { kind, scope, memory: memory ?? null, cpu: cpu ?? null };
}

/** resource:limit-clear and resource:reserve-clear: drops the setting of one scope (every type, or one). */
export async function clearResources(actor: Actor, app: string, kind: ResourceKind, processName: string | undefined, progress: Progress): Promise<{ kind: ResourceKind; scope: string }> {
  const { store } = actor.services;
  const { process, scope } = scopeOf(actor, app, processName);
  const noun = kind === 'limit' ? 'limits' : 'reservations';
  const before = store.resources.all(app);
  const after = before.filter((r) => !(r.process === process && r.kind === kind));
  const held = before.find((r) => r.process === process && r.kind === kind && (r.memoryMax || r.cpuMax));
  if (held && !actor.identity.admin) {
    const what = [held.memoryMax && `memory ${held.memoryMax}`, held.cpuMax && `cpu ${held.cpuMax}`].filter(Boolean).join(', ');
    throw new UserError(`An admin set the limits of ${scope} (${what}); you may lower them but not clear them.`);
  }
  if (after.length === before.length) {
    throw new UserError(process === ALL_PROCESSES
      ? `${app} has no default ${noun} (for every process type); per-type ones are cleared with --process TYPE.`
      : `${app} has no ${noun} set for ${process}.`);
  }
  await changeSetting(actor, app, {
    what: `resource:${kind}-clear`,
    announce: `Clearing the ${noun} of ${scope} of ${app}...`,
    write: () => store.resources.replace(app, after),
    undo: () => store.resources.replace(app, before),
  }, progress);
  return { kind, scope };
}

/** Web instances of an earlier release kept warm for an instant rollback, and what they hold of the quota. */
export interface WarmCost {
  type: string;
  /** The release they run. */
  release: number;
  /** ISO time their window ends. */
  until: string;
  instances: number;
  /** Each one's limits (their type's, else the containers' defaults), counted in the app's quota like any pod's. */
  limits: { memory: string; cpu: string };
  /** The memory limits of all of them together, in MiB. */
  memoryMiB: number;
}

/** resource:report --json: the limits and requests every type gets by default, each type's own, and the warm instances' cost. */
export interface ResourceReport {
  defaults: ProcessResources;
  processes: Record<string, ProcessResources>;
  warm: WarmCost[];
}

/** resource:report --json (the warm instances from the cluster, once the app runs). */
export async function resourceReport(actor: Actor, app: string): Promise<ResourceReport> {
  const { store, config, deployer } = actor.services;
  const current = store.releases.current(app);
  const types = (current?.processes ?? []).map((p) => p.type);
  const resolved = resolveResources(store.resources.all(app), [ALL_PROCESSES, ...types]);
  const warm = deployer && current?.image ? (await listProcesses(actor, app)).filter((p) => p.warm) : [];
  return {
    defaults: resolved[ALL_PROCESSES] ?? {},
    processes: Object.fromEntries(types.map((t) => [t, resolved[t] ?? {}])),
    warm: warm.map((p) => {
      const own = resolved[p.type]?.limits ?? resolved[ALL_PROCESSES]?.limits;
      const limits = { memory: own?.memory ?? config.containerDefaults.limits.memory, cpu: own?.cpu ?? config.containerDefaults.limits.cpu };
      const instances = p.instances.length;
      return { type: p.type, release: p.warm!.release, until: p.warm!.until, instances, limits, memoryMiB: Math.round(instances * quantityValue(limits.memory) / 2 ** 20) };
    }),
  };
}

/** A ceiling an admin put on a scope's limits: what a deployer's resource:limit may not go above or clear. */
export interface Ceiling {
  process: string;
  memory: string | null;
  cpu: string | null;
  setBy: string | null;
}

/** The ceilings an admin set on the app's limits. */
export function resourceCeilings(actor: Actor, app: string): Ceiling[] {
  return actor.services.store.resources.all(app).filter((r) => r.kind === 'limit' && (r.memoryMax || r.cpuMax))
    .map((r) => ({ process: r.process, memory: r.memoryMax ?? null, cpu: r.cpuMax ?? null, setBy: r.maxSetBy ?? null }));
}

/**
 * resource:quota --json: the quota in force, which of its fields the app's own setting gives, and
 * who set it; for a preview, whose share of which parent's quota it is.
 */
export type QuotaInfo = QuotaPlan['quota'] & Pick<QuotaPlan, 'runs' | 'container' | 'share'> & { setBy: string | null; own: ('pods' | 'memory' | 'cpu')[] };

/** resource:quota --json. */
export function getQuota(actor: Actor, app: string): QuotaInfo {
  const plan = quotaPlan(actor.services, app);
  const own = plan.share ? undefined : actor.services.store.quotas.get(app);
  return {
    ...plan.quota, runs: plan.runs, container: plan.container, ...(plan.share ? { share: plan.share } : {}),
    setBy: own?.setBy ?? null, own: (['pods', 'memory', 'cpu'] as const).filter((f) => own?.[f] != null),
  };
}

/** A quota change: any of the three, as typed (validated here). */
export interface QuotaInput {
  pods?: number;
  memory?: string;
  cpu?: string;
}

/** resource:quota with options (admins only): stores the quota and applies it, refused when the running formation would not fit. */
export async function setQuota(actor: Actor, app: string, input: QuotaInput, progress: Progress): Promise<{ set: Record<string, string | number> }> {
  const { store } = actor.services;
  if (input.pods !== undefined && !(Number.isInteger(input.pods) && input.pods >= 1 && input.pods <= MAX_APP_PODS)) {
    throw new UserError(`${shown(String(input.pods))} is not a number of pods; give a whole number from 1 to ${MAX_APP_PODS}.`);
  }
  const change = {
    ...(input.pods !== undefined ? { pods: input.pods } : {}),
    ...(input.memory !== undefined ? { memory: memoryQuantity(input.memory) } : {}),
    ...(input.cpu !== undefined ? { cpu: cpuQuantity(input.cpu) } : {}),
  };
  if (Object.keys(change).length === 0) throw new UserError('Give --pods, --memory or --cpu to change the quota.');
  if (!actor.identity.admin) throw new ForbiddenError("Only admins may change an app's quota; resource:quota APP without options shows it.");
  const preview = store.previews.get(app);
  if (preview) throw new UserError(`${app} is a preview of ${preview.parent}: its quota is its share of ${preview.parent}'s (divided by previews:limit ${preview.parent}); change either of those.`);
  const what = Object.entries(change).map(([k, v]) => `${k} ${v}`).join(', ');
  const before = store.quotas.get(app);
  const current = store.releases.current(app);
  if (actor.services.deployer && current?.image) {
    // A quota the app's current formation does not fit would leave a rollout that never ends.
    const next = deployable(actor.services, current);
    const refused = quotaRefusal(next, quotaPlan(actor.services, app, change));
    if (refused) throw new UserError(refused);
  }
  await changeSetting(actor, app, {
    what: 'resource:quota',
    announce: `Setting the quota of ${app} to ${what}...`,
    write: () => store.quotas.set(app, change, actor.identity.name),
    undo: () => store.quotas.replace(app, before),
  }, progress);
  // Its previews' shares follow now, not at their next deploy: each is a part of this quota.
  await boundPreviews(actor.services, app);
  return { set: change };
}
