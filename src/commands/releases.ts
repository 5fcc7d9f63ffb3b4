import type { Command } from './types.ts';

export const releaseCommands: Command[] = [
  {
    name: 'releases',
    usage: 'APP',
    summary: "List an app's releases",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, [app], flags) => {
      const list = ctx.services.store.releases.list(app!);
      if (flags.json) return ctx.out.json(list.map(({ config: _secret, ...r }) => r));
      if (list.length === 0) return ctx.out.line(`${app} has no releases yet.`);
      ctx.out.heading(`${app} Releases`);
      ctx.out.table(list.map((r) => [`v${r.version}`, r.description, r.status, r.createdAt]));
    },
  },
];
