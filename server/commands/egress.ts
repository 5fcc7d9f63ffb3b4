// egress, egress:allow and egress:deny: the exceptions to an app's network isolation. An app's
// pods reach their own namespace, DNS and the internet; an admin may let one app reach more (a
// database on the private network, a port of a node). Admins only: an exception widens what the
// app's code can reach inside the platform (the registry, the kubelet, Slipway's own ports), which
// is exactly what a tenant's deploy key must not be able to open for itself.
import { CidrError, parseCidr } from '../cidr.ts';
import type { EgressRule } from '../deploy/deployer.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { appName, shown } from '../names.ts';
import { deployedRelease, reapply, withDeployLock } from '../ops/deploying.ts';
import { listing, type Command, type CommandContext } from './types.ts';

/** Most exceptions one app may have: each is a rule the node's firewall evaluates for every new connection. */
export const MAX_EGRESS_RULES = 20;

/** An exception as typed: `CIDR`, `CIDR:PORT`, or `[IPV6-CIDR]:PORT` (an address alone is one host). */
export function parseEgressRule(raw: string): EgressRule {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(raw);
  // Without brackets, a colon ends an IPv4 range and its port; IPv6 has several and no port.
  const [range, port] = bracketed ? [bracketed[1]!, bracketed[2]] : (raw.match(/:/g) ?? []).length === 1 ? raw.split(':') as [string, string] : [raw, undefined];
  let cidr: string;
  try {
    cidr = parseCidr(range);
  } catch (err) {
    if (!(err instanceof CidrError)) throw err;
    throw new UserError(`${shown(raw)} is not CIDR[:PORT] (like 10.0.5.0/24:5432, 192.0.2.7, or [2001:db8::/64]:443): ${err.message}.`, { cause: err });
  }
  if (port === undefined) return { cidr };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UserError(`${shown(raw)}: the port must be a number from 1 to 65535.`);
  return { cidr, port: Number(port) };
}

/** How an exception is shown: `10.0.5.0/24 port 5432`, `192.0.2.7/32 every port`. */
function describe(rule: EgressRule): string {
  return `${rule.cidr} ${rule.port === undefined ? 'every port' : `port ${rule.port}`}`;
}

/** The app named by an admin command's first argument: valid and existing. */
function existingApp(ctx: CommandContext, raw: string): string {
  const app = appName(raw);
  if (!ctx.services.store.apps.get(app)) throw new NotFoundError(shown(app));
  return app;
}

/** An admin command's target: the app, the rule it names, whether the app has that rule already, and how many it has. */
function target(ctx: CommandContext, rawApp: string, raw: string): { app: string; rule: EgressRule; exists: boolean; count: number } {
  const app = existingApp(ctx, rawApp);
  const rule = parseEgressRule(raw);
  const existing = ctx.services.store.egress.list(app);
  return { app, rule, exists: existing.some((r) => r.cidr === rule.cidr && r.port === rule.port), count: existing.length };
}

/** Applies a change of exceptions to what runs when the app is deployed; otherwise only stores it. */
async function change(ctx: CommandContext, app: string, what: string, write: () => void, undo: () => void): Promise<void> {
  const current = ctx.services.store.releases.current(app);
  if (!current?.image || !ctx.services.deployer) return write();
  await withDeployLock(ctx, app, what, (signal, t) => reapply(ctx, app, deployedRelease(ctx, app), write, undo, t, signal));
}

export const egressCommands: Command[] = [
  {
    name: 'egress',
    usage: 'APP',
    summary: "List the addresses an app's pods may reach besides the internet (egress:allow)",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const rules = ctx.services.store.egress.list(app);
      return listing(rules, (out) => {
        out.heading(`${app} Egress`);
        out.line(`${app}'s pods reach their own app, DNS and the internet; not other apps, the cluster or its nodes.`);
        out.line(rules.length ? `Also allowed:\n${rules.map(describe).join('\n')}` : 'No exceptions (an admin adds one with egress:allow APP CIDR[:PORT]).');
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
      const { app, rule, exists, count } = target(ctx, rawApp!, raw!);
      const { store } = ctx.services;
      if (exists) throw new UserError(`${app} may already reach ${describe(rule)}.`);
      if (count >= MAX_EGRESS_RULES) throw new UserError(`${app} has ${MAX_EGRESS_RULES} egress exceptions, the most an app may have; remove one with egress:deny first.`);
      await change(ctx, app, 'egress:allow', () => { store.egress.add(app, rule); }, () => { store.egress.remove(app, rule); });
      ctx.out.line(`Allowing ${app} to reach ${describe(rule)}... done`);
    },
  },
  {
    name: 'egress:deny',
    usage: 'APP CIDR[:PORT]',
    summary: 'Remove an exception egress:allow made',
    access: 'admin',
    args: { min: 2, max: 2 },
    run: async (ctx, [rawApp, raw]) => {
      const { app, rule, exists } = target(ctx, rawApp!, raw!);
      const { store } = ctx.services;
      if (!exists) {
        throw new UserError(`${app} has no egress exception for ${describe(rule)}; egress ${app} lists them.`);
      }
      await change(ctx, app, 'egress:deny', () => { store.egress.remove(app, rule); }, () => { store.egress.add(app, rule); });
      ctx.out.line(`Removing the exception of ${app} for ${describe(rule)}... done`);
    },
  },
];
