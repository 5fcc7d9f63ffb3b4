import { collectAfterDeploy } from '../ops/collect.ts';
import { readFile } from 'node:fs/promises';
import { NotFoundError, UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { buildAndDeploy, builderFor } from '../ops/build-and-deploy.ts';
import { requireBuilder } from '../context.ts';
import { rollOut } from '../ops/rollout.ts';
import { git } from '../git.ts';
import { repoPath } from '../repos.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

// Builder images are references like heroku/builder:24 or host:5000/team/builder@sha256:…
const IMAGE = /^[a-z0-9][a-z0-9._-]*(:[0-9]+)?(\/[a-z0-9][a-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

export const buildCommands: Command[] = [
  {
    name: 'builds',
    usage: 'APP',
    summary: "List an app's builds",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const list = ctx.services.store.builds.list(app);
      return listing(list.map(({ logFile: _path, ...b }) => b), (out) => {
        if (list.length === 0) return out.line(`${app} has no builds yet.`);
        out.heading(`${app} Builds`);
        out.table(list.map((b) => [String(b.id), b.commit.slice(0, 7), b.status, b.startedAt]), ['ID', 'COMMIT', 'STATUS', 'STARTED']);
      });
    },
  },
  {
    name: 'builds:output',
    usage: 'APP [ID]',
    summary: "Print a build's full log (default: the latest)",
    access: 'app',
    args: { min: 1, max: 2 },
    run: async (ctx, app, [id]) => {
      const { store } = ctx.services;
      if (id !== undefined && !/^[1-9][0-9]{0,9}$/.test(id)) throw new UserError(`${shown(id)} is not a build id; see builds ${app}.`);
      const build = id === undefined ? store.builds.latest(app) : store.builds.get(app, Number(id));
      if (!build) throw new UserError(id === undefined ? `${app} has no builds yet.` : `${app} has no build ${id}.`);
      const text = await readFile(build.logFile, 'utf8').catch((err: unknown) => {
        throw new UserError(`The log of build ${build.id} is gone.`, { cause: err });
      });
      for (const line of text.replace(/\n$/, '').split('\n')) ctx.out.line(line);
    },
  },
  {
    name: 'builder:set',
    usage: 'APP|--global IMAGE|--unset',
    summary: 'Choose the CNB builder image for an app, or for all apps',
    access: 'admin',
    args: { min: 1, max: 2 },
    flags: { global: { type: 'boolean', help: 'set the default for every app' }, unset: { type: 'boolean', help: 'go back to the default' } },
    run: (ctx, args, flags) => {
      const { store, config } = ctx.services;
      const app = flags.global ? undefined : args.shift();
      const image = flags.unset ? null : args[0];
      if (args.length !== (flags.unset ? 0 : 1)) throw new UserError('usage: builder:set APP IMAGE | builder:set --global IMAGE | builder:set APP --unset');
      if (image !== null && image !== undefined && !IMAGE.test(image)) throw new UserError(`${shown(image)} is not an image reference.`);
      if (app === undefined) {
        store.settings.set('builder', image ?? null);
        ctx.out.line(`Apps without their own builder now build with ${image ?? config.builderImage}.`);
        return;
      }
      if (!store.apps.get(app)) throw new NotFoundError(shown(app));
      store.apps.setBuilder(app, image ?? null);
      ctx.out.line(`${app} now builds with ${builderFor(ctx.services, app)}.`);
    },
  },
  {
    name: 'apps:rebuild',
    usage: 'APP',
    summary: 'Rebuild and redeploy the deployed commit, without a push',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      const { store, config } = ctx.services;
      const current = store.releases.current(app);
      const commit = current?.commit;
      if (!commit) throw new UserError(`${app} has no deployed commit to rebuild; push first.`);
      await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: repoPath(config, app) });
      await rollOut(actorOf(ctx), app, 'apps:rebuild', progressOf(ctx), async ({ signal, transcript: transcript }) =>
        buildAndDeploy(ctx.services, { app: app, commit, description: `Rebuild ${commit.slice(0, 7)}`, quarantine: {}, by: ctx.identity, transcript, signal }));
      // As after a push: the new image may push the oldest kept one out (in the background).
      void collectAfterDeploy(ctx.services, app);
    },
  },
  {
    name: 'repo:purge-cache',
    usage: 'APP',
    summary: "Drop an app's build cache (the next build starts cold)",
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      await requireBuilder(ctx.services).purgeCache(app);
      ctx.out.line(`Purged the build cache of ${app}.`);
    },
  },
];
