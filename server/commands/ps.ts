import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { deployedRelease, reapply, withDeployLock } from '../ops/deploying.ts';
import { requireDeployer } from '../context.ts';
import { listing, type Command, type CommandContext } from './types.ts';
import { RELEASE_TYPE } from '../deploy/workload.ts';
import { MAX_APP_PODS } from '../deploy/quota.ts';

/** ps:stop and ps:start: mark types stopped (0 instances) or started, keeping the formation, and apply. */
async function stopOrStart(ctx: CommandContext, app: string, type: string | undefined, stop: boolean): Promise<string> {
  requireDeployer(ctx.services);
  const current = deployedRelease(ctx, app);
  const types = current.processes.map((p) => p.type).filter((t) => t !== RELEASE_TYPE);
  if (type !== undefined && !types.includes(type)) throw new UserError(`There is no ${shown(type)} process type; this app has ${types.join(', ')}.`);
  const { store } = ctx.services;
  const before = store.stopped.all(app);
  const targets = type !== undefined ? [type] : stop ? types : before;
  const what = type ?? (stop ? 'all processes' : 'stopped processes');
  const verb = stop ? 'Stopping' : 'Starting';
  await withDeployLock(ctx, app, stop ? 'ps:stop' : 'ps:start', async (signal, t) => {
    ctx.out.line(`${verb} ${what} of ${app}...`);
    await reapply(ctx, app, current, () => (stop ? store.stopped.stop(app, targets) : store.stopped.start(app, targets)), () => {
      store.stopped.start(app);
      store.stopped.stop(app, before);
    }, t, signal);
  });
  return `${verb} ${what} of ${app}... done`;
}

/**
 * Most instances one process type may be scaled to: a typo guard only, as high as any app's quota
 * may go, so that within it the app's quota is what answers (reapply checks it, naming the limit).
 */
export const MAX_SCALE = MAX_APP_PODS;

/**
 * Parses `ps:scale` words (`web=2 worker=0`) against the process types the app has; every word is
 * checked before anything is written.
 */
export function parseFormation(words: readonly string[], types: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of words) {
    const m = /^([A-Za-z0-9._-]+)=(\d{1,6})$/.exec(w);
    if (!m) throw new UserError(`${shown(w)} is not TYPE=COUNT (for example web=2).`);
    const [, type, count] = m;
    if (!types.includes(type!)) throw new UserError(`There is no ${shown(type!)} process type; this app has ${types.join(', ') || 'none'}.`);
    const n = Number(count);
    if (n > MAX_SCALE) throw new UserError(`${type} cannot be scaled above ${MAX_SCALE}.`);
    out[type!] = n;
  }
  return out;
}

export const psCommands: Command[] = [
  {
    name: 'ps',
    usage: 'APP',
    summary: "Show an app's processes: desired and ready instances, their states and restarts",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const status = await requireDeployer(ctx.services).status(app);
      const stopped = ctx.services.store.stopped.all(app);
      return listing(status, (out) => {
        if (status.length === 0) return out.line(`${app} runs no processes; push it first (git push paas main).`);
        for (const p of status) {
          out.heading(`${p.type}: ${p.ready}/${p.desired} ready`);
          if (p.instances.length === 0) {
            out.line(stopped.includes(p.type) ? `stopped (ps:start ${app} starts it again)` : p.desired === 0 ? `scaled to 0 (ps:scale ${app} ${p.type}=1 starts one)` : 'no instances yet');
          }
          else out.table(p.instances.map((i) => [i.name, i.release === null ? '-' : `v${i.release}`, i.state, i.ready ? 'ready' : 'not ready', `restarts ${i.restarts}`, i.startedAt ? `since ${i.startedAt}` : '']));
          out.line();
        }
      });
    },
  },
  {
    name: 'ps:scale',
    usage: 'APP TYPE=COUNT…',
    summary: 'Set how many instances of each process type run (web=2 worker=0)',
    access: 'app',
    args: { min: 2, max: 50 },
    run: async (ctx, app, words) => {
      requireDeployer(ctx.services);
      const current = deployedRelease(ctx, app);
      const wanted = parseFormation(words, current.processes.map((p) => p.type).filter((t) => t !== RELEASE_TYPE));
      const { store } = ctx.services;
      const summary = Object.entries(wanted).map(([k, v]) => `${k} at ${v}`).join(', ');
      await withDeployLock(ctx, app, 'ps:scale', async (signal, t) => {
        const before = store.formation.all(app);
        ctx.out.line(`Scaling ${app}: ${summary}...`);
        await reapply(ctx, app, current, () => store.formation.set(app, wanted), () => store.formation.replace(app, before), t, signal);
      });
      const stopped = Object.keys(wanted).filter((t) => store.stopped.all(app).includes(t));
      if (stopped.length) {
        ctx.out.line(`Scaling ${app}... done; ${stopped.join(', ')} ${stopped.length > 1 ? 'are' : 'is'} stopped and run${stopped.length > 1 ? '' : 's'} at that count after ps:start ${app}.`);
      } else {
        ctx.out.line(`Scaling ${app}... done, now running ${summary}.`);
      }
    },
  },
  {
    name: 'ps:stop',
    usage: 'APP [TYPE]',
    summary: 'Stop an app (or one process type): 0 instances, keeping the formation for ps:start',
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => ctx.out.line(await stopOrStart(ctx, app, type, true)),
  },
  {
    name: 'ps:start',
    usage: 'APP [TYPE]',
    summary: 'Start what ps:stop stopped, at the formation it had',
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => ctx.out.line(await stopOrStart(ctx, app, type, false)),
  },
  {
    name: 'ps:restart',
    usage: 'APP [TYPE]',
    summary: "Restart an app's instances (all, or one process type) without a new release",
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [type]) => {
      const deployer = requireDeployer(ctx.services);
      const current = deployedRelease(ctx, app);
      const types = current.processes.map((p) => p.type);
      if (type !== undefined && !types.includes(type)) throw new UserError(`There is no ${shown(type)} process type; this app has ${types.join(', ')}.`);
      const what = type ?? 'all processes';
      await withDeployLock(ctx, app, 'ps:restart', async (signal, t) => {
        ctx.out.line(`Restarting ${what} of ${app}...`);
        await deployer.restart(app, { ...(type !== undefined ? { process: type } : {}), transcript: t, signal });
      });
      ctx.out.line(`Restarting ${what} of ${app}... done`);
    },
  },
];
