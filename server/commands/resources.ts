// resource:limit, resource:reserve and resource:report (Dokku's verbs), and resource:quota: the
// commands over ops/processes/resources.ts.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { ALL_PROCESSES, MAX_APP_PODS, clearResources, getQuota, resourceCeilings, resourceReport, setQuota, setResources, type ResourceKind } from '../ops/processes/resources.ts';
import { defineCommand, listing, type Command, type CommandContext, type FlagSpecs, type FlagValues, type Outcome } from './types.ts';
import { actorOf, progressOf } from './progress.ts';
import { clockUtc } from './ps.ts';

/** resource:limit's and resource:reserve's options. */
const FLAGS = {
  process: { type: 'string', help: 'only this process type (default: every type)' },
  memory: { type: 'string', help: 'memory, e.g. 512Mi' },
  cpu: { type: 'string', help: 'CPU, e.g. 1 or 500m' },
} as const satisfies FlagSpecs;

/** resource:limit / resource:reserve. */
async function setCommand(ctx: CommandContext, app: string, kind: ResourceKind, flags: FlagValues<typeof FLAGS>): Promise<void> {
  const { memory, cpu, process } = flags;
  const r = await setResources(actorOf(ctx), app, kind, { ...(process !== undefined ? { process } : {}), ...(memory !== undefined ? { memory } : {}), ...(cpu !== undefined ? { cpu } : {}) }, progressOf(ctx));
  const what = [r.memory && `memory ${r.memory}`, r.cpu && `cpu ${r.cpu}`].filter(Boolean).join(', ');
  ctx.out.line(`${kind === 'limit' ? 'Limiting' : 'Reserving'} ${what} for ${r.scope} of ${app}... done`);
}

/** resource:limit-clear's and resource:reserve-clear's one option. */
const CLEAR_FLAGS = { process: FLAGS.process } as const satisfies FlagSpecs;

/** resource:limit-clear / resource:reserve-clear. */
async function clearCommand(ctx: CommandContext, app: string, kind: ResourceKind, flags: FlagValues<typeof CLEAR_FLAGS>): Promise<void> {
  const r = await clearResources(actorOf(ctx), app, kind, flags.process, progressOf(ctx));
  ctx.out.line(`Clearing the ${kind === 'limit' ? 'limits' : 'reservations'} of ${r.scope} of ${app}... done`);
}

/** resource:quota's options (admins change the quota with them). */
const QUOTA_FLAGS = {
  pods: { type: 'string', help: 'most pods at once, one-off and rolling-out ones included' },
  memory: { type: 'string', help: "most memory, the sum of the containers' limits, e.g. 2Gi" },
  cpu: { type: 'string', help: "most CPU, the sum of the containers' limits, e.g. 4" },
} as const satisfies FlagSpecs;

/** --pods: a whole number of pods, at least 1. */
function podsFlag(raw: string): number {
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_APP_PODS)) throw new UserError(`${shown(raw)} is not a number of pods; give a whole number from 1 to ${MAX_APP_PODS}.`);
  return n;
}

/** resource:quota APP: shows the app's quota; with flags (admins only) changes it and applies it. */
async function quotaCommand(ctx: CommandContext, app: string, flags: FlagValues<typeof QUOTA_FLAGS>): Promise<Outcome> {
  const { pods, memory, cpu } = flags;
  if (pods === undefined && memory === undefined && cpu === undefined) {
    const q = getQuota(actorOf(ctx), app);
    // A preview's every field is its share of its parent's.
    const share = q.share && `1/${q.share.previews} of ${q.share.parent}'s, previews:limit ${q.share.parent}`;
    const source = (field: 'pods' | 'memory' | 'cpu', setting: string) => share ?? (q.own.includes(field) ? `set by ${q.setBy}` : `default, ${setting}`);
    const disk = q.container.ephemeralStorage;
    return listing(q, (out) => {
      out.heading(`${app} quota`);
      out.pairs([
        ['Pods', `${q.pods} (${source('pods', 'SLIPWAY_APP_MAX_PODS')})`],
        ['Memory', `${q.memory} of limits in all (${source('memory', 'SLIPWAY_APP_MAX_MEMORY')})`],
        ['CPU', `${q.cpu} of limits in all (${source('cpu', 'SLIPWAY_APP_MAX_CPU')})`],
        ...(q.ephemeralStorage ? [['Scratch disk', `${q.ephemeralStorage} of limits in all (${share ?? 'SLIPWAY_APP_MAX_EPHEMERAL_STORAGE'})`] as [string, string]] : []),
        ['One-off pods', `${q.runs} at once (SLIPWAY_APP_MAX_RUNS)`],
        ['Containers', `limits memory ${q.container.limits.memory}, cpu ${q.container.limits.cpu}; requests memory ${q.container.requests.memory}, cpu ${q.container.requests.cpu} unless resource:limit/reserve set them${disk ? `; scratch disk ${disk.limit} each (${disk.request} reserved)` : ''}`],
      ]);
    });
  }
  const r = await setQuota(actorOf(ctx), app, { ...(pods !== undefined ? { pods: podsFlag(pods) } : {}), ...(memory !== undefined ? { memory } : {}), ...(cpu !== undefined ? { cpu } : {}) }, progressOf(ctx));
  ctx.out.line(`Setting the quota of ${app} to ${Object.entries(r.set).map(([k, v]) => `${k} ${v}`).join(', ')}... done`);
}

export const resourceCommands: Command[] = [
  defineCommand({
    name: 'resource:limit',
    usage: 'APP [--process TYPE] [--memory 512Mi] [--cpu 1]',
    summary: "Set the containers' resource limits (a process using more memory is OOMKilled)",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: FLAGS,
    run: (ctx, app, _args, flags) => setCommand(ctx, app, 'limit', flags),
  }),
  defineCommand({
    name: 'resource:reserve',
    usage: 'APP [--process TYPE] [--memory 256Mi] [--cpu 0.5]',
    summary: "Set the containers' resource requests (what the scheduler reserves on a node)",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: FLAGS,
    run: (ctx, app, _args, flags) => setCommand(ctx, app, 'reserve', flags),
  }),
  {
    name: 'resource:report',
    usage: 'APP',
    summary: 'Show the limits and reservations of each process type',
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const data = await resourceReport(actorOf(ctx), app);
      const ceilings = resourceCeilings(actorOf(ctx), app);
      const show = (q: { memory?: string; cpu?: string } | undefined) => [q?.memory ? `memory ${q.memory}` : '', q?.cpu ? `cpu ${q.cpu}` : ''].filter(Boolean).join(', ') || 'none';
      return listing(data, (out) => {
        out.heading(`${app} resources`);
        out.table([
          ['process', 'limits', 'reservations'],
          ['(every type)', show(data.defaults.limits), show(data.defaults.requests)],
          ...Object.entries(data.processes).map(([t, r]) => [t, show(r.limits), show(r.requests)]),
        ]);
        // Ceilings an admin set: what a deployer's resource:limit may not go above or clear.
        for (const c of ceilings) {
          const what = [c.memory && `memory ${c.memory}`, c.cpu && `cpu ${c.cpu}`].filter(Boolean).join(', ');
          out.line(`${c.process === ALL_PROCESSES ? 'Every type' : c.process}: limits at most ${what}, set by ${c.setBy ?? 'an admin'}.`);
        }
        // An earlier release's instances kept for an instant rollback hold their limits in the quota too.
        for (const w of data.warm) {
          out.line(`Warm: ${w.instances} ${w.type} instance${w.instances === 1 ? '' : 's'} of v${w.release} until ${clockUtc(w.until)}, limits memory ${w.limits.memory}, cpu ${w.limits.cpu} each (${w.memoryMiB}Mi of memory in all, counted in the quota; ps:warm ${app} 0 stops them).`);
        }
      });
    },
  },
  defineCommand({
    name: 'resource:quota',
    usage: 'APP [--pods N] [--memory 2Gi] [--cpu 4]',
    summary: "Show an app's quota (pods, memory and CPU limits in all); admins change it with the options",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    flags: QUOTA_FLAGS,
    run: (ctx, app, _args, flags) => quotaCommand(ctx, app, flags),
  }),
  defineCommand({
    name: 'resource:limit-clear',
    usage: 'APP [--process TYPE]',
    summary: 'Remove the limits set for every process type (or one, with --process)',
    access: 'app',
    args: { min: 1, max: 1 },
    flags: CLEAR_FLAGS,
    run: (ctx, app, _args, flags) => clearCommand(ctx, app, 'limit', flags),
  }),
  defineCommand({
    name: 'resource:reserve-clear',
    usage: 'APP [--process TYPE]',
    summary: 'Remove the reservations set for every process type (or one, with --process)',
    access: 'app',
    args: { min: 1, max: 1 },
    flags: CLEAR_FLAGS,
    run: (ctx, app, _args, flags) => clearCommand(ctx, app, 'reserve', flags),
  }),
];
