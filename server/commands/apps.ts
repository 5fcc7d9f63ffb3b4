import { UserError, UsageError } from '../errors.ts';
import { appName, branchName, shown } from '../names.ts';
import { createRepo, removeLogs, removeRepo } from '../repos.ts';
import { listing, type Command } from './types.ts';
import { appUrl, remotes } from '../urls.ts';
import { builderFor } from '../ops/build-and-deploy.ts';
import { breakLock, lockApp } from '../ops/lock.ts';
import { removeImages } from '../ops/collect.ts';
import { deployable } from '../ops/release.ts';
import { log } from '../output/log.ts';
import type { Services } from '../context.ts';
import type { Release } from '../store/releases.ts';
import type { HostCert } from '../deploy/deployer.ts';

/** What the deployer reports for the hosts of the running release, for appUrl; undefined without TLS. */
async function currentCerts(services: Services, current: Release | undefined): Promise<HostCert[] | undefined> {
  const { deployer } = services;
  if (!current?.image || !deployer?.certificates) return undefined;
  const d = deployable(services, current);
  if (!d.tls) return undefined;
  try {
    return await deployer.certificates(d);
  } catch (err) {
    // apps:info still answers: the URL is then shown as http, and certs APP shows the error.
    log.warn('reading certificates failed', { app: current.app, err });
    return undefined;
  }
}

export const appCommands: Command[] = [
  {
    name: 'apps:create',
    usage: 'APP',
    summary: 'Create an app and its git repository',
    access: 'admin',
    args: { min: 1, max: 1 },
    run: async (ctx, [raw]) => {
      const app = appName(raw!);
      const { store, config } = ctx.services;
      if (!store.apps.create(app)) throw new UserError(`App ${shown(app)} already exists.`);
      try {
        // With no row for the name, a repo or logs of that name are what an interrupted
        // apps:destroy left behind: not an app's, so they are cleared for the new one.
        removeRepo(config, app);
        removeLogs(config, app);
        await createRepo(config, app);
      } catch (err) {
        store.apps.remove(app);
        throw new Error(`creating the repository of ${app} failed`, { cause: err });
      }
      const r = remotes(config, app);
      ctx.out.line(`Creating ${app}... done`);
      ctx.out.pairs([['Git remote (SSH)', r.ssh], ['Git remote (HTTP)', r.http]]);
      ctx.out.line();
      ctx.out.line(`Deploy with: git remote add paas ${r.ssh} && git push paas main`);
    },
  },
  {
    name: 'apps:list',
    usage: '',
    summary: 'List the apps you may use',
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const { store } = ctx.services;
      const apps = store.apps.list(ctx.identity.admin ? undefined : ctx.identity.name);
      return listing(apps.map((a) => ({ name: a.name, createdAt: a.createdAt })), (out) => {
        if (apps.length === 0) return out.line('No apps yet. Create one with apps:create NAME.');
        out.heading('Apps');
        for (const a of apps) out.line(a.name);
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
      const { store, config } = ctx.services;
      const a = store.apps.get(app)!;
      const current = store.releases.current(a.name);
      const certs = await currentCerts(ctx.services, current);
      const r = remotes(config, a.name);
      const info = {
        name: a.name,
        createdAt: a.createdAt,
        deployBranch: a.deployBranch ?? 'main (or master)',
        builder: builderFor(ctx.services, a.name),
        gitSsh: r.ssh,
        gitHttp: r.http,
        url: appUrl(config, a.name, certs),
        release: current ? `v${current.version}` : null,
        image: current?.image ?? null,
        lockedBy: a.lock?.owner ?? null,
        access: store.keys.grantsOf(a.name),
        configVars: Object.keys(store.config.all(a.name)).length,
      };
      return listing(info, (out) => {
        out.heading(a.name);
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
  {
    name: 'apps:destroy',
    usage: 'APP --confirm APP',
    summary: 'Delete an app, its repository, config, releases and everything it runs',
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: { confirm: { type: 'string', help: 'the app name again' } },
    run: async (ctx, [raw], flags) => {
      const app = appName(raw!);
      if (flags.confirm !== app) throw new UsageError(`This deletes ${app} for good; to go ahead, run: apps:destroy ${app} --confirm ${app}`);
      const { store, config, deployer } = ctx.services;
      if (!store.apps.get(app)) throw new UserError(`App ${shown(app)} does not exist.`);
      const unlock = lockApp(ctx.services, app, `apps:destroy by ${ctx.identity.name}`);
      // The row goes last: until then a crash leaves an app that a second apps:destroy finishes
      // (each step is idempotent), never files without a row.
      try {
        if (deployer) await deployer.destroy(app);
        await removeImages(ctx.services, app, (line) => ctx.out.line(line));
        removeRepo(config, app);
        removeLogs(config, app);
        store.apps.remove(app);
      } finally {
        unlock();
      }
      ctx.out.line(`Destroying ${app} (including all add-ons, releases and config)... done`);
    },
  },
  {
    name: 'apps:unlock',
    usage: 'APP',
    summary: 'Stop a stuck deploy of an app and release its lock',
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      ctx.out.line(breakLock(ctx.services, app, ctx.identity.name) ? `Unlocked ${app}.` : `${app} was not locked.`);
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
      ctx.services.store.apps.setDeployBranch(app, branchName(value!));
      ctx.out.line(`Pushes to ${value} now deploy ${app}.`);
    },
  },
];
