// dashboard:login: a one-time link that logs the browser in as the caller's key.
import { createLoginLink } from '../ops/apps/dashboard.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

export const dashboardCommands: Command[] = [
  defineCommand({
    name: 'dashboard:login',
    usage: '[--key KEYNAME]',
    summary: 'Print a one-time link (valid 60 s by default) that logs a browser in to the dashboard as your key (admins: another key with --key)',
    access: 'any',
    args: { min: 0, max: 0 },
    json: true,
    flags: { key: { type: 'string', help: 'the key to log in as (admins only; required from the local CLI)' } },
    run: (ctx, _args, flags) => {
      const link = createLoginLink(actorOf(ctx), flags.key);
      return listing({ url: link.url, expiresAt: link.expiresAt }, (out) => {
        out.line(`Open this link within ${Math.round(ctx.services.config.loginLinkTtlMs / 1000)} s to log in as ${link.key} (it works once):`);
        out.line(link.url);
      });
    },
  }),
];
