// resource:limit, resource:reserve and resource:report (Dokku's verbs): per process type, or for
// every type at once, the containers' limits and requests. A change to a deployed app is rolled
// out at once (same release, new pod template) and taken back if the rollout fails.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { requireDeployer } from '../context.ts';
import { cpuQuantity, memoryQuantity, quantityValue } from '../deploy/quantity.ts';
import { deployable, quotaPlan, resolveResources } from '../ops/release.ts';
import { MAX_APP_PODS, quotaRefusal } from '../deploy/quota.ts';
import { ALL_PROCESSES, type ResourceKind, type ResourceRow } from '../store/resources.ts';
import { reapply, withDeployLock } from '../ops/deploying.ts';
import { listing, type Command, type CommandContext, type Flags, type Outcome } from './types.ts';

const FLAGS: Command['flags'] = {
  process: { type: 'string', help: 'only this process type (default: every type)' },
  memory: { type: 'string', help: 'memory, e.g. 512Mi' },
  cpu: { type: 'string', help: 'CPU, e.g. 1 or 500m' },
};

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

async function setResources(ctx: CommandContext, app: string, kind: ResourceKind, flags: Flags): Promise<void> {
  const { store, deployer, config } = ctx.services;
  const memory = typeof flags.memory === 'string' ? memoryQuantity(flags.memory) : undefined;
  const cpu = typeof flags.cpu === 'string' ? cpuQuantity(flags.cpu) : undefined;
  if (!memory && !cpu) throw new UserError(`Give --memory, --cpu or both (for example resource:${kind} ${app} --memory 512Mi --cpu 1).`);
  const current = store.releases.current(app);
  const types = current?.processes.map((p) => p.type) ?? [];
  const process = typeof flags.process === 'string' ? flags.process : ALL_PROCESSES;
  if (process !== ALL_PROCESSES && current && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  const before = store.resources.all(app);
  const q = { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) };
  if (kind === 'limit' && !ctx.identity.admin) checkCeilings(before, process, q);
  const after = withSetting(before, process, kind, q, ctx.identity.admin ? ctx.identity.name : undefined);
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
  const scope = process === ALL_PROCESSES ? 'every process type' : process;
  const verb = kind === 'limit' ? 'Limiting' : 'Reserving';
  if (!deployer || !current?.image) {
    store.resources.replace(app, after);
  } else {
    requireDeployer(ctx.services);
    await withDeployLock(ctx, app, `resource:${kind}`, async (signal, t) => {
      ctx.out.line(`${verb} ${what} for ${scope} of ${app}...`);
      await reapply(ctx, app, current, () => store.resources.replace(app, after), () => store.resources.replace(app, before), t, signal);
    });
  }
  ctx.out.line(`${verb} ${what} for ${scope} of ${app}... done`);
}

/** resource:limit-clear / resource:reserve-clear: drops the setting of one scope (every type, or --process). */
async function clearResources(ctx: CommandContext, app: string, kind: ResourceKind, flags: Flags): Promise<void> {
  const { store, deployer } = ctx.services;
  const process = typeof flags.process === 'string' ? flags.process : ALL_PROCESSES;
  const scope = process === ALL_PROCESSES ? 'every process type' : process;
  const noun = kind === 'limit' ? 'limits' : 'reservations';
  const current = store.releases.current(app);
  const types = current?.processes.map((p) => p.type) ?? [];
  if (process !== ALL_PROCESSES && current && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  const before = store.resources.all(app);
  const after = before.filter((r) => !(r.process === process && r.kind === kind));
  const held = before.find((r) => r.process === process && r.kind === kind && (r.memoryMax || r.cpuMax));
  if (held && !ctx.identity.admin) {
    const what = [held.memoryMax && `memory ${held.memoryMax}`, held.cpuMax && `cpu ${held.cpuMax}`].filter(Boolean).join(', ');
    throw new UserError(`An admin set the limits of ${scope} (${what}); you may lower them but not clear them.`);
  }
  if (after.length === before.length) {
    throw new UserError(process === ALL_PROCESSES
      ? `${app} has no default ${noun} (for every process type); per-type ones are cleared with --process TYPE.`
      : `${app} has no ${noun} set for ${process}.`);
  }
  if (!deployer || !current?.image) {
    store.resources.replace(app, after);
  } else {
    await withDeployLock(ctx, app, `resource:${kind}-clear`, async (signal, t) => {
      ctx.out.line(`Clearing the ${noun} of ${scope} of ${app}...`);
      await reapply(ctx, app, current, () => store.resources.replace(app, after), () => store.resources.replace(app, before), t, signal);
    });
  }
  ctx.out.line(`Clearing the ${noun} of ${scope} of ${app}... done`);
}

const CLEAR_FLAGS: Command['flags'] = { process: FLAGS.process! };

/** --pods: a whole number of pods, at least 1. */
function podsFlag(raw: string): number {
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_APP_PODS)) throw new UserError(`${shown(raw)} is not a number of pods; give a whole number from 1 to ${MAX_APP_PODS}.`);
  return n;
}

/** resource:quota APP: shows the app's quota; with flags (admins only) changes it and applies it. */
async function quotaCommand(ctx: CommandContext, app: string, flags: Flags): Promise<Outcome> {
  const { store, deployer } = ctx.services;
  const change = {
    ...(typeof flags.pods === 'string' ? { pods: podsFlag(flags.pods) } : {}),
    ...(typeof flags.memory === 'string' ? { memory: memoryQuantity(flags.memory) } : {}),
    ...(typeof flags.cpu === 'string' ? { cpu: cpuQuantity(flags.cpu) } : {}),
  };
  if (Object.keys(change).length === 0) {
    const plan = quotaPlan(ctx.services, app);
    const own = store.quotas.get(app);
    const source = (field: 'pods' | 'memory' | 'cpu', setting: string) => (own?.[field] != null ? `set by ${own.setBy}` : `default, ${setting}`);
    const data = { ...plan.quota, runs: plan.runs, container: plan.container, setBy: own?.setBy ?? null };
    return listing(data, (out) => {
      out.heading(`${app} quota`);
      out.pairs([
        ['Pods', `${plan.quota.pods} (${source('pods', 'SLIPWAY_APP_MAX_PODS')})`],
        ['Memory', `${plan.quota.memory} of limits in all (${source('memory', 'SLIPWAY_APP_MAX_MEMORY')})`],
        ['CPU', `${plan.quota.cpu} of limits in all (${source('cpu', 'SLIPWAY_APP_MAX_CPU')})`],
        ['One-off pods', `${plan.runs} at once (SLIPWAY_APP_MAX_RUNS)`],
        ['Containers', `limits memory ${plan.container.limits.memory}, cpu ${plan.container.limits.cpu}; requests memory ${plan.container.requests.memory}, cpu ${plan.container.requests.cpu} unless resource:limit/reserve set them`],
      ]);
    });
  }
  if (!ctx.identity.admin) throw new UserError("Only admins may change an app's quota; resource:quota APP without options shows it.");
  const what = Object.entries(change).map(([k, v]) => `${k} ${v}`).join(', ');
  const before = store.quotas.get(app);
  const current = store.releases.current(app);
  const apply = () => store.quotas.set(app, change, ctx.identity.name);
  if (!deployer || !current?.image) {
    apply();
  } else {
    // A quota the app's current formation does not fit would leave a rollout that never ends.
    const next = deployable(ctx.services, current);
    const refused = quotaRefusal(next, { ...next.quota!, quota: { ...next.quota!.quota, ...change } });
    if (refused) throw new UserError(refused);
    await withDeployLock(ctx, app, 'resource:quota', async (signal, t) => {
      ctx.out.line(`Setting the quota of ${app} to ${what}...`);
      await reapply(ctx, app, current, apply, () => store.quotas.replace(app, before), t, signal);
    });
  }
  ctx.out.line(`Setting the quota of ${app} to ${what}... done`);
}

export const resourceCommands: Command[] = [
  {
    name: 'resource:limit',
    usage: 'APP [--process TYPE] [--memory 512Mi] [--cpu 1]',
    summary: "Set the containers' resource limits (a process using more memory is OOMKilled)",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: FLAGS,
    run: (ctx, app, _args, flags) => setResources(ctx, app, 'limit', flags),
  },
  {
    name: 'resource:reserve',
    usage: 'APP [--process TYPE] [--memory 256Mi] [--cpu 0.5]',
    summary: "Set the containers' resource requests (what the scheduler reserves on a node)",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: FLAGS,
    run: (ctx, app, _args, flags) => setResources(ctx, app, 'reserve', flags),
  },
  {
    name: 'resource:report',
    usage: 'APP',
    summary: 'Show the limits and reservations of each process type',
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const { store } = ctx.services;
      const rows = store.resources.all(app);
      const types = (store.releases.current(app)?.processes ?? []).map((p) => p.type);
      const resolved = resolveResources(rows, [ALL_PROCESSES, ...types]);
      const data = { defaults: resolved[ALL_PROCESSES] ?? {}, processes: Object.fromEntries(types.map((t) => [t, resolved[t] ?? {}])) };
      const show = (q: { memory?: string; cpu?: string } | undefined) => [q?.memory ? `memory ${q.memory}` : '', q?.cpu ? `cpu ${q.cpu}` : ''].filter(Boolean).join(', ') || 'none';
      return listing(data, (out) => {
        out.heading(`${app} resources`);
        out.table([
          ['process', 'limits', 'reservations'],
          ['(every type)', show(data.defaults.limits), show(data.defaults.requests)],
          ...types.map((t) => [t, show(data.processes[t]?.limits), show(data.processes[t]?.requests)]),
        ]);
        // Ceilings an admin set: what a deployer's resource:limit may not go above or clear.
        for (const r of rows.filter((x) => x.kind === 'limit' && (x.memoryMax || x.cpuMax))) {
          const what = [r.memoryMax && `memory ${r.memoryMax}`, r.cpuMax && `cpu ${r.cpuMax}`].filter(Boolean).join(', ');
          out.line(`${r.process === ALL_PROCESSES ? 'Every type' : r.process}: limits at most ${what}, set by ${r.maxSetBy ?? 'an admin'}.`);
        }
      });
    },
  },
  {
    name: 'resource:quota',
    usage: 'APP [--pods N] [--memory 2Gi] [--cpu 4]',
    summary: "Show an app's quota (pods, memory and CPU limits in all); admins change it with the options",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: {
      pods: { type: 'string', help: 'most pods at once, one-off and rolling-out ones included' },
      memory: { type: 'string', help: "most memory, the sum of the containers' limits, e.g. 2Gi" },
      cpu: { type: 'string', help: "most CPU, the sum of the containers' limits, e.g. 4" },
    },
    run: (ctx, app, _args, flags) => quotaCommand(ctx, app, flags),
  },
  {
    name: 'resource:limit-clear',
    usage: 'APP [--process TYPE]',
    summary: 'Remove the limits set for every process type (or one, with --process)',
    access: 'app',
    args: { min: 1, max: 1 },
    flags: CLEAR_FLAGS,
    run: (ctx, app, _args, flags) => clearResources(ctx, app, 'limit', flags),
  },
  {
    name: 'resource:reserve-clear',
    usage: 'APP [--process TYPE]',
    summary: 'Remove the reservations set for every process type (or one, with --process)',
    access: 'app',
    args: { min: 1, max: 1 },
    flags: CLEAR_FLAGS,
    run: (ctx, app, _args, flags) => clearResources(ctx, app, 'reserve', flags),
  },
];
