import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { buildOutput, listBuilds, purgeCache, rebuild, setBuilder } from '../ops/builds/builds.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

export const buildCommands: Command[] = [
  {
    name: 'builds',
    usage: 'APP',
    summary: "List an app's builds",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const list = listBuilds(actorOf(ctx), app);
      return listing(list, (out) => {
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
      if (id !== undefined && !/^[1-9][0-9]{0,9}$/.test(id)) throw new UserError(`${shown(id)} is not a build id; see builds ${app}.`);
      const { text } = await buildOutput(actorOf(ctx), app, id === undefined ? undefined : Number(id));
      for (const line of text.replace(/\n$/, '').split('\n')) ctx.out.line(line);
    },
  },
  defineCommand({
    name: 'builder:set',
    usage: 'APP|--global IMAGE|--unset',
    summary: 'Choose the CNB builder image for an app, or for all apps',
    access: 'admin',
    args: { min: 1, max: 2 },
    flags: { global: { type: 'boolean', help: 'set the default for every app' }, unset: { type: 'boolean', help: 'go back to the default' } },
    run: (ctx, args, flags) => {
      const app = flags.global ? undefined : args.shift();
      const image = flags.unset ? null : args[0];
      if (args.length !== (flags.unset ? 0 : 1)) throw new UserError('usage: builder:set APP IMAGE | builder:set --global IMAGE | builder:set APP --unset');
      const r = setBuilder(actorOf(ctx), app, image ?? null);
      ctx.out.line(r.app === null ? `Apps without their own builder now build with ${r.builder}.` : `${r.app} now builds with ${r.builder}.`);
    },
  }),
  {
    name: 'apps:rebuild',
    usage: 'APP',
    summary: 'Rebuild and redeploy the deployed commit, without a push',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      await rebuild(actorOf(ctx), app, progressOf(ctx));
    },
  },
  {
    name: 'repo:purge-cache',
    usage: 'APP',
    summary: "Drop an app's build cache (the next build starts cold)",
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      await purgeCache(actorOf(ctx), app);
      ctx.out.line(`Purged the build cache of ${app}.`);
    },
  },
];
