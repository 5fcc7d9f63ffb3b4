// egress, egress:allow and egress:deny: the commands over ops/apps/egress.ts (admins only for changes).
import { existingApp } from '../ops/access.ts';
import { allowEgress, denyEgress, describeRule, listEgress } from '../ops/apps/egress.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

export const egressCommands: Command[] = [
  {
    name: 'egress',
    usage: 'APP',
    summary: "List the addresses an app's pods may reach besides the internet (egress:allow)",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const rules = listEgress(actorOf(ctx), app);
      return listing(rules, (out) => {
        out.heading(`${app} Egress`);
        out.line(`${app}'s pods reach their own app, DNS and the internet; not other apps, the cluster or its nodes.`);
        out.line(rules.length ? `Also allowed:\n${rules.map(describeRule).join('\n')}` : 'No exceptions (an admin adds one with egress:allow APP CIDR[:PORT]).');
      });
    },
  },
  {
    name: 'egress:allow',
    usage: 'APP CIDR[:PORT]',
    summary: "Let an app's pods reach an address range (on one port, TCP and UDP), past its network isolation",
    access: 'admin',
    args: { min: 2, max: 2 },
    run: async (ctx, [rawApp, raw]) => {
      const app = existingApp(ctx, rawApp!);
      const { rule } = await allowEgress(actorOf(ctx), app, raw!, progressOf(ctx));
      ctx.out.line(`Allowing ${app} to reach ${describeRule(rule)}... done`);
    },
  },
  {
    name: 'egress:deny',
    usage: 'APP CIDR[:PORT]',
    summary: 'Remove an exception egress:allow made',
    access: 'admin',
    args: { min: 2, max: 2 },
    run: async (ctx, [rawApp, raw]) => {
      const app = existingApp(ctx, rawApp!);
      const { rule } = await denyEgress(actorOf(ctx), app, raw!, progressOf(ctx));
      ctx.out.line(`Removing the exception of ${app} for ${describeRule(rule)}... done`);
    },
  },
];
