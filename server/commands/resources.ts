// resource:limit, resource:reserve and resource:report (Dokku's verbs): per process type, or for
// every type at once, the containers' limits and requests. A change to a deployed app is rolled
// out at once (same release, new pod template) and taken back if the rollout fails.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { requireDeployer } from '../context.ts';
import { cpuQuantity, memoryQuantity, quantityValue } from '../deploy/quantity.ts';
import { resolveResources } from '../push/release.ts';
import { ALL_PROCESSES, type ResourceKind, type ResourceRow } from '../store/resources.ts';
import { reapply, withDeployLock } from './deploying.ts';
import { listing, type Command, type CommandContext, type Flags } from './types.ts';

const FLAGS: Command['flags'] = {
  process: { type: 'string', help: 'only this process type (default: every type)' },
  memory: { type: 'string', help: 'memory, e.g. 512Mi' },
  cpu: { type: 'string', help: 'CPU, e.g. 1 or 500m' },
};

/** The rows after setting `q` for (process, kind), as the store would hold them. */
function withSetting(rows: readonly ResourceRow[], process: string, kind: ResourceKind, q: { memory?: string; cpu?: string }): ResourceRow[] {
  const old = rows.find((r) => r.process === process && r.kind === kind);
  const row: ResourceRow = { process, kind, memory: q.memory ?? old?.memory ?? null, cpu: q.cpu ?? old?.cpu ?? null };
  return [...rows.filter((r) => r !== old), row];
}

async function setResources(ctx: CommandContext, app: string, kind: ResourceKind, flags: Flags): Promise<void> {
  const { store, deployer } = ctx.services;
  const memory = typeof flags.memory === 'string' ? memoryQuantity(flags.memory) : undefined;
  const cpu = typeof flags.cpu === 'string' ? cpuQuantity(flags.cpu) : undefined;
  if (!memory && !cpu) throw new UserError(`Give --memory, --cpu or both (for example resource:${kind} ${app} --memory 512Mi --cpu 1).`);
  const current = store.releases.current(app);
  const types = current?.processes.map((p) => p.type) ?? [];
  const process = typeof flags.process === 'string' ? flags.process : ALL_PROCESSES;
  if (process !== ALL_PROCESSES && current && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  const before = store.resources.all(app);
  const after = withSetting(before, process, kind, { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) });
  // Kubernetes refuses pods whose request is above their limit: say so now, not mid-rollout.
  for (const [type, res] of Object.entries(resolveResources(after, process === ALL_PROCESSES ? [...types, ALL_PROCESSES] : [process]))) {
    for (const field of ['memory', 'cpu'] as const) {
      const limit = res.limits?.[field];
      const request = res.requests?.[field];
      if (limit && request && quantityValue(request) > quantityValue(limit)) {
        throw new UserError(`${type === ALL_PROCESSES ? 'The' : `${type}'s`} ${field} reservation (${request}) would be above its limit (${limit}); lower the reservation or raise the limit.`);
      }
    }
  }
  const what = [memory && `memory ${memory}`, cpu && `cpu ${cpu}`].filter(Boolean).join(', ');
  const scope = process === ALL_PROCESSES ? 'every process type' : process;
  const verb = kind === 'limit' ? 'Limiting' : 'Reserving';
  if (!deployer || !current?.image) {
    store.resources.set(app, process, kind, { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) });
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
      });
    },
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
