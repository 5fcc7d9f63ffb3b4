import { UsageError } from '../errors.ts';
import { appName, shown } from '../names.ts';
import { appInfo, createApp, destroyApp, listApps, setDeployBranch, unlockApp } from '../ops/apps/apps.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

export const appCommands: Command[] = [
  {
    name: 'apps:create',
    usage: 'APP',
    summary: 'Create an app and its git repository',
    access: 'admin',
    args: { min: 1, max: 1 },
    run: async (ctx, [raw]) => {
      const a = await createApp(actorOf(ctx), raw!);
      ctx.out.line(`Creating ${a.name}... done`);
      ctx.out.pairs([['Git remote (SSH)', a.gitSsh], ['Git remote (HTTP)', a.gitHttp]]);
      ctx.out.line();
      ctx.out.line(`Deploy with: git remote add paas ${a.gitSsh} && git push paas main`);
    },
  },
  {
    name: 'apps:list',
    usage: '',
    summary: 'List the apps you may use: state, release, instances ready, URL',
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    run: async (ctx) => {
      const apps = await listApps(actorOf(ctx));
      return listing(apps, (out) => {
        if (apps.length === 0) return out.line('No apps yet. Create one with apps:create NAME.');
        out.table(apps.map((a) => [a.name, a.state, a.release ?? '-', `${a.processes.running}/${a.processes.desired}`, a.url]), ['NAME', 'STATE', 'RELEASE', 'READY', 'URL']);
      });
    },
  },
  {
    name: 'apps:info',
    usage: 'APP',
    summary: 'Show an app: remotes, URL, current release, lock',
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const info = await appInfo(actorOf(ctx), app);
      return listing(info, (out) => {
        out.heading(info.name);
        out.pairs([
          ['Git remote (SSH)', info.gitSsh],
          ['Git remote (HTTP)', info.gitHttp],
          ['Web URL', info.url],
          ['Deploy branch', info.deployBranch],
          ['Builder', info.builder],
          ['Release', info.release ?? 'none yet'],
          ['Config vars', String(info.configVars)],
          ['Access', info.access.join(', ') || 'admins only'],
          ['Locked', info.lockedBy ?? 'no'],
          ['Created', info.createdAt],
        ]);
      });
    },
  },
  defineCommand({
    name: 'apps:destroy',
    usage: 'APP --confirm APP [--include-storage]',
    summary: 'Delete an app, its repository, config, releases and everything it runs (its volumes too only with --include-storage)',
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: { confirm: { type: 'string', help: 'the app name again' }, 'include-storage': { type: 'boolean', help: 'delete its volumes and their data too' } },
    run: async (ctx, [raw], flags) => {
      const app = appName(raw!);
      if (flags.confirm !== app) throw new UsageError(`This deletes ${app} for good; to go ahead, run: apps:destroy ${app} --confirm ${app}`);
      const { notes } = await destroyApp(actorOf(ctx), app, { includeStorage: flags['include-storage'] === true });
      for (const note of notes) ctx.out.line(note);
      ctx.out.line(`Destroying ${app} (including all add-ons, releases and config)... done`);
    },
  }),
  {
    name: 'apps:unlock',
    usage: 'APP',
    summary: 'Stop a stuck deploy of an app and release its lock',
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      ctx.out.line(unlockApp(actorOf(ctx), app).unlocked ? `Unlocked ${app}.` : `${app} was not locked.`);
    },
  },
  {
    name: 'git:set',
    usage: 'APP deploy-branch BRANCH',
    summary: 'Set the branch whose pushes deploy (default: main or master)',
    access: 'app',
    args: { min: 3, max: 3 },
    run: (ctx, app, [property, value]) => {
      if (property !== 'deploy-branch') throw new UsageError(`Unknown git property ${shown(property!)}; usage: git:set APP deploy-branch BRANCH`);
      const r = setDeployBranch(actorOf(ctx), app, value!);
      ctx.out.line(`Pushes to ${r.deployBranch} now deploy ${app}.`);
    },
  },
];
